"""calibrate: check each dimension's lite backend against synthetic clips whose truth is known by construction.

For every dimension with probes (synthetic/probes.py) it renders the probe clips and their perturbations (cached),
evaluates them through the normal path (`runner.run_unit`: one decode with the backend's needs, then `measure`), and
reports recovery (what the backend found vs the truth) and monotonicity (clean clip beats each perturbed copy).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Any, Optional

import typer

from .dimensions import DIMENSION_IDS, get_backend, get_dimension
from .dimensions.base import Measurement, status_kind
from .runner import Unit, run_unit
from .suite import FaceRange, PromptItem
from .synthetic import probes as probe_defs
from .synthetic.generator import GENERATOR_VERSION, read_truth, render
from .synthetic.perturb import PERTURB_VERSION
from .synthetic.perturb import apply as apply_perturbation

MONOTONICITY_TARGET = 0.95
TIER = "lite"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "avgenbench" / "calibrate"


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:10]


def clip_path(cache: Path, clip: probe_defs.ProbeClip) -> Path:
    """Render the probe clip unless a cached copy (video + truth) exists; return its path."""
    path = cache / "clips" / f"{clip.name}-{_digest(GENERATOR_VERSION, clip.spec)}.mp4"
    if not (path.is_file() and read_truth(path)):
        render(clip.spec, path)
    return path


def perturbed_path(cache: Path, source: Path, pert: probe_defs.Perturbation) -> Path:
    path = source.with_name(f"{source.stem}--{pert.label}-{_digest(PERTURB_VERSION, pert.fn, pert.params)}.mp4")
    if not (path.is_file() and read_truth(path)):
        apply_perturbation(pert.fn, source, path, **pert.params)
    return path


def measure(dim_id: str, clip: probe_defs.ProbeClip, path: Path, label: str = "clean") -> Measurement:
    """Evaluate one file with the dimension's lite backend exactly as `eval` does."""
    annotation = dict(clip.annotation)
    faces = annotation.get("faces")
    item = PromptItem("calibrate", 0, f"{clip.name} {label}", clip.prompt, {"synthetic": clip.spec},
                      FaceRange.model_validate(faces) if faces else None)
    result = run_unit(Unit(item, str(path), [dim_id], TIER, annotation))
    return result.measurements[0][3]


def score_of(dim_id: str, m: Measurement) -> float | None:
    """The normalised score eval would give (strict policy): video faults score worst; unscored is None."""
    dim = get_dimension(dim_id)
    kind = status_kind(m.status)
    if kind == "scored":
        return dim.normalize(m.raw)
    if kind == "video_fault":
        return dim.normalize(dim.worst_raw)
    return None


def availability(dim_id: str) -> tuple[str, str]:
    """('ok', '') or (why not, message) for the dimension's lite backend and its probes."""
    if dim_id not in probe_defs.PROBES:
        return "no_probe", "calibrate has no synthetic probe for this dimension"
    backend = get_backend(dim_id, TIER)
    if backend is None:
        return "missing_backend", f"{get_dimension(dim_id).display} has no lite backend"
    reason = backend.unavailable_reason({})
    if reason:
        return "backend_unavailable", reason
    return "ok", ""


def _modules_missing(requires: tuple[str, ...]) -> list[str]:
    return [m for m in requires if importlib.util.find_spec(f"avgenbench.synthetic.{m}") is None]


def calibrate_dimension(dim_id: str, cache: Path, fast: bool = False) -> dict[str, Any]:
    t0 = time.perf_counter()
    state, message = availability(dim_id)
    report: dict[str, Any] = {"dimension": dim_id, "status": state, "message": message}
    if state != "ok":
        return report
    backend = get_backend(dim_id, TIER)
    report["backend"] = f"{backend.name} {backend.version}"
    build = probe_defs.PROBES[dim_id]
    try:
        probes = build(fast)
        missing = _modules_missing(probes.requires)
    except (ImportError, RuntimeError) as exc:
        probes, missing = None, [str(exc)]
    if probes is None or missing:
        report.update(status="probe_unavailable", message=f"probe renderers missing: {', '.join(missing)}")
        return report
    clips, skipped = [], []
    for clip in probes.clips:
        path = clip_path(cache, clip)
        truth = read_truth(path)
        if truth.get("skipped"):
            skipped.append({"clip": clip.name, "skipped": truth["skipped"]})
        else:
            clips.append((clip, path, truth))
    if skipped:
        report.update(status="probe_unavailable", message="probe clips could not be fully rendered here",
                      skipped=skipped)
        return report
    report["recovery"] = _recovery(dim_id, probes, clips)
    report["monotonicity"] = _monotonicity(dim_id, probes, clips, cache)
    report["targets_met"] = _targets_met(report)
    report["seconds"] = round(time.perf_counter() - t0, 2)
    return report


def _recovery(dim_id: str, probes: probe_defs.ProbeSet, clips) -> dict[str, Any]:
    if probes.recover is None:
        return {"applicable": False, "message": "no recoverable quantity: clean clips are quality anchors only"}
    rows = []
    for clip, path, truth in clips:
        m = measure(dim_id, clip, path)
        row = {"clip": clip.name, "status": m.status, "raw": m.raw, **probes.recover(m, truth)}
        rows.append(row)
    passed = sum(1 for r in rows if r.get("ok"))
    worst = {key: max(r[key] for r in rows if key in r)
             for key in ("error_ms", "error_frames", "cer", "wrong", "onset_error_s") if any(key in r for r in rows)}
    return {"applicable": True, "target": probes.target, "clips": rows, "passed": passed, "total": len(rows),
            "worst": worst, "measurable": all(r.get("measurable") for r in rows), "ok": passed == len(rows)}


def _monotonicity(dim_id: str, probes: probe_defs.ProbeSet, clips, cache: Path) -> dict[str, Any]:
    pairs = []
    for clip, path, _ in clips:
        if not clip.clean:
            continue
        clean = measure(dim_id, clip, path)
        clean_score = score_of(dim_id, clean)
        for pert in probes.perturbations:
            try:
                ppath = perturbed_path(cache, path, pert)
            except (ValueError, ImportError, RuntimeError) as exc:
                pairs.append({"clip": clip.name, "perturbation": pert.label, "outcome": "not_applied", "message": str(exc)})
                continue
            worse = measure(dim_id, clip, ppath, pert.label)
            worse_score = score_of(dim_id, worse)
            if clean_score is None or worse_score is None:
                outcome = "unscored"
            else:
                outcome = "pass" if clean_score > worse_score else "fail"
            pairs.append({"clip": clip.name, "perturbation": pert.label, "outcome": outcome,
                          "clean": _round(clean_score), "perturbed": _round(worse_score),
                          "clean_status": clean.status, "perturbed_status": worse.status})
    counted = [p for p in pairs if p["outcome"] != "not_applied"]
    passed = sum(1 for p in counted if p["outcome"] == "pass")
    rate = passed / len(counted) if counted else None
    return {"pairs": len(counted), "passed": passed, "pass_rate": _round(rate, 4), "target": MONOTONICITY_TARGET,
            "ok": rate is not None and rate >= MONOTONICITY_TARGET,
            "failing": [p for p in pairs if p["outcome"] != "pass"], "all_pairs": pairs}


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def _targets_met(report: dict[str, Any]) -> bool:
    recovery = report["recovery"]
    return bool(report["monotonicity"]["ok"] and (not recovery["applicable"] or recovery["ok"]))


def calibrate(dims: list[str] | None = None, cache: Path | str | None = None, fast: bool = False) -> dict[str, Any]:
    cache = Path(cache) if cache else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    dims = dims or list(DIMENSION_IDS)
    reports = {d: calibrate_dimension(d, cache, fast) for d in dims}
    checked = [d for d, r in reports.items() if r["status"] == "ok"]
    return {"tier": TIER, "fast": fast, "cache": str(cache), "dimensions": reports, "checked": checked,
            "not_checked": {d: r["status"] for d, r in reports.items() if r["status"] != "ok"},
            "targets_met": all(reports[d]["targets_met"] for d in checked),
            "missed": [d for d in checked if not reports[d]["targets_met"]]}


def register(app) -> None:
    @app.command("calibrate")
    def calibrate_cmd(
        dimensions: Optional[str] = typer.Option(None, "--dimensions", help=f"Comma list of: {','.join(DIMENSION_IDS)} (default all)."),
        out: Optional[Path] = typer.Option(None, "--out", help=f"Folder for probe clips (default {default_cache_dir()})."),
        as_json: bool = typer.Option(False, "--json", help="Every figure, machine-readable."),
        fast: bool = typer.Option(False, "--fast", help="A small subset of probes (what the test suite runs)."),
    ) -> None:
        """Check lite backends on synthetic clips with known truth: recovery and monotonicity. Exit 1 if a target is missed."""
        from .cli import EXIT_BAD_INPUT, EXIT_FAILED, _emit_json, _fail
        from .dimensions import parse_dimension_list

        try:
            dims = parse_dimension_list(dimensions)
        except KeyError as exc:
            _fail(str(exc.args[0]), EXIT_BAD_INPUT)
        result = calibrate(dims, out, fast)
        if as_json:
            _emit_json(result)
        else:
            _print(result)
        if not result["targets_met"]:
            raise typer.Exit(EXIT_FAILED)


def _print(result: dict[str, Any]) -> None:
    from rich.table import Table

    from .cli import out

    table = Table(title=f"Calibration of the lite tier{' (fast subset)' if result['fast'] else ''}")
    for col in ("dimension", "status", "recovery", "monotonicity", "targets"):
        table.add_column(col)
    for dim_id, r in result["dimensions"].items():
        if r["status"] != "ok":
            table.add_row(dim_id, r["status"], "—", "—", r["message"][:60])
            continue
        rec = r["recovery"]
        rec_text = f"{rec['passed']}/{rec['total']} within target" if rec["applicable"] else "anchor only"
        mono = r["monotonicity"]
        rate = "—" if mono["pass_rate"] is None else f"{100 * mono['pass_rate']:.0f}%"
        table.add_row(dim_id, "checked", rec_text, f"{mono['passed']}/{mono['pairs']} ({rate})",
                      "met" if r["targets_met"] else "MISSED")
    out.print(table)
    for dim_id in result["missed"]:
        r = result["dimensions"][dim_id]
        for p in r["monotonicity"]["failing"][:10]:
            out.print(f"  {dim_id}: {p['clip']} vs {p['perturbation']}: {p['outcome']} "
                      f"(clean {p.get('clean')}, perturbed {p.get('perturbed')})", highlight=False)
        if r["recovery"]["applicable"]:
            for c in r["recovery"]["clips"]:
                if not c.get("ok"):
                    out.print(f"  {dim_id}: recovery on {c['clip']}: {json.dumps({k: v for k, v in c.items() if k != 'clip'})}",
                              highlight=False)
    out.print(f"probe clips cached in {result['cache']}")
