"""Everything the report shows about one run, as plain data for the template (no markup is made here)."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..scheme import DIMENSION_IDS, GROUPS, NOT_SCORED, SCHEME, Status, entry, status_kind
from ..score import ScoreCard, scheme2, scored_value
from ..store import ResultRow

SECRET_KEY = re.compile(r"api[_-]?key|secret|token|passw|authori[sz]ation|credential|bearer|cookie", re.I)
SECRET_VALUE = re.compile(r"\b(sk-[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{20,}|hf_[A-Za-z0-9]{20,})")
PROVENANCE_KEY = re.compile(r"judge|template|model|prompt_version|backend", re.I)
REDACTED = "[redacted]"
GALLERY_SIZE = 3
MAX_LIST, MAX_TEXT = 40, 2000

KIND_TEXT = {
    "scored": "scored",
    "video_fault": "fault of the video",
    "not_scored": "not scored",
    "tool_fault": "tool fault (excluded)",
}


def clean(value: Any, depth: int = 0) -> Any:
    """Evidence or config made safe and compact to show: secret-looking keys and values redacted, floats rounded,
    long strings and lists cut (with a note of how much was left out)."""
    if depth > 8:
        return "…"
    if isinstance(value, dict):
        return {str(k): (REDACTED if SECRET_KEY.search(str(k)) else clean(v, depth + 1)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [clean(v, depth + 1) for v in value[:MAX_LIST]]
        if len(value) > MAX_LIST:
            items.append(f"… {len(value) - MAX_LIST} more")
        return items
    if isinstance(value, float):
        return value if not math.isfinite(value) else float(f"{value:.4g}")
    if isinstance(value, str):
        value = SECRET_VALUE.sub(REDACTED, value)
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + f"… ({len(value) - MAX_TEXT} more characters)"
    return value


_WANTED = re.compile(r"expected|required|wanted|target")
_GOT = ("detected", "found", "seen", "recognized", "recognised", "read", "heard", "transcribed")


def _scalars(value: Any) -> list | None:
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
        return list(value)
    return [value] if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None


def comparisons(evidence: Any, depth: int = 0) -> list[dict]:
    """Expected-vs-found pairs in evidence (e.g. required_text / found_text, expected / detected): each expected item
    marked found or missing, plus what was found beyond it. Matching ignores case and surrounding spaces."""
    if not isinstance(evidence, dict) or depth > 2:
        return []
    out = []
    for key, value in evidence.items():
        match = _WANTED.search(key)
        wanted = _scalars(value) if match else None
        if match and wanted:
            rest = key[: match.start()] + "{}" + key[match.end():]
            for word in _GOT:
                got_key = rest.format(word)
                if got_key in evidence and got_key != key:
                    got = _scalars(evidence[got_key]) or []
                    norm = lambda v: str(v).strip().lower()  # noqa: E731
                    got_set = {norm(v) for v in got}
                    wanted_set = {norm(v) for v in wanted}
                    out.append({"expected_key": key, "found_key": got_key, "single": not isinstance(value, (list, tuple)),
                                "found_value": evidence[got_key],
                                "items": [{"value": v, "found": norm(v) in got_set} for v in wanted],
                                "extra": [v for v in got if norm(v) not in wanted_set]})
                    break
    for key, value in evidence.items():
        if isinstance(value, dict):
            out += [{**c, "expected_key": f"{key}.{c['expected_key']}", "found_key": f"{key}.{c['found_key']}"}
                    for c in comparisons(value, depth + 1)]
    return out


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return "—"
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _row_view(row: ResultRow, policy: str) -> dict:
    dim = entry(row.dimension)
    value = scored_value(row, policy)
    kind = status_kind(row.status)
    note = KIND_TEXT[kind]
    if kind == "video_fault":
        note = "scored as the worst value (strict policy)" if policy == "strict" else "dropped (reference policy)"
    return {
        "dim": row.dimension, "display": dim.display, "unit": dim.unit, "status": row.status, "kind": kind, "note": note,
        "raw": row.raw, "scored_raw": value, "score": None if value is None else dim.normalize(value),
        "backend": f"{row.backend} {row.backend_version}", "message": clean(row.message), "evidence": clean(row.evidence),
        "comparisons": comparisons(clean(row.evidence)),
    }


def _missing(group: list[ResultRow], media: dict | None) -> bool:
    """No video for this prompt: the eval recorded it missing."""
    if media and media.get("status") == Status.MISSING_VIDEO:
        return True
    return any(r.status == Status.MISSING_VIDEO for r in group)


def videos(rows: list[ResultRow], policy: str, prompts: dict[str, str], media: dict[str, dict]) -> list[dict]:
    """One entry per video: prompt, path, per-dimension rows, a Scheme-2 score over this video's dimensions, and
    whether the video is present (found by the eval), missing, or failing (present, with a fault of the video)."""
    by_key: dict[str, list[ResultRow]] = defaultdict(list)
    for row in rows:
        by_key[row.video_key].append(row)
    out = []
    order = {d: i for i, d in enumerate(DIMENSION_IDS)}
    for index, (key, group) in enumerate(sorted(by_key.items(), key=lambda kv: (kv[1][0].category, kv[0]))):
        views = [_row_view(r, policy) for r in sorted(group, key=lambda r: order.get(r.dimension, 99))]
        score, coverage = scheme2({v["dim"]: v["score"] for v in views})
        first = group[0]
        path = next((r.video_path for r in group if r.video_path), None) or (media.get(key) or {}).get("video_path")
        missing = _missing(group, media.get(key))
        faults = sum(1 for v in views if v["kind"] == "video_fault" and v["status"] != Status.MISSING_VIDEO)
        out.append({
            "key": key, "anchor": f"v{index}", "category": first.category, "content": first.content,
            "prompt": prompts.get(key), "video_path": None if missing else path,
            "media_status": (media.get(key) or {}).get("status"), "rows": views, "score": score, "coverage": coverage,
            "present": not missing, "missing": missing, "failing": not missing and faults > 0,
            "on_disk": bool(path) and not missing and Path(path).is_file(),
            "faults": faults,
            "tool_faults": sum(1 for v in views if v["kind"] == "tool_fault" and v["status"] != Status.UNAVAILABLE_IN_TIER),
            "not_scored": sum(1 for v in views if v["kind"] == "not_scored"),
        })
    return out


def opened_video(video_list: list[dict]) -> dict | None:
    """The video the report shows opened: the first one whose file exists (never a missing one); None if none does."""
    return next((v for v in video_list if v["on_disk"]), None)


def video_counts(video_list: list[dict]) -> dict[str, int]:
    return {"all": len(video_list), "present": sum(v["present"] for v in video_list),
            "missing": sum(v["missing"] for v in video_list), "failing": sum(v["failing"] for v in video_list)}


def gallery(video_list: list[dict]) -> dict:
    """Built from videos that exist: the lowest-scoring per dimension, and every fault of a present video (of the video
    or of the tool) grouped by (dimension, status, message). Missing videos are listed once, apart; statuses that
    are not scored and not a problem (not applicable, no events) are only counted, and dimensions the tier has no
    backend for are named once (by design, not a fault of a video)."""
    present = [v for v in video_list if v["present"]]
    lowest = {}
    for d in DIMENSION_IDS:
        scored = [(row["score"], video, row) for video in present for row in video["rows"]
                  if row["dim"] == d and row["score"] is not None]
        scored.sort(key=lambda t: (t[0], t[1]["key"]))
        lowest[d] = [{"video": video, "row": row} for _, video, row in scored[:GALLERY_SIZE]]
    groups: dict[tuple, list[dict]] = defaultdict(list)
    not_scored: dict[str, int] = defaultdict(int)
    unavailable: dict[str, int] = defaultdict(int)
    for video in present:
        for row in video["rows"]:
            if row["status"] in NOT_SCORED:
                not_scored[row["status"]] += 1
            elif row["status"] == Status.UNAVAILABLE_IN_TIER:
                unavailable[row["display"]] += 1
            elif row["status"] != Status.OK:
                groups[(row["dim"], row["status"], row["message"])].append(video)
    problems = [{"dim": d, "display": SCHEME[d].display if d in SCHEME else d, "status": s, "message": m,
                 "kind": status_kind(s), "videos": vs} for (d, s, m), vs in groups.items()]
    problems.sort(key=lambda p: (list(SCHEME).index(p["dim"]) if p["dim"] in SCHEME else 99, -len(p["videos"])))
    return {"lowest": lowest, "problems": problems, "missing": [v for v in video_list if v["missing"]],
            "not_scored": dict(sorted(not_scored.items())), "unavailable": dict(unavailable)}


def provenance(info: dict, rows: list[ResultRow], card: ScoreCard) -> dict:
    """How the numbers were made: tier, policy, dates, tool version, config, backends and judge/template identities."""
    backends: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    identities: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        backends[row.dimension][f"{row.backend} {row.backend_version}"] += 1
        for key, value in (row.evidence or {}).items():
            if PROVENANCE_KEY.search(key) and not SECRET_KEY.search(key) and isinstance(value, (str, int, float)):
                identities[f"{SCHEME[row.dimension].display if row.dimension in SCHEME else row.dimension}: {key}"].add(
                    str(clean(value))[:120])
    return {
        "run": info["run"], "tier": info["tier"], "policy": card.policy, "created": _when(info.get("created")),
        "updated": _when(info.get("updated")), "tool_version": info.get("tool_version") or "—",
        "videos_dir": info.get("videos_dir") or "—", "suite_dir": info.get("suite_dir") or "—",
        "config": clean(info.get("config") or {}), "ci": card.ci,
        "backends": {entry(d).display: dict(b) for d, b in sorted(backends.items(), key=lambda kv: list(SCHEME).index(kv[0]) if kv[0] in SCHEME else 99)},
        "identities": {k: sorted(v)[:10] for k, v in sorted(identities.items())},
    }


def suite_prompts(info: dict) -> dict[str, str] | None:
    """video_key -> prompt text from the run's suite; None when the suite cannot be read any more."""
    from ..suite import inspect_suite

    suite_dir = info.get("suite_dir")
    if not suite_dir or not (Path(suite_dir) / "prompts").is_dir():
        return None
    try:
        suite, _ = inspect_suite(suite_dir)
    except Exception:
        return None
    return {item.key: item.prompt for item in suite.items}


@dataclass
class Completeness:
    """How much of its suite a run covers: a complete run has a row for every prompt and every requested dimension."""

    suite_prompts: int | None  # None: neither recorded nor readable from the suite folder
    evaluated: int  # prompts with at least one row
    with_video: int  # evaluated prompts whose video was found
    dimensions: list[str]  # requested dimensions
    missing_rows: dict[str, int] = field(default_factory=dict)  # dimension -> prompts without a row for it
    not_evaluated: list[str] = field(default_factory=list)  # suite prompts (keys) without any row

    @property
    def complete(self) -> bool | None:
        if self.missing_rows:
            return False
        return None if self.suite_prompts is None else self.evaluated >= self.suite_prompts

    @property
    def text(self) -> str:
        if self.suite_prompts is None:
            return f"evaluated {self.evaluated} prompts (suite size unknown); {self.with_video} have a video"
        return f"evaluated {self.evaluated} of {self.suite_prompts} prompts; {self.with_video} have a video"

    @property
    def gaps(self) -> str:
        """Which dimensions lack rows, e.g. 'Vis 2, Text 3' (prompts without a row)."""
        return ", ".join(f"{SCHEME[d].display} {n}" for d, n in self.missing_rows.items())


def completeness(info: dict, rows: list[ResultRow], media: dict[str, dict], suite: dict[str, str] | None) -> Completeness:
    """From the store rows and the run record: the suite size (recorded, else read from the suite folder), the
    requested dimensions (recorded, else those with rows), and which prompts lack a row for which dimension."""
    config = info.get("config") or {}
    size = config.get("suite_prompts")
    if not isinstance(size, int):
        size = len(suite) if suite is not None else None
    asked = config.get("requested_dimensions") or config.get("dimensions") or []
    dims = [d for d in DIMENSION_IDS if d in asked] or [d for d in DIMENSION_IDS if any(r.dimension == d for r in rows)]
    by_key: dict[str, list[ResultRow]] = defaultdict(list)
    for row in rows:
        by_key[row.video_key].append(row)
    due = len(set(suite or ()) | set(by_key))
    due = max(due, size or 0)
    missing = {}
    for d in dims:
        n = due - len({r.video_key for r in rows if r.dimension == d})
        if n > 0:
            missing[d] = n
    with_video = sum(not _missing(group, media.get(key)) for key, group in by_key.items())
    never = sorted(set(suite or ()) - set(by_key))
    return Completeness(size, len(by_key), with_video, dims, missing, never)


def run_facts(info: dict, rows: list[ResultRow], media: dict[str, dict], suite: dict[str, str] | None,
              policy: str) -> dict:
    """What the report says beside a run's numbers: how complete it is and how many prompts each number rests on."""
    return {"completeness": completeness(info, rows, media, suite), "counts": scored_counts(rows, policy)}


def scored_counts(rows: list[ResultRow], policy: str) -> dict:
    """How many prompts each number rests on: per dimension, per group, per category × dimension, and in total."""
    per_dim: dict[str, set] = defaultdict(set)
    per_cat: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for row in rows:
        value = scored_value(row, policy)
        if value is not None and math.isfinite(value):
            per_dim[row.dimension].add(row.video_key)
            per_cat[row.category][row.dimension].add(row.video_key)
    groups = {g: len(set().union(*[per_dim[d] for d in DIMENSION_IDS if SCHEME[d].group == g]))
              for g in GROUPS}
    return {"dims": {d: len(per_dim[d]) for d in DIMENSION_IDS}, "groups": groups,
            "total": len(set().union(*per_dim.values())) if per_dim else 0,
            "categories": {c: {d: len(per_cat[c][d]) for d in DIMENSION_IDS} for c in per_cat},
            "category_totals": {c: len(set().union(*per_cat[c].values())) for c in per_cat}}
