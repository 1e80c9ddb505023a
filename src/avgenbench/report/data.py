"""Everything the report shows about one run, as plain data for the template (no markup is made here)."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

from ..dimensions import DIMENSION_IDS, DIMENSIONS
from ..dimensions.base import status_kind
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
    dim = DIMENSIONS[row.dimension]
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


def videos(rows: list[ResultRow], policy: str, prompts: dict[str, str], media: dict[str, dict]) -> list[dict]:
    """One entry per video: prompt, path, per-dimension rows and a Scheme-2 score over this video's dimensions."""
    by_key: dict[str, list[ResultRow]] = defaultdict(list)
    for row in rows:
        by_key[row.video_key].append(row)
    out = []
    for index, (key, group) in enumerate(sorted(by_key.items(), key=lambda kv: (kv[1][0].category, kv[0]))):
        order = {d: i for i, d in enumerate(DIMENSION_IDS)}
        views = [_row_view(r, policy) for r in sorted(group, key=lambda r: order.get(r.dimension, 99))]
        score, coverage = scheme2({v["dim"]: v["score"] for v in views})
        first = group[0]
        out.append({
            "key": key, "anchor": f"v{index}", "category": first.category, "content": first.content,
            "prompt": prompts.get(key), "video_path": first.video_path or (media.get(key) or {}).get("video_path"),
            "media_status": (media.get(key) or {}).get("status"), "rows": views, "score": score, "coverage": coverage,
            "problems": sum(1 for v in views if v["kind"] != "scored"),
        })
    return out


def gallery(video_list: list[dict]) -> dict:
    """Lowest-scoring videos per dimension, and every non-ok status grouped by (dimension, status, message)."""
    lowest = {}
    for d in DIMENSION_IDS:
        scored = [(row["score"], video, row) for video in video_list for row in video["rows"]
                  if row["dim"] == d and row["score"] is not None]
        scored.sort(key=lambda t: (t[0], t[1]["key"]))
        lowest[d] = [{"video": video, "row": row} for _, video, row in scored[:GALLERY_SIZE]]
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for video in video_list:
        for row in video["rows"]:
            if row["status"] != "ok":
                groups[(row["dim"], row["status"], row["message"])].append(video)
    problems = [{"dim": d, "display": DIMENSIONS[d].display if d in DIMENSIONS else d, "status": s, "message": m,
                 "kind": status_kind(s), "videos": vs} for (d, s, m), vs in groups.items()]
    problems.sort(key=lambda p: (list(DIMENSIONS).index(p["dim"]) if p["dim"] in DIMENSIONS else 99, -len(p["videos"])))
    return {"lowest": lowest, "problems": problems}


def provenance(info: dict, rows: list[ResultRow], card: ScoreCard) -> dict:
    """How the numbers were made: tier, policy, dates, tool version, config, backends and judge/template identities."""
    backends: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    identities: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        backends[row.dimension][f"{row.backend} {row.backend_version}"] += 1
        for key, value in (row.evidence or {}).items():
            if PROVENANCE_KEY.search(key) and not SECRET_KEY.search(key) and isinstance(value, (str, int, float)):
                identities[f"{DIMENSIONS[row.dimension].display if row.dimension in DIMENSIONS else row.dimension}: {key}"].add(
                    str(clean(value))[:120])
    return {
        "run": info["run"], "tier": info["tier"], "policy": card.policy, "created": _when(info.get("created")),
        "updated": _when(info.get("updated")), "tool_version": info.get("tool_version") or "—",
        "videos_dir": info.get("videos_dir") or "—", "suite_dir": info.get("suite_dir") or "—",
        "config": clean(info.get("config") or {}), "ci": card.ci,
        "backends": {DIMENSIONS[d].display: dict(b) for d, b in sorted(backends.items(), key=lambda kv: list(DIMENSIONS).index(kv[0]) if kv[0] in DIMENSIONS else 99)},
        "identities": {k: sorted(v)[:10] for k, v in sorted(identities.items())},
    }


def prompts_for(info: dict) -> dict[str, str]:
    """video_key -> prompt text from the run's suite, when the suite is still readable (else empty)."""
    from ..suite import inspect_suite

    suite_dir = info.get("suite_dir")
    if not suite_dir:
        return {}
    try:
        suite, _ = inspect_suite(suite_dir)
    except Exception:
        return {}
    return {item.key: item.prompt for item in suite.items}
