"""`avgenbench calibrate`: lite backends against synthetic clips with known truth, or against degraded real clips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from ..cachedir import cache_root
from ..calibrate import default_cache_dir
from ..dimensions import DIMENSION_IDS
from .common import (EXIT_BAD_INPUT, EXIT_FAILED, EXIT_NOT_FOUND, command_group, dimensions_or_exit, emit_json, err, fail,
                     out)

app = command_group()


@app.command("calibrate")
def calibrate_cmd(
    dimensions: Optional[str] = typer.Option(None, "--dimensions", help=f"Comma list of: {','.join(DIMENSION_IDS)},ctrl (default: the eleven Scheme-2 ones; ctrl only when named)."),
    out: Optional[Path] = typer.Option(None, "--out", help=f"Folder for probe clips (default {default_cache_dir()})."),
    as_json: bool = typer.Option(False, "--json", help="Every figure, machine-readable."),
    fast: bool = typer.Option(False, "--fast", help="A small subset of probes (what the test suite runs)."),
    real: Optional[Path] = typer.Option(None, "--real", help="Relative checks on a folder of real clips instead: "
                                        "VIDEOS_DIR with --suite, or a folder holding suite/ and videos/."),
    suite_dir: Optional[Path] = typer.Option(None, "--suite", help="The suite of the --real videos."),
) -> None:
    """Check lite backends on synthetic clips with known truth: recovery and monotonicity. With --real, degrade real
    clips in known ways and check that each dimension scores the clean clip higher. Exit 1 if a target is missed."""
    from ..calibrate import calibrate

    dims = dimensions_or_exit(dimensions)
    if real is not None:
        real_result = _run_real(real, suite_dir, dims if dimensions else None, out, as_json)
        if as_json:
            emit_json(real_result)
        else:
            _print_real(real_result)
        if not real_result["targets_met"]:
            raise typer.Exit(EXIT_FAILED)
        return
    result = calibrate(dims, out, fast)
    if as_json:
        emit_json(result)
    else:
        _print(result)
    if not result["targets_met"]:
        raise typer.Exit(EXIT_FAILED)


def _run_real(folder: Path, suite_dir: Path | None, dims: list[str] | None, out: Path | None,
              quiet: bool) -> dict[str, Any]:
    import hashlib

    from ..calibrate_real import calibrate_real, suite_and_videos
    from ..executor import default_workers
    from ..suite import SuiteError

    try:
        suite, videos = suite_and_videos(folder, suite_dir)
    except (ValueError, SuiteError) as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    tag = hashlib.sha256(str(videos.resolve()).encode()).hexdigest()[:12]
    work = out or cache_root() / "calibrate-real" / tag
    step = None if quiet else (lambda text: err.print(f"  {text}", highlight=False))
    result = calibrate_real(suite, videos, work, dims, workers=default_workers(), on_step=step)
    if not result.clips:
        fail(f"no video of {videos} matches a prompt of the suite", EXIT_NOT_FOUND)
    return result.as_dict()


def _print_real(result: dict[str, Any]) -> None:
    from rich.table import Table

    from ..calibrate_real import TARGET_DIMENSIONS, WIN_TARGET

    table = Table(title=f"Relative checks on {result['clips']} real clips ({result['videos_dir']})")
    for col in ("dimension", "conclusive", "pairs won", "by degradation", "target"):
        table.add_column(col)
    for dim_id, r in result["dimensions"].items():
        conclusive = f"{r['conclusive']}/{r['clips_applicable']}" if r["clips_applicable"] else "not asked"
        won = "—" if r["win_share"] is None else f"{r['won']}/{r['pairs']} ({100 * r['win_share']:.0f}%)"
        by = ", ".join(f"{k} {v}" for k, v in r["by_degradation"].items()) or "—"
        target = "—" if r["met"] is None else ("met" if r["met"] else "MISSED")
        table.add_row(dim_id, conclusive, won, by, target)
    out.print(table)
    for key, why in result["skipped"].items():
        out.print(f"  skipped {key}: {why}", highlight=False)
    out.print(f"targets: pairs won >= {100 * WIN_TARGET:.0f}% and conclusive on most clips, for "
              f"{', '.join(TARGET_DIMENSIONS)}; copies and store in {result['work_dir']}")


def _print(result: dict[str, Any]) -> None:
    from rich.table import Table


    table = Table(title=f"Calibration of the lite tier{' (fast subset)' if result['fast'] else ''}")
    for col in ("dimension", "status", "recovery", "worst error", "monotonicity", "targets"):
        table.add_column(col)
    for dim_id, r in result["dimensions"].items():
        if r["status"] != "ok":
            table.add_row(dim_id, r["status"], "—", "—", "—", r["message"][:60])
            continue
        rec = r["recovery"]
        rec_text = f"{rec['passed']}/{rec['total']} within target" if rec["applicable"] else "anchor only"
        worst = ", ".join(f"{k} {v:g}" for k, v in rec.get("worst", {}).items()) or "—"
        mono = r["monotonicity"]
        rate = "—" if mono["pass_rate"] is None else f"{100 * mono['pass_rate']:.0f}%"
        table.add_row(dim_id, "checked", rec_text, worst, f"{mono['passed']}/{mono['pairs']} ({rate})",
                      "met" if r["targets_met"] else "MISSED")
    out.print(table)
    for dim_id in result["missed"]:
        r = result["dimensions"][dim_id]
        if r["status"] != "ok":
            out.print(f"  {dim_id}: not checked ({r['status']}): {r['message']}", highlight=False)
            continue
        for p in r["monotonicity"]["failing"][:10]:
            out.print(f"  {dim_id}: {p['clip']} vs {p['perturbation']}: {p['outcome']} "
                      f"(clean {p.get('clean')}, perturbed {p.get('perturbed')})", highlight=False)
        if r["recovery"]["applicable"]:
            for c in r["recovery"]["clips"]:
                if not c.get("ok"):
                    out.print(f"  {dim_id}: recovery on {c['clip']}: {json.dumps({k: v for k, v in c.items() if k != 'clip'})}",
                              highlight=False)
    out.print(f"probe clips cached in {result['cache']}")
