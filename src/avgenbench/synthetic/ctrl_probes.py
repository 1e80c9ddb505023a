"""Calibration probes for Control (ctrl): synthetic/controls.py clips with a prompt asking for what they do.

`ctrl_probes(out_dir, fast)` renders each probe and its perturbations and returns, per probe,
    {"path", "prompt", "truth", "annotation", "perturbations": [{"name", "path"}]}
Perturbations damage exactly what the prompt asks: a trend played backwards (`reversed`), a count with its last
events cut (`cut_last_2`), a count tied to a visible action whose sound or picture lacks two events
(`sound_short_2`, `picture_short_2`), a stop that never comes (`no_stop`) or comes first (`reversed`), an order
with the two halves of the audio swapped (`swapped`).
Recovery (`ctrl_recovery`): the sign of the measured change equals the truth's (loudness dB, event-rate ratio,
semitones), the counted events equal the rendered ones (sound, and picture flashes where the prompt ties the count
to a visible action), the stop is found within STOP_TARGET_S of the truth, an order passes (the first sound's class
is found before the second's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..dimensions.base import Measurement, Status

STOP_TARGET_S = 0.3

# (name, control, prompt, perturbations {name: control changes}); the prompt's wording is read by control_rules.
PROBES: list[tuple[str, dict[str, Any], str, dict[str, dict[str, Any]]]] = [
    ("loudness_up", {"kind": "loudness_up"}, "Rain on a tin roof grows louder and louder.", {"reversed": {"reverse": True}}),
    ("tempo_up", {"kind": "tempo_up"}, "A drum beat that speeds up, faster and faster.", {"reversed": {"reverse": True}}),
    ("count_4", {"kind": "count", "n": 4}, "She plucks the string four times.",
     {"cut_last_2": {"keep": 2}, "sound_short_2": {"keep": 2, "flashes": 4}, "picture_short_2": {"flashes": 2}}),
    ("order_speech_tonal", {"kind": "order", "first": "speech", "second": "tonal"},
     "A man speaks, then an organ plays.", {"swapped": {"swap": True}}),
    ("order_tonal_speech", {"kind": "order", "first": "tonal", "second": "speech"},
     "Organ music plays, then a man speaks.", {"swapped": {"swap": True}}),
    ("order_impact_noise", {"kind": "order", "first": "impact", "second": "noise"},
     "A sharp knock, followed by a steady hiss.", {"swapped": {"swap": True}}),
    ("stop", {"kind": "stop", "stop_s": 4.0}, "An organ chord plays, then stops.",
     {"no_stop": {"stop_s": None}, "reversed": {"reverse": True}}),
    ("loudness_down", {"kind": "loudness_down"}, "The music fades out.", {"reversed": {"reverse": True}}),
    ("tempo_down", {"kind": "tempo_down"}, "The ticking clock slows down.", {"reversed": {"reverse": True}}),
    ("pitch_up", {"kind": "pitch_up"}, "A siren tone sweeps upward in pitch.", {"reversed": {"reverse": True}}),
    ("pitch_down", {"kind": "pitch_down"}, "A whistle falls in pitch.", {"reversed": {"reverse": True}}),
    ("count_3", {"kind": "count", "n": 3}, "A hand knocks on the door three times.", {"cut_last_2": {"keep": 1}}),
    # the same controls over a steady noise bed (room tone, rain): the measures must hold under it
    ("count_5_noise", {"kind": "count", "n": 5, "noise_db": -40.0}, "He taps the glass five times.",
     {"cut_last_2": {"keep": 3}}),
    ("loudness_up_noise", {"kind": "loudness_up", "noise_db": -30.0}, "The engine roar grows louder.",
     {"reversed": {"reverse": True}}),
    ("tempo_up_noise", {"kind": "tempo_up", "noise_db": -30.0}, "The footsteps speed up, faster and faster.",
     {"reversed": {"reverse": True}}),
    ("stop_noise", {"kind": "stop", "stop_s": 3.5, "noise_db": -45.0}, "The music plays, then cuts out.",
     {"no_stop": {"stop_s": None}}),
]
FAST = ("loudness_up", "tempo_up", "count_4", "stop", "order_speech_tonal")


def ctrl_probes(out_dir: Path | str, fast: bool = False) -> list[dict[str, Any]]:
    from .controls import render_control

    out_dir = Path(out_dir)
    items = []
    for name, control, prompt, perturbations in PROBES:
        if fast and name not in FAST:
            continue
        path = out_dir / f"ctrl_{name}.mp4"
        truth = render_control(path, control)
        perturbed = []
        for label, change in perturbations.items():
            worse = out_dir / f"ctrl_{name}--{label}.mp4"
            render_control(worse, {**control, **change})
            perturbed.append({"name": label, "path": str(worse)})
        items.append({"path": str(path), "prompt": prompt, "truth": truth["controls"][0], "annotation": {},
                      "perturbations": perturbed})
    return items


def _direction(check: dict[str, Any]) -> float | None:
    for key in ("change_db", "change_semitones"):
        if key in check:
            return float(check[key])
    if "rate_ratio_end_to_start" in check:
        return float(check["rate_ratio_end_to_start"]) - 1.0
    return None


def ctrl_recovery(m: Measurement, truth: dict[str, Any]) -> dict[str, Any] | None:
    kind = truth.get("kind")
    if kind is None:
        return None
    if m.status != Status.OK:
        return {"measurable": True, "ok": False, "message": f"status {m.status}"}
    checks = [c for c in m.evidence.get("checks", []) if c.get("kind") == kind]
    if not checks:
        return {"measurable": False, "ok": False, "message": f"no {kind} instruction was read from the prompt"}
    found = checks[0]
    if kind == "count":
        wrong = abs(int(found.get("found", -1)) - int(truth["count"]))
        out = {"measurable": True, "expected_count": truth["count"], "found_count": found.get("found")}
        if "visual_found" in found and "flashes_s" in truth:
            out.update(expected_visual=len(truth["flashes_s"]), found_visual=found["visual_found"])
            wrong = max(wrong, abs(int(found["visual_found"]) - len(truth["flashes_s"])))
        return {**out, "wrong": wrong, "ok": wrong == 0}
    if kind == "order":
        spans = {k: found.get(k, {}).get("spans_s") for k in ("first", "second")}
        return {"measurable": found.get("score") is not None, "expected": [truth["first"]["class"],
                truth["second"]["class"]], "found_spans_s": spans, "precedence": found.get("precedence"),
                "ok": found.get("verdict") == "pass", "message": found.get("message", "")}
    if kind == "stop":
        at = found.get("stop_at_s")
        if at is None or truth.get("stop_s") is None:
            return {"measurable": at is not None, "ok": False, "message": "no stop found"}
        error = abs(float(at) - float(truth["stop_s"]))
        return {"measurable": True, "expected_s": truth["stop_s"], "found_s": at, "onset_error_s": round(error, 3),
                "ok": error <= STOP_TARGET_S}
    change = _direction(found)
    want = 1.0 if kind.endswith("_up") else -1.0
    if change is None:
        return {"measurable": False, "ok": False, "message": found.get("message", "no change measured")}
    return {"measurable": True, "expected_sign": int(want), "found_change": round(change, 3),
            "ok": change * want > 0}
