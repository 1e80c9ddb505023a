"""The demo's point: its clips are synthetic, so the truth is known. Put each clip's truth (the `<clip>.truth.json`
the generator writes beside it) next to what the evaluation measured (the evidence stored per row).

Per clip: AV offset true vs measured, notes true vs transcribed, on-screen text true vs read, faces true vs counted,
lip offset, and the speech line; plus a note wherever a voice was replaced by babble because espeak-ng is missing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .store import ResultRow

CHORD_GAP_S = 0.03  # detected notes starting this close together are one chord


@dataclass
class Check:
    what: str
    truth: str
    measured: str
    status: str  # the row's status; "—" when no row holds the measurement


@dataclass
class ClipTruth:
    key: str
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # substitutions and skipped elements, said plainly

    def as_dict(self) -> dict:
        return {"key": self.key, "checks": [c.__dict__ for c in self.checks], "notes": self.notes}


def _why(row: ResultRow | None) -> str:
    if row is None:
        return "not measured (no row)"
    return f"none ({row.status}{': ' + row.message if row.message else ''})"


def _status(row: ResultRow | None) -> str:
    return row.status if row else "—"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _quoted(values: list[str]) -> str:
    return ", ".join(f"'{v}'" for v in values) if values else "nothing"


def _av(truth: dict, row: ResultRow | None) -> Check | None:
    if not (truth.get("impacts") or truth.get("notes") or truth.get("speech")):
        return None  # no sound event to align: the offset is undefined
    true = f"{round(truth.get('audio_offset_ms', 0.0)):+d} ms"
    if row is not None and row.status == "ok":
        ev = row.evidence
        measured = (f"{round(ev.get('offset_ms', 0.0)):+d} ms, confidence {ev.get('confidence', 0):.2f} "
                    f"(scored: expected |offset| {ev.get('expected_abs_offset_ms', 0):.0f} ms)")
    else:
        measured = _why(row)
    return Check("AV offset", true, measured, _status(row))


def _note_names(truth: dict) -> str:
    return " ".join("+".join(n["names"]) for n in truth.get("notes", []))


def _transcribed(evidence: dict) -> str:
    events: list[tuple[float, list[str]]] = []
    for note in sorted(evidence.get("detected", []), key=lambda n: (n.get("t", 0), n.get("midi", 0))):
        if events and abs(note.get("t", 0) - events[-1][0]) <= CHORD_GAP_S:
            events[-1][1].append(note["name"])
        else:
            events.append((note.get("t", 0), [note["name"]]))
    return " ".join("+".join(names) for _, names in events) or "no notes"


def _music(truth: dict, row: ResultRow | None) -> Check | None:
    if not truth.get("notes") and (row is None or row.status != "ok"):
        return None
    measured = _transcribed(row.evidence) if row is not None and row.status == "ok" else _why(row)
    return Check("notes", _note_names(truth) or "no notes", measured, _status(row))


def _text(truth: dict, row: ResultRow | None) -> Check | None:
    texts = truth.get("texts", [])
    if not texts and (row is None or row.status != "ok"):
        return None
    shown = ", ".join(f"'{t['rendered']}'" + ("" if t["rendered"] == t["text"] else f" (garbled from '{t['text']}')")
                      for t in texts)
    if row is not None and row.status == "ok":
        ev = row.evidence
        read = [r.get("best_match") or "" for r in ev.get("required", []) if r.get("seen")]
        read += [o if isinstance(o, str) else str(o.get("text", o)) for o in ev.get("other_text", [])]
        measured = _quoted([r for r in read if r])
    else:
        measured = _why(row)
    return Check("on-screen text", shown or "no text", measured, _status(row))


def _faces(truth: dict, row: ResultRow | None) -> Check | None:
    if not truth.get("faces") and (row is None or row.status != "ok"):
        return None
    true = _count(len(truth.get("identities", [])), "identity", "identities")
    if row is not None and row.status == "ok":
        ev = row.evidence
        measured = f"{_count(ev.get('primary_ids', 0), 'identity', 'identities')} (stability {ev.get('stability', 0):.2f})"
    else:
        measured = _why(row)
    return Check("faces", true, measured, _status(row))


def _lip(truth: dict, row: ResultRow | None) -> Check | None:
    synced = [f for f in truth.get("faces", []) if f.get("lip_sync")]
    if not synced:
        return None
    true = f"|offset| {abs(synced[0].get('lip_offset_frames', 0))} frames"
    measured = f"|offset| {row.raw:.1f} frames" if row is not None and row.status == "ok" else _why(row)
    return Check("lip offset", true, measured, _status(row))


def _speech(truth: dict, row: ResultRow | None) -> Check | None:
    lines = (truth.get("spec") or {}).get("speech", [])
    if not lines and (row is None or row.status != "ok"):
        return None
    replaced = {s["element"] for s in truth.get("substituted", []) if s.get("used") == "babble"}
    true = []
    for k, line in enumerate(lines):
        if line.get("babble"):
            true.append("babble (no words)")
        elif f"speech[{k}]" in replaced:
            true.append(f"babble in place of '{line.get('text', '')}' (no TTS)")
        else:
            true.append(f"'{line.get('text', '')}'")
    if row is not None and row.status == "ok":
        ev = row.evidence
        if ev.get("wording_checked"):
            measured = f"heard '{ev.get('transcript', '')}'"
        else:
            seconds = (ev.get("vad") or {}).get("speech_seconds")
            heard = f"speech for {seconds:.1f} s" if isinstance(seconds, (int, float)) else "speech"
            measured = f"{heard}; wording not checked (lite: presence and timing only)"
    else:
        measured = _why(row)
    return Check("speech line", "; ".join(true) or "no speech", measured, _status(row))


def _notes(key: str, truth: dict) -> list[str]:
    out = []
    lines = (truth.get("spec") or {}).get("speech", [])
    for sub in truth.get("substituted", []):
        if sub.get("used") != "babble":
            continue
        k = int(sub["element"].split("[")[1].rstrip("]")) if "[" in sub.get("element", "") else None
        line = lines[k].get("text", "") if k is not None and k < len(lines) else ""
        out.append(f"{key}: the voice line '{line}' was replaced by babble: {sub.get('reason', '')}. "
                   "Its Speech, Lip and AV numbers measure babble, not the spoken line.")
    for skip in truth.get("skipped", []):
        out.append(f"{key}: {skip.get('element')} was left out of the clip: {skip.get('reason', '')}")
    return out


CHECKS = (("av", _av), ("music", _music), ("text", _text), ("face", _faces), ("lip", _lip), ("speech", _speech))


def truth_vs_measured(rows: list[ResultRow]) -> list[ClipTruth]:
    """One entry per clip of the rows: each known truth beside the stored measurement (see the module docstring)."""
    from .synthetic.generator import read_truth

    by_key: dict[str, dict[str, ResultRow]] = defaultdict(dict)
    for row in rows:
        by_key[row.video_key][row.dimension] = row
    out = []
    for key in sorted(by_key):
        dims = by_key[key]
        path = next((r.video_path for r in dims.values() if r.video_path), None)
        truth: dict[str, Any] | None = read_truth(path) if path else None
        clip = ClipTruth(key)
        if truth is None:
            clip.notes.append(f"{key}: no truth file beside the clip" if path else f"{key}: no clip was found")
        else:
            clip.checks = [c for dim, make in CHECKS if (c := make(truth, dims.get(dim))) is not None]
            clip.notes = _notes(key, truth)
        out.append(clip)
    return out


def truth_lines(clips: list[ClipTruth]) -> list[str]:
    """The comparison as plain lines for the terminal (notes on substituted voices last)."""
    lines = ["Truth vs measured (each synthetic clip's .truth.json beside the evidence stored for it; "
             "AV offset > 0: sound later than picture):"]
    for clip in clips:
        lines.append(f"  {clip.key}")
        for c in clip.checks:
            lines.append(f"    {c.what + ':':<16} true {c.truth} | measured {c.measured}")
        if not clip.checks and not clip.notes:
            lines.append("    nothing with a known truth to compare")
    notes = [n for clip in clips for n in clip.notes]
    lines += [f"note: {n}" for n in notes]
    return lines


def truth_of_run(out_dir, run: str) -> list[ClipTruth]:
    """truth_vs_measured for a stored run of synthetic clips."""
    from .store import Store

    with Store.open_existing(out_dir) as store:
        return truth_vs_measured(store.results(run))
