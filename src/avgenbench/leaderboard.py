"""Rank every run in a store, one table per tier (lite and paper numbers are never ranked together).

Published rows (a `total --raw` table of paper means) join the paper-tier table, labelled as published; they have no
per-prompt data and so no CI.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from .layers import layer_scores
from .scheme import DIMENSION_IDS, POLICIES, SCHEME, TIERS
from .score import Completeness, expectation_of, score_rows, totals_from_raw_table
from .stats import DEFAULT_DRAWS, DEFAULT_SEED
from .store import Store
from .numbers import fixed, interval

FULL_COVERAGE = 0.999
TIER_LABELS = {
    "paper": "Paper tier: the paper's models and an MLLM judge",
    "lite": "Lite tier: CPU proxies shipped in PyPI wheels; not comparable with paper-tier numbers",
}


@dataclass
class Entry:
    name: str
    source: str  # "run" or "published"
    tier: str
    total: float | None
    total_ci: tuple[float, float] | None
    coverage: float
    n_videos: int | None
    policy: str | None
    raw: dict[str, float | None]
    normalized: dict[str, float | None]
    normalized_ci: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    rank: int | None = None
    prompts: Completeness | None = None  # runs only: how much of the suite the rows cover

    @property
    def incomplete(self) -> bool:
        return self.prompts is not None and self.prompts.complete is False

    @property
    def partial(self) -> bool:
        return self.coverage < FULL_COVERAGE

    @property
    def label(self) -> str:
        marks = []
        if self.source == "published":
            marks.append("published")
        if self.partial:
            marks.append(f"partial coverage {self.coverage:.2f}")
        if self.incomplete and self.prompts is not None:
            of = f" of {self.prompts.suite_prompts}" if self.prompts.suite_prompts is not None else ""
            marks.append(f"INCOMPLETE: {self.prompts.evaluated}{of} prompts")
        return f"{self.name} ({', '.join(marks)})" if marks else self.name

    def as_dict(self) -> dict:
        r = lambda v: None if v is None else round(v, 4)  # noqa: E731
        ci = lambda c: None if c is None else [round(c[0], 4), round(c[1], 4)]  # noqa: E731
        return {
            "rank": self.rank, "name": self.name, "source": self.source, "tier": self.tier, "total": r(self.total),
            "total_ci": ci(self.total_ci), "coverage": round(self.coverage, 4), "partial": self.partial,
            "n_videos": self.n_videos, "failure_policy": self.policy,
            "prompts": self.prompts.as_dict() if self.prompts else None,
            "complete": self.prompts.complete if self.prompts else None,
            "dimensions": {d: {"raw": r(self.raw.get(d)), "normalized": r(self.normalized.get(d)),
                               "normalized_ci": ci(self.normalized_ci.get(d))} for d in DIMENSION_IDS},
            "beside_total": {d: r(v) for d, v in self.normalized.items() if d not in DIMENSION_IDS},  # ctrl: not in it
            "layers": {k: r(v) for k, v in layer_scores(self.normalized).items()},
        }


def run_entries(store: Store, policy: str | None = None, ci_draws: int = DEFAULT_DRAWS,
                seed: int = DEFAULT_SEED) -> list[Entry]:
    """One entry per run with results; each run under its own failure policy unless `policy` overrides it."""
    entries = []
    for info in store.runs():
        rows = store.results(info["run"])
        if not rows:
            continue
        run_policy = policy or info["config"].get("failure_policy", "strict")
        if run_policy not in POLICIES:
            run_policy = "strict"
        card = score_rows(rows, run_policy, info["run"], info["tier"], per_category=False, ci_draws=ci_draws, seed=seed,
                          expected=expectation_of(info))
        dims = card.dimensions
        entries.append(Entry(
            info["run"], "run", info["tier"], card.total, card.total_ci, card.coverage, card.n_videos, run_policy,
            {d: dims[d].raw_mean for d in DIMENSION_IDS},
            {d: dims[d].normalized for d in DIMENSION_IDS} | {d: s.normalized for d, s in card.beside.items()},
            {d: dims[d].normalized_ci for d in DIMENSION_IDS}, prompts=card.prompts))
    return entries


def published_entries(path: Path | str) -> list[Entry]:
    return [Entry(r["model"], "published", "paper", r["total"], None, r["coverage"], None, None,
                  r["raw"], r["normalized"]) for r in totals_from_raw_table(path)]


def rank(entries: list[Entry]) -> dict[str, list[Entry]]:
    """Tier -> entries sorted by total (best first), ranks set per tier; tiers without entries are left out."""
    tables: dict[str, list[Entry]] = {}
    for tier in sorted({e.tier for e in entries}, key=lambda t: TIERS.index(t) if t in TIERS else len(TIERS)):
        members = sorted((e for e in entries if e.tier == tier),
                         key=lambda e: (e.total is None, -(e.total or 0.0), e.name))
        for position, e in enumerate(members, start=1):
            e.rank = position if e.total is not None else None
        tables[tier] = members
    return tables


def build(store: Store | None, published: Path | str | None = None, policy: str | None = None,
          ci_draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED) -> dict[str, list[Entry]]:
    entries = run_entries(store, policy, ci_draws, seed) if store is not None else []
    if published:
        entries += published_entries(published)
    return rank(entries)


def tier_label(tier: str) -> str:
    return TIER_LABELS.get(tier, f"{tier} tier")


def as_json(tables: dict[str, list[Entry]]) -> dict:
    return {"tiers": {t: {"label": tier_label(t), "entries": [e.as_dict() for e in es]} for t, es in tables.items()},
            "note": "tiers are ranked separately; totals carry 95 % bootstrap CIs over prompts; published rows have none"}


def _num(value: float | None, digits: int) -> str:
    return fixed(value, digits, missing="")  # CSV and markdown cells stay empty for a missing value


def dimension_cell(e: Entry, d: str) -> str:
    """'score [CI] (raw)' for a leaderboard cell; '—' when the dimension was not measured."""
    if e.normalized.get(d) is None:
        return "—"
    ci = interval(e.normalized_ci.get(d), 0)
    return f"{e.normalized[d]:.1f}{' ' + ci if ci else ''} ({e.raw[d]:.3g})"


def as_markdown(tables: dict[str, list[Entry]]) -> str:
    displays = [SCHEME[d].display for d in DIMENSION_IDS]
    lines = []
    for tier, entries in tables.items():
        lines += [f"## {tier_label(tier)}", "",
                  "| rank | run | total | 95% CI | coverage | videos | " + " | ".join(displays) + " |",
                  "|---:|---|---:|---|---:|---:|" + "---:|" * len(displays)]
        for e in entries:
            name = e.label.replace("|", "\\|")
            cells = [dimension_cell(e, d) for d in DIMENSION_IDS]
            lines.append(f"| {e.rank or '—'} | {name} | {_num(e.total, 2) or '—'} | {interval(e.total_ci, 2) or 'n/a'} | "
                         f"{e.coverage:.2f} | {e.n_videos if e.n_videos is not None else '—'} | " + " | ".join(cells) + " |")
        lines += ["", "Dimension cells: normalised score [95 % CI] (raw mean). CI: bootstrap over prompts.", ""]
    return "\n".join(lines)


def as_csv(tables: dict[str, list[Entry]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    header = ["tier", "rank", "name", "source", "partial", "total", "total_ci_low", "total_ci_high", "coverage",
              "n_videos", "failure_policy", "complete", "prompts_evaluated", "prompts_in_suite", "prompts_with_video"]
    for d in DIMENSION_IDS:
        disp = SCHEME[d].display
        header += [f"{disp} raw", f"{disp} score", f"{disp} ci_low", f"{disp} ci_high"]
    writer.writerow(header)
    for tier, entries in tables.items():
        for e in entries:
            row = [tier, e.rank or "", e.name, e.source, e.partial, _num(e.total, 4),
                   _num(e.total_ci[0] if e.total_ci else None, 4), _num(e.total_ci[1] if e.total_ci else None, 4),
                   f"{e.coverage:.4f}", "" if e.n_videos is None else e.n_videos, e.policy or ""]
            p = e.prompts
            row += ["" if p is None or p.complete is None else p.complete, "" if p is None else p.evaluated,
                    "" if p is None or p.suite_prompts is None else p.suite_prompts, "" if p is None else p.with_video]
            for d in DIMENSION_IDS:
                ci = e.normalized_ci.get(d)
                row += [_num(e.raw.get(d), 4), _num(e.normalized.get(d), 4), _num(ci[0] if ci else None, 4),
                        _num(ci[1] if ci else None, 4)]
            writer.writerow(row)
    return buf.getvalue()
