"""The avgenbench command line. Thin: parse, call the library, print.

Exit codes: 0 success; 1 the command failed (e.g. interrupted eval, calibration target missed);
2 bad input (usage, unreadable suite, unknown dimension, a requested dimension that cannot run here, a doctor
checklist with something missing); 3 nothing found (no store, no run, no results); 4 eval finished but rows ended in
a tool error (see them with `avgenbench results OUT --status error`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from . import __version__, tables as layout
from .dimensions import DIMENSION_IDS, DIMENSIONS, parse_dimension_list
from .dimensions.base import GROUPS, TIERS
from .dimensions.lo_phy import LO_PHY_MODES
from .score import POLICIES, ScoreCard, expectation_of, score_rows, totals_from_raw_table
from .store import RunFolderConflict, RunTierConflict, Store
from .suite import inspect_suite, read_json_file

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_NOT_FOUND, EXIT_TOOL_ERRORS = 0, 1, 2, 3, 4
HELP = __doc__

app = typer.Typer(help="AVGen-Bench for text-to-audio-video generators. " + HELP.split("\n\n", 1)[1],
                  no_args_is_help=True, add_completion=False, rich_markup_mode=None)
suite_app = typer.Typer(help="Inspect and fetch prompt suites.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(suite_app, name="suite")
runs_app = typer.Typer(help="List and remove the runs of a results store.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(runs_app, name="runs")

# Markup is off by default: prompts, file names and run names are printed as they are (a '[/x]' in a prompt would
# otherwise be read as a tag). The few styled lines ask for markup explicitly and escape what they interpolate.
out = Console(markup=False)
err = Console(stderr=True, markup=False)


def _emit_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _fail(message: str, code: int) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def _check_choice(value: str, choices, name: str) -> None:
    """Exit 2 naming the choices when `value` is not one of them."""
    if value not in choices:
        _fail(f"unknown {name} '{value}'; use one of {', '.join(choices)}", EXIT_BAD_INPUT)


def _dimensions_or_exit(dimensions: str | None) -> list[str]:
    try:
        return parse_dimension_list(dimensions)
    except KeyError as exc:
        _fail(str(exc.args[0]), EXIT_BAD_INPUT)


def _version(value: bool) -> None:
    if value:
        out.print(f"avgenbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version.")) -> None:
    pass


# suite -----------------------------------------------------------------------

@suite_app.command("validate")
def suite_validate(suite_dir: Path = typer.Argument(..., help="Suite folder with prompts/<category>.json."),
                   as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Check a suite and list every problem (file, item index, field). Exit 2 when there are problems."""
    from .annotations import frozen_annotation_problems

    suite, problems = inspect_suite(suite_dir)
    if suite.annotations:
        problems += frozen_annotation_problems(suite.annotations, suite, "annotations.json")
    counts = {c: sum(1 for i in suite.items if i.category == c) for c in suite.categories}
    if as_json:
        _emit_json({"suite": str(suite_dir), "ok": not problems, "prompts": len(suite.items), "categories": counts,
                    "with_expected_faces": sum(1 for i in suite.items if i.expected_faces),
                    "problems": [p.__dict__ | {"text": str(p)} for p in problems]})
    else:
        table = Table(title=f"Suite {suite_dir}")
        table.add_column("category")
        table.add_column("prompts", justify="right")
        for category, n in counts.items():
            table.add_row(category, str(n))
        out.print(table)
        out.print(f"{len(suite.items)} prompts in {len(counts)} categories")
        for p in problems:
            err.print(f"[red]problem:[/] {escape(str(p))}", markup=True, highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT if problems else EXIT_OK)


@suite_app.command("fetch")
def suite_fetch(dest: Path = typer.Argument(..., help="Folder to write the official suite into.")) -> None:
    """Download the official prompts (Hugging Face dataset microsoft/AVGen-Bench). Needs network."""
    from .suite import fetch_suite

    try:
        fetch_suite(dest)
    except RuntimeError as exc:
        _fail(str(exc), EXIT_FAILED)
    out.print(f"suite written to {dest}")


@suite_app.command("paths")
def suite_paths(suite_dir: Path = typer.Argument(..., help="Suite folder with prompts/<category>.json."),
                videos: Optional[Path] = typer.Option(None, "--videos", help="Videos folder to check (default: only list the names)."),
                as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Every expected video path (VIDEOS_DIR/<category>/<safe name>.mp4) and, with --videos, whether it is there."""
    from .discovery import discover_videos

    suite = _load_suite_or_exit(suite_dir)
    report = discover_videos(suite, videos if videos is not None else Path("VIDEOS_DIR"))
    if as_json:
        _emit_json(report.as_dict() if videos is not None else {"entries": [e.__dict__ for e in report.entries]})
        return
    for entry in report.entries:
        line = entry.expected
        if videos is not None:
            state = "found  " if entry.found else "missing"
            line = f"{state} {entry.found if entry.found and entry.found != entry.expected else entry.expected}"
        out.print(line, highlight=False, soft_wrap=True)
    if videos is not None:
        _print_discovery(report, out)


def _print_discovery(report, console: Console, limit: int = 20) -> None:
    """The headline, the layout advice and the files no prompt reads (at most `limit`)."""
    console.print(report.headline(), highlight=False, soft_wrap=True)
    for line in report.advice:
        console.print(f"  {line}", highlight=False, soft_wrap=True)
    for stray in report.strays[:limit]:
        console.print(f"  unread file {stray.describe()}", highlight=False, soft_wrap=True)
    if len(report.strays) > limit:
        console.print(f"  ... and {len(report.strays) - limit} more unread files", highlight=False)


# eval ------------------------------------------------------------------------

def _load_suite_or_exit(suite_dir: Path, annotations: Path | None = None):
    from .annotations import frozen_annotation_problems

    suite, problems = inspect_suite(suite_dir)
    if problems:
        _fail(f"suite {suite_dir} has {len(problems)} problem(s); run `avgenbench suite validate {suite_dir}`:\n"
              + "\n".join(f"  - {p}" for p in problems[:20]), EXIT_BAD_INPUT)
    source = "annotations.json"
    if annotations is not None:
        data, unreadable = read_json_file(annotations)
        if unreadable:
            _fail(f"cannot read annotations file: {unreadable[0]}", EXIT_BAD_INPUT)
        suite.annotations = data
        source = str(annotations)
    bad = [str(p) for p in frozen_annotation_problems(suite.annotations, suite, source)] if suite.annotations else []
    if bad:
        _fail(f"{len(bad)} problem(s) in the frozen annotations:\n" + "\n".join(f"  - {p}" for p in bad[:20]), EXIT_BAD_INPUT)
    return suite


@app.command("eval")
def eval_cmd(
    videos_dir: Path = typer.Argument(..., help="Folder of generated videos: VIDEOS_DIR/<category>/<safe name>.mp4."),
    suite_dir: Path = typer.Option(..., "--suite", help="Suite folder (official layout)."),
    out_dir: Path = typer.Option(..., "--out", help="Output folder; holds the results store."),
    run: Optional[str] = typer.Option(None, "--run", help="Run name (default: basename of VIDEOS_DIR); a run holds one videos folder."),
    replace: bool = typer.Option(False, "--replace", help="Delete the run's stored rows first (needed to reuse a run name for another videos folder)."),
    allow_missing: bool = typer.Option(False, "--allow-missing", help="Evaluate even when no video is found (every prompt is stored as missing_video)."),
    tier: str = typer.Option("lite", "--tier", help="lite (CPU, offline) or paper (paper's models and an MLLM judge)."),
    dimensions: Optional[str] = typer.Option(None, "--dimensions", help=f"Comma list of: {','.join(DIMENSION_IDS)} (default all)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Videos evaluated in parallel processes (default: one per core, fewer when memory is short; or $AVGENBENCH_WORKERS)."),
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
    allow_unavailable: bool = typer.Option(False, "--allow-unavailable", help="Evaluate even when a requested dimension cannot run here (it is recorded as error / no_judge); without it eval stops with the checklist (exit 2)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable summary on stdout."),
) -> None:
    """Evaluate a folder of videos; resumable (finished rows are kept), one decode per video.

    Checks first that every requested dimension can run (see `avgenbench doctor`) and stops with the checklist
    (exit 2) when one cannot, unless --allow-unavailable. Exits 4 when the run finished but rows ended in a tool error."""
    _check_choice(tier, TIERS, "tier")
    _check_choice(failure_policy, POLICIES, "failure policy")
    dims = _dimensions_or_exit(dimensions)
    if not videos_dir.is_dir():
        _fail(f"videos folder {videos_dir} does not exist", EXIT_BAD_INPUT)
    suite = _load_suite_or_exit(suite_dir, annotations)
    run = run or videos_dir.resolve().name
    from .judge.cli import judge_options, judge_report

    if judge and tier == "lite":
        err.print(f"warning: --judge {judge} is ignored in the lite tier (no lite dimension uses a judge)", highlight=False)
        judge = None
    options = {"failure_policy": failure_policy, **judge_options(judge, judge_base_url, max_cost, judge_repeats)}
    if whisper_model:
        options["whisper_model"] = str(whisper_model)
    if face_model:
        options["face_model"] = str(face_model)
    _check_choice(lo_phy, LO_PHY_MODES, "--lo-phy")
    options["lo_phy"] = lo_phy
    from .dimensions.in_env import valid_device

    if not valid_device(device):
        _fail(f"unknown --device '{device}'; use cpu, cuda, cuda:N or auto", EXIT_BAD_INPUT)
    options["device"] = device.strip().lower()
    if ocr_detector is not None:
        from .dimensions.text import DETECTORS

        _check_choice(ocr_detector, DETECTORS, "--ocr-detector")
        options["ocr_detector"] = ocr_detector
    if workers is None:
        from .executor import default_workers

        try:
            workers = default_workers()
        except ValueError as exc:
            _fail(str(exc), EXIT_BAD_INPUT)
    accepted = _preflight(tier, dims, dimensions, options, allow_unavailable, as_json)
    found = _claim_videos_and_run(suite, videos_dir, out_dir, run, tier, allow_missing, replace)
    summary = _run_eval(suite, videos_dir, out_dir, run, tier, dims, workers, force, options, quiet=as_json,
                        retry_errors=retry_errors)
    with Store.open_existing(out_dir) as store:
        rows = store.results(run)
        card = score_rows(rows, failure_policy, run, tier, expected=expectation_of(store.run_info(run)))
        judged = judge_report(options, rows)
    from .doctor import tool_errors

    errors = tool_errors(rows, dims)
    if as_json:
        _emit_json({"eval": summary.as_dict(), "score": card.as_dict(), "discovery": found.as_dict(entries=False),
                    "tool_errors": errors,
                    **({"judge": judged} if judged else {})})
    else:
        _print_card(card)
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
    from .doctor import check

    checklist = check(tier, dims, options)
    explicit = bool(dimensions) and dimensions.strip() != "all"
    blocking = checklist.blocking(explicit)
    if not blocking:
        return set()
    names = ", ".join(DIMENSIONS[c.dimension].display for c in blocking)
    if allow:
        err.print(f"warning: {names} cannot run here and will be recorded as error / no_judge / unavailable_in_tier "
                  "(--allow-unavailable)", highlight=False)
        return {c.dimension for c in blocking}
    if as_json:
        _emit_json({"preflight": checklist.as_dict()})
    else:
        err.print(checklist.text(), highlight=False, soft_wrap=True)
    nothing = " (nothing requested can run)" if not checklist.runnable else ""
    _fail(f"{len(blocking)} requested dimension(s) cannot run here: {names}{nothing}. Fix what the checklist names, "
          "leave them out with --dimensions, or pass --allow-unavailable to evaluate the rest anyway", EXIT_BAD_INPUT)


def _end_with_tool_errors(errors: dict, accepted: set[str], out_dir: Path, run: str) -> None:
    """Say which rows ended in a tool error and exit 4, unless all are in dimensions accepted as unavailable."""
    if not errors:
        return
    lines = [f"{sum(e['count'] for e in errors.values())} row(s) ended in a tool error:"]
    for dim_id, e in errors.items():
        accepted_note = " (accepted: --allow-unavailable)" if dim_id in accepted else ""
        lines.append(f"  {DIMENSIONS[dim_id].display}: {e['count']}{accepted_note}; first: " + " | ".join(e["messages"]))
    lines.append(f"see them: avgenbench results {out_dir} --run {run} --status error; running eval again retries them")
    err.print("\n".join(lines), highlight=False, soft_wrap=True)
    if set(errors) - accepted:
        raise typer.Exit(EXIT_TOOL_ERRORS)


def _claim_videos_and_run(suite, videos_dir: Path, out_dir: Path, run: str, tier: str, allow_missing: bool, replace: bool):
    """Say which videos were found (refuse when none, unless allowed), then check the run name may take this
    folder (with --replace: delete the run first, out loud). Returns the discovery report."""
    from .discovery import discover_videos
    from .runner import claim_run

    found = discover_videos(suite, videos_dir)
    _print_discovery(found, err)
    if found.n_found == 0 and not allow_missing:
        _fail(f"no video of the suite found in {videos_dir}, so nothing to evaluate (see above); fix the folder, or "
              "pass --allow-missing to store every prompt as missing_video", EXIT_BAD_INPUT)
    try:
        removed = claim_run(out_dir, run, tier, videos_dir, replace)
    except (RunTierConflict, RunFolderConflict) as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
    if removed:
        err.print(f"--replace: deleted run '{run}' ({removed['tier']} tier, videos {removed['videos_dir']}, "
                  f"{removed['result_rows']} result rows) before this eval", highlight=False, soft_wrap=True)
    return found


def _run_eval(suite, videos_dir, out_dir, run, tier, dims, workers, force, options, quiet=False, retry_errors=False):
    from .judge.cli import judge_progress
    from .runner import evaluate

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=err, disable=quiet)
    with progress:
        task = progress.add_task(escape(f"eval {run} [{tier}]"), total=None)

        def on_plan(n: int, crashed_kept: dict[str, str]) -> None:
            progress.update(task, total=n)
            if crashed_kept:
                err.print(f"{len(crashed_kept)} video(s) killed their worker process in an earlier run and are not "
                          f"measured again (their rows stay `error`): {', '.join(sorted(crashed_kept))}; "
                          "pass --retry-errors to try them again", highlight=False, soft_wrap=True)

        def on_progress(result) -> None:
            bad = sum(1 for m in result.measurements if m[3].status == "error")
            judged = judge_progress(options)
            label = escape(f"eval {run} [{tier}]") + judged + (f" ({bad} errors)" if bad else "")
            progress.update(task, advance=1, description=f"{label} {escape(result.item.key[:24])}")

        try:
            summary = evaluate(suite, videos_dir, out_dir, run, tier, dims, workers, force, options, on_progress, on_plan,
                               retry_errors=retry_errors)
        except (RunTierConflict, RunFolderConflict) as exc:
            _fail(str(exc), EXIT_BAD_INPUT)
    for key, cause in summary.crashed.items():
        err.print(f"{key}: the worker process died ({cause}) while measuring this video; its rows are `error` and "
                  "the other videos went on", highlight=False, soft_wrap=True)
    return summary


# runs ------------------------------------------------------------------------

def _open_store(out_dir: Path) -> Store:
    try:
        return Store.open_existing(out_dir)
    except FileNotFoundError as exc:
        _fail(str(exc), EXIT_NOT_FOUND)


@runs_app.command("list")
def runs_list(out_dir: Path = typer.Argument(Path("."), help="Output folder holding the results store."),
              as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """The runs in a store: name, tier, videos folder, result rows and when each was created."""
    from datetime import datetime

    with _open_store(out_dir) as store:
        runs = store.run_overview()
    if as_json:
        _emit_json(runs)
        return
    table = Table(title=f"Runs in {out_dir / 'avgenbench.sqlite'}", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("run", "tier", "videos folder", "rows", "created"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for r in runs:
        created = datetime.fromtimestamp(r["created"]).strftime("%Y-%m-%d %H:%M")
        table.add_row(r["run"], r["tier"], r["videos_dir"] or "—", str(r["result_rows"]), created)
    out.print(table)


@runs_app.command("rm")
def runs_rm(out_dir: Path = typer.Argument(..., help="Output folder holding the results store."),
            name: str = typer.Argument(..., help="Run to delete, with all its rows.")) -> None:
    """Delete a run and all its rows, without asking; exit 3 when there is no such run."""
    with _open_store(out_dir) as store:
        removed = store.delete_run(name)
        known = [r["run"] for r in store.runs()]
    if removed is None:
        _fail(f"no run '{name}' in {out_dir}; runs: {', '.join(known) or 'none'}", EXIT_NOT_FOUND)
    out.print(f"removed run '{name}' ({removed['tier']} tier, videos {removed['videos_dir']}): "
              f"{removed['result_rows']} result rows, {removed['media_rows']} media rows", highlight=False, soft_wrap=True)


# results, score, total -------------------------------------------------------

def _open_run(out_dir: Path, run: Optional[str]):
    try:
        store = Store.open_existing(out_dir)
    except FileNotFoundError as exc:
        _fail(str(exc), EXIT_NOT_FOUND)
    runs = store.runs()
    if not runs:
        _fail(f"the store in {out_dir} has no runs", EXIT_NOT_FOUND)
    if run is None:
        if len(runs) > 1:
            _fail(f"the store holds several runs ({', '.join(r['run'] for r in runs)}); choose one with --run", EXIT_BAD_INPUT)
        run = runs[0]["run"]
    info = store.run_info(run)
    if info is None:
        _fail(f"no run '{run}' in {out_dir}; runs: {', '.join(r['run'] for r in runs)}", EXIT_NOT_FOUND)
    return store, info


@app.command("results")
def results_cmd(out_dir: Path = typer.Argument(..., help="Output folder of an eval."),
                run: Optional[str] = typer.Option(None, "--run", help="Run name (needed when the store has several)."),
                video: Optional[str] = typer.Option(None, "--video", help="Only videos whose key (category/content) contains this text (any case)."),
                dimension: Optional[List[str]] = typer.Option(None, "--dimension", help="Only these dimensions (repeatable or a comma list)."),
                status: Optional[List[str]] = typer.Option(None, "--status", help="Only rows with these statuses, e.g. error (repeatable or a comma list)."),
                as_json: bool = typer.Option(False, "--json", help="One JSON record per (video, dimension).")) -> None:
    """Per-video results: status, raw and normalised value, backend, message and evidence."""
    dims, statuses = _results_filters(dimension, status)
    store, info = _open_run(out_dir, run)
    rows = store.results(info["run"])
    store.close()
    needle = (video or "").lower()
    rows = [r for r in rows if needle in r.video_key.lower() and (not dims or r.dimension in dims)
            and (not statuses or r.status in statuses)]
    if as_json:
        _emit_json([r.public() for r in rows])
        return
    if not rows:
        err.print(f"no rows of run '{info['run']}' match these filters", highlight=False)
        return
    table = Table(title=f"Results of run '{info['run']}' ({info['tier']} tier)")
    for col in ("video", "dim", "status", "raw", "norm", "message"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.video_key[:50], r.dimension, r.status, _fmt(r.raw), _fmt(r.normalized), r.message[:60])
    out.print(table)


def _results_filters(dimension: list[str] | None, status: list[str] | None) -> tuple[set[str], set[str]]:
    """The --dimension and --status filters as sets (each repeatable or a comma list); exit 2 on an unknown name."""
    from .dimensions.base import Status

    split = lambda values: {p.strip().lower() for v in values or [] for p in v.split(",") if p.strip()}  # noqa: E731
    dims, statuses = split(dimension), split(status)
    unknown = sorted(dims - set(DIMENSION_IDS))
    if unknown:
        _fail(f"unknown dimension(s) {', '.join(unknown)}; known: {', '.join(DIMENSION_IDS)}", EXIT_BAD_INPUT)
    known = {v for k, v in vars(Status).items() if k.isupper()}
    unknown = sorted(statuses - known)
    if unknown:
        _fail(f"unknown status(es) {', '.join(unknown)}; known: {', '.join(sorted(known))}", EXIT_BAD_INPUT)
    return dims, statuses


@app.command("score")
def score_cmd(out_dir: Path = typer.Argument(..., help="Output folder of an eval."),
              run: Optional[str] = typer.Option(None, "--run", help="Run name (needed when the store has several)."),
              failure_policy: Optional[str] = typer.Option(None, "--failure-policy", help="strict or reference (default: the run's)."),
              draws: int = typer.Option(1000, "--draws", min=0, help="Bootstrap resamples of the prompts for the 95 % CIs (0: none)."),
              seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
              as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Scheme-2 total, coverage, group scores, each dimension with n, and per-category totals, with bootstrap CIs."""
    store, info = _open_run(out_dir, run)
    policy = failure_policy or info["config"].get("failure_policy", "strict")
    if policy not in POLICIES:
        _fail(f"unknown failure policy '{policy}'", EXIT_BAD_INPUT)
    rows = store.results(info["run"])
    store.close()
    if not rows:
        _fail(f"run '{info['run']}' has no results yet", EXIT_NOT_FOUND)
    card = score_rows(rows, policy, info["run"], info["tier"], ci_draws=draws, seed=seed, expected=expectation_of(info))
    if as_json:
        _emit_json(card.as_dict())
    else:
        _print_card(card, categories=True)


@app.command("total")
def total_cmd(raw: Path = typer.Option(..., "--raw", help="CSV: model,Vis,Aud,AV,Lip,Text,Face,Music,Speech,Lo-Phy,Hi-Phy,Holistic."),
              as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Scheme-2 totals from raw per-dimension means (e.g. a published table)."""
    try:
        rows = totals_from_raw_table(raw)
    except (OSError, ValueError) as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
    if as_json:
        _emit_json(rows)
        return
    table = Table(title=f"Scheme-2 totals from {raw}")
    table.add_column("model")
    table.add_column("total", justify="right")
    table.add_column("coverage", justify="right")
    for d in DIMENSION_IDS:
        table.add_column(DIMENSIONS[d].display, justify="right")
    for r in rows:
        table.add_row(r["model"], _fmt(r["total"], 2), f"{r['coverage']:.2f}", *[_fmt(r["normalized"][d], 1) for d in DIMENSION_IDS])
    if layout.fits(out, table):
        out.print(table)
        return
    summary = layout.compact(f"Scheme-2 totals from {raw}")  # a narrow terminal: totals, then the scores in two tables
    summary.add_column("model", overflow="fold")
    for col in ("total", "coverage", *GROUPS):
        summary.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        summary.add_row(r["model"], _fmt(r["total"], 2), f"{r['coverage']:.2f}", *[layout.number(r["groups"][g]) for g in GROUPS])
    for part in [summary, *layout.dimension_tables("model", [r["model"] for r in rows], [r["normalized"] for r in rows])]:
        out.print(part)


# doctor ----------------------------------------------------------------------

@app.command("doctor")
def doctor_cmd(
    tier: str = typer.Option("lite", "--tier", help="lite or paper."),
    dimensions: Optional[str] = typer.Option(None, "--dimensions", help=f"Comma list of: {','.join(DIMENSION_IDS)} (default all)."),
    whisper_model: Optional[Path] = typer.Option(None, "--whisper-model", help="As for eval: local faster-whisper model folder."),
    face_model: Optional[Path] = typer.Option(None, "--face-model", help="As for eval: local InsightFace model pack folder."),
    ocr_detector: Optional[str] = typer.Option(None, "--ocr-detector", help="As for eval: int8 or fp32."),
    lo_phy: str = typer.Option("videophy2", "--lo-phy", help="As for eval: videophy2 or judge."),
    judge: Optional[str] = typer.Option(None, "--judge", help="As for eval: gemini:MODEL or openai:MODEL[?settings]."),
    judge_base_url: Optional[str] = typer.Option(None, "--judge-base-url", help="As for eval: the judge endpoint."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Checklist of a tier: per dimension its backend, ready or missing and why, and the fix; and the judge.

    Takes eval's judge and model options. Exit 0 when every dimension checked can run (with the default list, those the
    tier has no backend for are listed but not counted), 2 when one is missing: eval would stop with this list."""
    from .doctor import check
    from .judge.cache import default_cache_path

    _check_choice(tier, TIERS, "tier")
    _check_choice(lo_phy, LO_PHY_MODES, "--lo-phy")
    dims = _dimensions_or_exit(dimensions)
    options: dict = {"lo_phy": lo_phy}
    if judge:
        options.update(judge=judge, judge_base_url=judge_base_url, judge_cache=str(default_cache_path()))
    for key, value in (("whisper_model", whisper_model), ("face_model", face_model), ("ocr_detector", ocr_detector)):
        if value is not None:
            options[key] = str(value)
    checklist = check(tier, dims, options)
    if as_json:
        _emit_json(checklist.as_dict())
    else:
        out.print(checklist.text(), highlight=False, soft_wrap=True)
    explicit = bool(dimensions) and dimensions.strip() != "all"
    raise typer.Exit(EXIT_BAD_INPUT if checklist.blocking(explicit) else EXIT_OK)


# setup -----------------------------------------------------------------------

setup_app = typer.Typer(help="Set up what a tier needs beyond the install.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(setup_app, name="setup")


@setup_app.command("paper")
def setup_paper_cmd(
    dimensions: Optional[str] = typer.Option(None, "--dimensions", help="Comma list of dimensions whose models to set up (default: every model)."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Folder with weights already on disk (DIR/<file> or DIR/<model>/<file>), for machines without internet."),
    find_links: list[Path] = typer.Option([], "--find-links", help="Local folder of wheels for pip (repeatable)."),
    no_index: bool = typer.Option(False, "--no-index", help="Install only from --find-links (no package index)."),
    repos: Optional[Path] = typer.Option(None, "--repos", help="Folder with local clones of repository-only upstreams (DIR/<model>)."),
) -> None:
    """One virtual environment per paper-tier model under the cache root: pinned packages, the upstream repository at
    a pinned commit where it is not on PyPI, and the weights with their SHA-256. Idempotent: a ready model is left as it
    is. Exits 1 when a model could not be set up (the message says why and how to fix it)."""
    from .model_envs import MODEL_ENVS, SetupError, setup

    dims = _dimensions_or_exit(dimensions)
    names = [name for name, env in MODEL_ENVS.items() if env.dimension in dims]
    if not names:
        _fail(f"no paper-tier model to set up for {', '.join(dims)} (the judge dimensions need --judge only)", EXIT_BAD_INPUT)
    failed = []
    for name in names:
        try:
            setup([name], weights, find_links, no_index, repos, log=lambda line: err.print(line, highlight=False, markup=False))
        except SetupError as exc:
            failed.append(name)
            err.print(f"{name}: {exc}", highlight=False, markup=False, soft_wrap=True)
    if failed:
        err.print(f"not set up: {', '.join(failed)}", highlight=False)
        raise typer.Exit(EXIT_FAILED)


# demo ------------------------------------------------------------------------

@app.command("demo")
def demo_cmd(out_dir: Path = typer.Option(Path("avgen_demo"), "--out", help="Where clips, store and report go."),
             workers: int = typer.Option(2, "--workers", min=1, help="Parallel worker processes."),
             as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Offline demo: generate synthetic clips for the bundled demo suite, evaluate them (lite tier), score, report."""
    from .synthetic.provider import generate_for_suite
    from .suite import demo_suite_path, load_suite

    suite = load_suite(demo_suite_path())
    videos = out_dir / "videos" / "synthetic"
    if not as_json:
        err.print(f"generating {len(suite.items)} synthetic clips in {videos} ...")
    generate_for_suite(suite, videos)
    summary = _run_eval(suite, videos, out_dir, "synthetic", "lite", list(DIMENSION_IDS), workers, False,
                        {"failure_policy": "strict"}, quiet=as_json)
    with Store.open_existing(out_dir) as store:
        card = score_rows(store.results("synthetic"), "strict", "synthetic", "lite",
                          expected=expectation_of(store.run_info("synthetic")))
    from .report import build_report

    report = build_report(out_dir, out_dir / "report.html", ["synthetic"])
    from .demo import truth_lines, truth_of_run

    truth = truth_of_run(out_dir, "synthetic")
    if as_json:
        _emit_json({"eval": summary.as_dict(), "score": card.as_dict(), "truth": [c.as_dict() for c in truth],
                    "report": str(report)})
        return
    _print_card(card, categories=True)
    for line in truth_lines(truth):
        out.print(line, soft_wrap=True, highlight=False, markup=False)
    out.print(f"store: {out_dir / 'avgenbench.sqlite'}  — try `avgenbench results {out_dir} --json`")
    out.print(f"report: {report}  — open it in a browser (works offline)")


# printing --------------------------------------------------------------------

def _fmt(value, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _fmt_ci(ci, digits: int = 1, kind: str = "f") -> str:
    """'[lo, hi]' with `digits` decimals (kind 'f') or significant digits (kind 'g'); '' without an interval."""
    return "" if ci is None else f"[{ci[0]:.{digits}{kind}}, {ci[1]:.{digits}{kind}}]"


def _print_card(card: ScoreCard, categories: bool = False) -> None:
    title = f"Scheme 2 — run '{card.run}' — {card.tier} tier — policy {card.policy}"
    # Light borders, 3 significant digits for raw values (their units differ) and the groups on the totals line
    # keep the table within 80 columns; on a narrow terminal the statuses follow it as lines instead of a column.
    wide = out.width >= 110
    table = Table(title=title, caption=_ci_caption(card), box=box.SIMPLE_HEAD, pad_edge=False)
    columns = ["dimension", "weight", "n", "raw mean [95% CI]", "score [95% CI]"] + (["statuses"] if wide else [])
    for col in columns:
        table.add_column(col, justify="left" if col in ("dimension", "statuses") else "right", no_wrap=col != "statuses")
    lines = []
    for s in card.dimensions.values():
        statuses = ", ".join(f"{k}:{v}" for k, v in sorted(s.statuses.items()))
        raw = "—" if s.raw_mean is None else f"{s.raw_mean:.3g} {_fmt_ci(s.raw_ci, 3, 'g')}".rstrip()
        if s.n == 1:  # one prompt resampled gives a zero-width interval: say there is none
            raw = raw.split(" [")[0]
        score = f"{_fmt(s.normalized, 1)} {'(n = 1, no interval)' if s.n == 1 else _fmt_ci(s.normalized_ci)}".rstrip()
        row = [s.display, f"{s.weight:.3f}", str(s.n), raw, score]
        table.add_row(*row, *([statuses] if wide else []))
        lines.append(f"  {s.display}: {statuses}")
    out.print(table)
    if not wide:
        out.print("statuses per dimension:\n" + "\n".join(lines))
    total = "—" if card.total is None else f"{card.total:.2f}"
    total_ci = _fmt_ci(card.total_ci, 2)
    groups = "  ".join(f"{g} {_fmt(v, 1)} {_fmt_ci(card.groups_ci.get(g))}".rstrip() for g, v in card.groups.items())
    incomplete = " (INCOMPLETE run)" if card.complete is False else ""
    out.print(f"[bold]Total {total}[/] {escape(total_ci)}  coverage {card.coverage:.2f} of 1.00{incomplete}",
              highlight=False, markup=True)
    out.print(f"  {groups}", highlight=False)  # group scores under the total
    if card.prompts:
        out.print(card.prompts.text(), highlight=False)
    if card.coverage < 0.999:
        missing = [s.display for s in card.dimensions.values() if s.normalized is None]
        out.print(f"partial coverage: no score for {', '.join(missing)}; the total is over the available weight only")
    if categories and card.categories:
        cat = Table(title="Per category", box=box.SIMPLE_HEAD, pad_edge=False)
        cat.add_column("category")
        cat.add_column("total", justify="right")
        cat.add_column("95% CI", justify="right")
        cat.add_column("coverage", justify="right")
        cat.add_column("videos", justify="right")
        for name, c in card.categories.items():
            cat.add_row(name, _fmt(c["total"], 2), _fmt_ci(c.get("total_ci"), 2), f"{c['coverage']:.2f}", str(c["n_videos"]))
        out.print(cat)


def _ci_caption(card: ScoreCard) -> str:
    if not card.ci:
        return ""
    return (f"[..] = {card.ci['level']:.0%} bootstrap CI over prompts ({card.ci['draws']} resamples, seed {card.ci['seed']}); "
            "few prompts give wide intervals")


# Command groups that live beside their code.
from . import calibrate as _calibrate, generate as _generate  # noqa: E402
from .judge import cli as _judge_cli  # noqa: E402
from .report import commands as _report_commands  # noqa: E402

for _module in (_calibrate, _generate, _judge_cli, _report_commands):
    _module.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
