"""calibrate: check each dimension's lite backend against synthetic clips whose truth is known by construction.

For every dimension with a lite backend it builds the dimension's probe set (synthetic/probes.py `PROBES`: the
backend authors' probe functions plus generator clips degraded by synthetic/perturb.py; clips cached under --out or
the user cache dir, never committed), evaluates each clip through the normal path (`runner.run_unit`: one decode with
the backend's needs, then `measure`), and reports per dimension:
- recovery: what the backend found vs the truth, per clean clip (see synthetic/probes.py for the evidence read);
- monotonicity: for each (clean clip, perturbation aimed at the dimension), does score(clean) beat score(perturbed)?
  (normalised 0–100 scores, strict policy: a video fault scores the dimension's worst value).

Targets (the lite tier must meet them; exit 1 when one is missed):
  AV     offset error <= 40 ms (signed: + = sound later than picture)
  Lip    offset error <= 1 frame at 25 fps (+ = audio after the mouth; generator offsets, given in the clip's own
         frames, are converted to 25 fps)
  Music  exact MIDI notes on single notes and sequences (arpeggios); exact pitch-class set on chords
  Text   CER <= 5 % of the OCR reading against each rendered string
  Face   primary identity count exact
  Speech presence right, first onset within 0.3 s, the author truths' expected status and raw range
  Vis    no recoverable quantity (clean clips are quality anchors)
  Aud    the expected raw value where a truth gives one (a silent track scores 1)
  every dimension: monotonicity >= 95 % of pairs.

Probes and perturbations (full set; `--fast`, what the test suite runs, takes the first of each list):
  AV     author: impact clips at -320/-120/0/+80/+250 ms, each vs a copy shifted 250 ms further from sync;
         generator: bouncing balls at -300/-120/0/+120/+300 ms; the in-sync clip vs shift_audio +-200 ms.
  Vis    author: panned texture/photograph scenes (texture, coffee, chelsea); generator: drifting shapes over the
         textured backdrop (clean Vis only ~0.4: the smooth backdrop reads as soft); each vs perturb.py blur s3, frame
         noise s25, recompress 40 kb/s, flicker, 1 s freeze, every 2nd frame dropped. A static generator clip is no
         anchor (Vis calls a picture without motion frozen), so none is used.
  Aud    author: music-like, babble and impact sounds vs white/pink noise at 10 dB, 12 dB clipping, 4 kHz low-pass;
         a silent track (raw 1); generator: organ bed + melody vs noise 5 dB, 18 dB clipping, 800 Hz low-pass, pink noise.
  Music  author: A4 x4, C major arpeggio, C major chord, chord inversion, kalimba C-G vs pitch shifts, octave shifts,
         missing/extra/reversed notes, minor chord; generator: C arpeggio, C chord, G3 guitar vs pitch_shift +1/-2.
  Text   author (4 s clips): two strings vs garbling 1/2/4 letters, shown for the first second only, flickering,
         removed; generator: three captions vs garble_text 3 letters and remove_text. Blur is not used: the lite OCR
         still reads these captions at CER 0 under a sigma-8 blur, so blur does not damage what Text measures.
  Face   author: one and two identities vs identity swap, gradual morph, extra identities;
         generator: 1/2/3 identities vs drift_identity.
  Lip    author: talking faces in sync and 2 frames late vs larger offsets; generator: espeak lines with the mouth
         -4/0/+3 frames off; the in-sync clip vs shift_audio +-208 ms (5 frames).
  Speech author: babble (speech required, no quoted line) vs replacement by hum or music and truncation to 1 s; music
         and hum clips (no_speech, and not applicable); babble against a quoted line (the offline wording check: low);
         an espeak-ng line; generator: espeak lines at known starts vs silence. (Noise and low-pass are not aimed at
         Speech: without real voices offline, the probes check presence, timing and the wording check's refusal of
         babble; the wording itself is checked on the real dev clips, tests/test_speech_real.py.)
Probes that cannot be rendered on this machine (e.g. no espeak-ng) are listed under `skipped`, never scored.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

from .cachedir import cache_root
from .dimensions import DIMENSION_IDS, get_backend, get_dimension
from .dimensions.base import Measurement, status_kind
from .numbers import rounded
from .runner import Unit, run_unit
from .suite import FaceRange, PromptItem
from .synthetic import probes as probe_defs

MONOTONICITY_TARGET = 0.95
TIER = "lite"


def default_cache_dir() -> Path:
    return cache_root() / "calibrate"


def measure(dim_id: str, probe: probe_defs.Probe, path: str, label: str = "clean") -> Measurement:
    """Evaluate one file with the dimension's lite backend exactly as `eval` does."""
    annotation = dict(probe.annotation)
    faces = annotation.get("faces")
    item = PromptItem("calibrate", 0, f"{probe.name} {label}", probe.prompt or probe.name, {},
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
    backend = get_backend(dim_id, TIER)
    if backend is None:
        return "missing_backend", f"{get_dimension(dim_id).display} has no lite backend"
    if dim_id not in probe_defs.PROBES:
        return "no_probe", "calibrate has no synthetic probe for this dimension"
    reason = backend.unavailable_reason({})
    if reason:
        return "backend_unavailable", reason
    return "ok", ""


def _modules_missing(requires: tuple[str, ...]) -> list[str]:
    return [m for m in requires if importlib.util.find_spec(f"avgenbench.synthetic.{m}") is None]


def build_probes(dim_id: str, cache: Path, fast: bool) -> tuple[list[probe_defs.Probe], list[dict[str, str]]]:
    """Every source's probes for the dimension (rendered or reused from the cache), and what was skipped."""
    probes, skipped = [], []
    for source in probe_defs.PROBES[dim_id]:
        missing = _modules_missing(source.requires)
        if missing:
            skipped.append({"probe": source.name, "reason": f"probe renderers missing: {', '.join(missing)}"})
            continue
        try:
            built = source.build(cache, fast)
        except (ImportError, RuntimeError) as exc:
            skipped.append({"probe": source.name, "reason": str(exc)})
            continue
        probes += built.probes
        skipped += built.skipped
    return probes, skipped


def calibrate_dimension(dim_id: str, cache: Path, fast: bool = False) -> dict[str, Any]:
    t0 = time.perf_counter()
    state, message = availability(dim_id)
    report: dict[str, Any] = {"dimension": dim_id, "status": state, "message": message}
    if state != "ok":
        return report
    backend = get_backend(dim_id, TIER)
    report["backend"] = f"{backend.name} {backend.version}"
    probes, skipped = build_probes(dim_id, cache, fast)
    report["skipped"] = skipped
    if not probes:
        report.update(status="probe_unavailable",
                      message="no probe could be rendered here: " + "; ".join(s["reason"] for s in skipped))
        return report
    report["sources"] = sorted({p.source for p in probes})
    clean = {p.name: measure(dim_id, p, p.path) for p in probes}
    report["recovery"] = _recovery(dim_id, probes, clean)
    report["monotonicity"] = _monotonicity(dim_id, probes, clean)
    report["targets_met"] = _targets_met(report)
    report["seconds"] = round(time.perf_counter() - t0, 2)
    return report


def _recovery(dim_id: str, probes: list[probe_defs.Probe], clean: dict[str, Measurement]) -> dict[str, Any]:
    rows = []
    for p in probes:
        found = probe_defs.recover(dim_id, clean[p.name], p.truth)
        if found is not None:
            rows.append({"clip": p.name, "source": p.source, "status": clean[p.name].status,
                         "raw": rounded(clean[p.name].raw, 3), **found})
    if not rows:
        return {"applicable": False, "target": probe_defs.TARGETS.get(dim_id, ""),
                "message": "no recoverable quantity: clean clips are quality anchors only"}
    passed = sum(1 for r in rows if r.get("ok"))
    worst = {key: max(r[key] for r in rows if key in r)
             for key in ("error_ms", "error_frames", "cer", "wrong", "onset_error_s") if any(key in r for r in rows)}
    return {"applicable": True, "target": probe_defs.TARGETS.get(dim_id, ""), "clips": rows, "passed": passed,
            "total": len(rows), "worst": worst, "measurable": all(r.get("measurable") for r in rows),
            "ok": passed == len(rows)}


def _monotonicity(dim_id: str, probes: list[probe_defs.Probe], clean: dict[str, Measurement]) -> dict[str, Any]:
    pairs = []
    for p in probes:
        if not p.perturbations:
            continue
        clean_score = score_of(dim_id, clean[p.name])
        for pert in p.perturbations:
            worse = measure(dim_id, p, pert["path"], pert["name"])
            worse_score = score_of(dim_id, worse)
            if clean_score is None or worse_score is None:
                outcome = "unscored"
            else:
                outcome = "pass" if clean_score > worse_score else "fail"
            pairs.append({"clip": p.name, "source": p.source, "perturbation": pert["name"], "outcome": outcome,
                          "clean": rounded(clean_score, 3), "perturbed": rounded(worse_score, 3),
                          "clean_status": clean[p.name].status, "perturbed_status": worse.status})
    passed = sum(1 for p in pairs if p["outcome"] == "pass")
    rate = passed / len(pairs) if pairs else None
    return {"pairs": len(pairs), "passed": passed, "pass_rate": rounded(rate, 4), "target": MONOTONICITY_TARGET,
            "ok": rate is not None and rate >= MONOTONICITY_TARGET,
            "failing": [p for p in pairs if p["outcome"] != "pass"], "all_pairs": pairs}


def _targets_met(report: dict[str, Any]) -> bool:
    recovery = report["recovery"]
    return bool(report["monotonicity"]["ok"] and (not recovery["applicable"] or recovery["ok"]))


def calibrate(dims: list[str] | None = None, cache: Path | str | None = None, fast: bool = False) -> dict[str, Any]:
    cache = Path(cache) if cache else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    dims = dims or list(DIMENSION_IDS)
    reports = {d: calibrate_dimension(d, cache, fast) for d in dims}
    checked = [d for d, r in reports.items() if r["status"] == "ok"]
    # A dimension with a lite backend that could not be checked counts as a miss: calibration did not cover it.
    uncovered = [d for d, r in reports.items() if r["status"] not in ("ok", "missing_backend")]
    missed = [d for d in checked if not reports[d]["targets_met"]] + uncovered
    return {"tier": TIER, "fast": fast, "cache": str(cache), "dimensions": reports, "checked": checked,
            "not_checked": {d: r["status"] for d, r in reports.items() if r["status"] != "ok"},
            "targets_met": not missed, "missed": missed}
