"""`avgenbench eval`: check what can run, evaluate a folder of videos, print the score card."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..dimensions import ALL_DIMENSION_IDS, get_dimension
from ..dimensions.base import TIERS
from ..dimensions.lo_phy import LO_PHY_MODES
from ..score import POLICIES, expectation_of, score_rows
from ..store import RunFolderConflict, RunTierConflict, Store
from .common import (EXIT_BAD_INPUT, EXIT_FAILED, EXIT_TOOL_ERRORS, check_choice, command_group, dimensions_or_exit, emit_json,
                     err, fail, load_suite_or_exit, out)
from .printing import print_card, print_discovery
from .running import run_eval

app = command_group()
EXECUTORS = ("process", "ray")  # where eval runs its units (executor.py, executor_ray.py)


@app.command("eval")
def eval_cmd(
    videos_dir: Path = typer.Argument(..., help="Folder of generated videos: VIDEOS_DIR/<category>/<safe name>.mp4."),
    suite_dir: Path = typer.Option(..., "--suite", help="Suite folder (official layout)."),
    out_dir: Path = typer.Option(..., "--out", help="Output folder; holds the results store."),
    run: Optional[str] = typer.Option(None, "--run", help="Run name (default: basename of VIDEOS_DIR); a run holds one videos folder."),
    replace: bool = typer.Option(False, "--replace", help="Delete the run's stored rows first (needed to reuse a run name for another videos folder)."),
    allow_missing: bool = typer.Option(False, "--allow-missing", help="Evaluate even when no video is found (every prompt is stored as missing_video)."),
    tier: str = typer.Option("lite", "--tier", help="lite (CPU, offline) or paper (paper's models and an MLLM judge)."),
    dimensions: Optional[str] = typer.Option(None, "--dimensions", help=f"Comma list of: {','.join(ALL_DIMENSION_IDS)} (default all: the eleven Scheme-2 ones; ctrl, outside the total, only when named)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Videos evaluated in parallel processes (default: one per core, fewer when memory is short; or $AVGENBENCH_WORKERS)."),
    executor: str = typer.Option("process", "--executor", help="process (a pool of worker processes on this machine) or ray (Ray actors on a cluster; pip install 'avgenbench[ray]')."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="With --executor ray: auto or HOST:PORT of a running cluster (or $AVGENBENCH_RAY_ADDRESS); default: a local Ray instance."),
    force: bool = typer.Option(False, "--force", help="Recompute results already stored."),
    retry_errors: bool = typer.Option(False, "--retry-errors", help="Also measure again the videos that killed their worker process in an earlier run (other errors are always retried)."),
    failure_policy: str = typer.Option("strict", "--failure-policy", help="strict (video faults score worst) or reference (dropped)."),
    annotations: Optional[Path] = typer.Option(None, "--annotations", help="Frozen annotations file (from `avgenbench annotate --out`) instead of SUITE_DIR/annotations.json."),
    whisper_model: Optional[Path] = typer.Option(None, "--whisper-model", help="Local faster-whisper model folder: Speech also checks the wording (WER)."),
    face_model: Optional[Path] = typer.Option(None, "--face-model", help="Paper tier: local InsightFace model pack folder (e.g. buffalo_l) for Face."),
    ocr_detector: Optional[str] = typer.Option(None, "--ocr-detector", help="Text's PP-OCR detector: int8 (lite default; built once from the wheel's model, ~4x faster) or fp32 (the original; paper default)."),
    lo_phy: str = typer.Option("videophy2", "--lo-phy", help="Paper tier Lo-Phy: videophy2 (needs its weights; unavailable here) or judge (judge-based 1–5, not VideoPhy-2)."),
    device: str = typer.Option("cpu", "--device", help="Paper tier: where the models in their environments run: cpu, cuda, cuda:N or auto (cuda when the model's torch sees a GPU)."),
    judge: Optional[str] = typer.Option(None, "--judge", help="MLLM judge for the paper tier: gemini:MODEL or openai:MODEL[?settings] (gemini alone: gemini-3-flash-preview)."),
    judge_base_url: Optional[str] = typer.Option(None, "--judge-base-url", help="Judge endpoint (default: GOOGLE_GEMINI_BASE_URL / OPENAI_BASE_URL)."),
    max_cost: Optional[float] = typer.Option(None, "--max-cost", min=0, help="Stop scheduling judge calls once this many USD are spent."),
    judge_repeats: int = typer.Option(1, "--judge-repeats", min=1, help="Ask the judge K times per video and report its variance."),
    judge_reduce: str = typer.Option("mean", "--judge-reduce", help="How K repeated judge scores become one: mean or median (recorded in the row's identity and evidence)."),
    allow_unavailable: bool = typer.Option(False, "--allow-unavailable", help="Evaluate even when a requested dimension cannot run here (it is recorded as error / no_judge); without it eval stops with the checklist (exit 2)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable summary on stdout."),
) -> None:
    """Evaluate a folder of videos; resumable (finished rows are kept), one decode per video.

    Checks first that every requested dimension can run (see `avgenbench doctor`) and stops with the checklist
    (exit 2) when one cannot, unless --allow-unavailable. Exits 4 when the run finished but rows ended in a tool error."""
    check_choice(tier, TIERS, "tier")
    check_choice(failure_policy, POLICIES, "failure policy")
    dims = dimensions_or_exit(dimensions)
    if not videos_dir.is_dir():
        fail(f"videos folder {videos_dir} does not exist", EXIT_BAD_INPUT)
    suite = load_suite_or_exit(suite_dir, annotations)
    run = run or videos_dir.resolve().name
    from ..judge.session import judge_options, judge_report

    if judge and tier == "lite":
        err.print(f"warning: --judge {judge} is ignored in the lite tier (no lite dimension uses a judge)", highlight=False)
        judge = None
    try:
        from ..dimensions.judged import REDUCERS

        check_choice(judge_reduce, tuple(REDUCERS), "--judge-reduce")
        options = {"failure_policy": failure_policy,
                   **judge_options(judge, judge_base_url, max_cost, judge_repeats, judge_reduce)}
    except ValueError as exc:  # a bad judge spec or a missing key: fail now, not per video
        fail(str(exc), EXIT_BAD_INPUT)
    if whisper_model:
        options["whisper_model"] = str(whisper_model)
    if face_model:
        options["face_model"] = str(face_model)
    check_choice(lo_phy, LO_PHY_MODES, "--lo-phy")
    options["lo_phy"] = lo_phy
    from ..dimensions.in_env import valid_device

    if not valid_device(device):
        fail(f"unknown --device '{device}'; use cpu, cuda, cuda:N or auto", EXIT_BAD_INPUT)
    options["device"] = device.strip().lower()
    if ocr_detector is not None:
        from ..dimensions.text import DETECTORS

        check_choice(ocr_detector, DETECTORS, "--ocr-detector")
        options["ocr_detector"] = ocr_detector
    check_choice(executor, EXECUTORS, "--executor")
    if ray_address and executor != "ray":
        fail("--ray-address needs --executor ray", EXIT_BAD_INPUT)
    units_on = _ray_executor_or_exit(workers, ray_address, tier, options) if executor == "ray" else None
    if workers is None and units_on is None:
        from ..executor import default_workers

        try:
            workers = default_workers()
        except ValueError as exc:
            fail(str(exc), EXIT_BAD_INPUT)
    accepted = _preflight(tier, dims, dimensions, options, allow_unavailable, as_json)
    found = _claim_videos_and_run(suite, videos_dir, out_dir, run, tier, allow_missing, replace)
    summary = run_eval(suite, videos_dir, out_dir, run, tier, dims, workers, force, options, quiet=as_json,
                       retry_errors=retry_errors, executor=units_on)
    with Store.open_existing(out_dir) as store:
        rows = store.results(run)
        card = score_rows(rows, failure_policy, run, tier, expected=expectation_of(store.run_info(run)))
        judged = judge_report(options, rows)
    from ..doctor import tool_errors

    errors = tool_errors(rows, dims)
    if as_json:
        emit_json({"eval": summary.as_dict(), "score": card.as_dict(), "discovery": found.as_dict(entries=False),
                   "tool_errors": errors,
                   **({"judge": judged} if judged else {})})
    else:
        print_card(card)
        if judged:
            err.print(judged["text"], highlight=False, markup=False, soft_wrap=True)
        out.print(f"results: {Path(out_dir) / 'avgenbench.sqlite'} (run '{run}', {summary.rows_written} rows new, "
                  f"{summary.rows_skipped} kept from before)")
    if summary.interrupted:
        err.print(f"{summary.error}: finished rows are stored; run the same command again to resume")
        raise typer.Exit(EXIT_FAILED)
    _end_with_tool_errors(errors, accepted, out_dir, run)


def _preflight(tier: str, dims: list[str], dimensions: str | None, options: dict, allow: bool, as_json: bool) -> set[str]:
    """Stop (exit 2) with the doctor checklist when a requested dimension cannot run, unless `allow`; return the
    dimensions accepted as unavailable."""
    from ..doctor import check

    checklist = check(tier, dims, options)
    explicit = bool(dimensions) and dimensions.strip() != "all"
    blocking = checklist.blocking(explicit)
    if not blocking:
        return set()
    names = ", ".join(get_dimension(c.dimension).display for c in blocking)
    if allow:
        err.print(f"warning: {names} cannot run here and will be recorded as error / no_judge / unavailable_in_tier "
                  "(--allow-unavailable)", highlight=False)
        return {c.dimension for c in blocking}
    if as_json:
        emit_json({"preflight": checklist.as_dict()})
    else:
        err.print(checklist.text(), highlight=False, soft_wrap=True)
    nothing = " (nothing requested can run)" if not checklist.runnable else ""
    fail(f"{len(blocking)} requested dimension(s) cannot run here: {names}{nothing}. Fix what the checklist names, "
         "leave them out with --dimensions, or pass --allow-unavailable to evaluate the rest anyway", EXIT_BAD_INPUT)


def _end_with_tool_errors(errors: dict, accepted: set[str], out_dir: Path, run: str) -> None:
    """Say which rows ended in a tool error and exit 4, unless all are in dimensions accepted as unavailable."""
    if not errors:
        return
    lines = [f"{sum(e['count'] for e in errors.values())} row(s) ended in a tool error:"]
    for dim_id, e in errors.items():
        accepted_note = " (accepted: --allow-unavailable)" if dim_id in accepted else ""
        lines.append(f"  {get_dimension(dim_id).display}: {e['count']}{accepted_note}; first: " + " | ".join(e["messages"]))
    lines.append(f"see them: avgenbench results {out_dir} --run {run} --status error; running eval again retries them")
    err.print("\n".join(lines), highlight=False, soft_wrap=True)
    if set(errors) - accepted:
        raise typer.Exit(EXIT_TOOL_ERRORS)


def _claim_videos_and_run(suite, videos_dir: Path, out_dir: Path, run: str, tier: str, allow_missing: bool, replace: bool):
    """Say which videos were found (refuse when none, unless allowed), then check the run name may take this
    folder (with --replace: delete the run first, out loud). Returns the discovery report."""
    from ..discovery import discover_videos
    from ..runner import claim_run

    found = discover_videos(suite, videos_dir)
    print_discovery(found, err)
    if found.n_found == 0 and not allow_missing:
        fail(f"no video of the suite found in {videos_dir}, so nothing to evaluate (see above); fix the folder, or "
             "pass --allow-missing to store every prompt as missing_video", EXIT_BAD_INPUT)
    try:
        removed = claim_run(out_dir, run, tier, videos_dir, replace)
    except (RunTierConflict, RunFolderConflict) as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    if removed:
        err.print(f"--replace: deleted run '{run}' ({removed['tier']} tier, videos {removed['videos_dir']}, "
                  f"{removed['result_rows']} result rows) before this eval", highlight=False, soft_wrap=True)
    return found


def _ray_executor_or_exit(workers, address, tier, options):
    """A Ray executor for eval, or a clear exit when Ray is not installed (the cluster is joined when units start)."""
    from ..executor_ray import RayExecutor, RayUnavailable, import_ray, ray_address, resources_for

    try:
        import_ray()
    except RayUnavailable as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    return RayExecutor(workers, ray_address(address), resources_for(tier, options))
