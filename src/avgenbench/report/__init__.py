"""One self-contained HTML report of a results store: leaderboard, charts, drill-down, failures, provenance.

Rendered with Jinja2 (autoescape on, so prompts, OCR text and judge answers show as text) from templates/; every image
is an inline data: URI and a Content-Security-Policy forbids loading anything else, so the file opens offline.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from ..scheme import DIMENSION_IDS, GROUPS, POLICIES, SCHEME
from ..stats import DEFAULT_DRAWS, DEFAULT_SEED
from ..store import Store
from .plots import n_label
from ..layers import LAYER_NAMES, card_layers
from ..numbers import fixed, interval

TEMPLATES = Path(__file__).parent / "templates"


def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      extensions=["jinja2.ext.do"],
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = fixed
    env.filters["ci"] = interval
    env.filters["ci_n"] = _interval_text
    env.filters["humanize"] = lambda k: str(k).replace("_", " ")
    env.tests["scalar"] = lambda v: v is None or isinstance(v, (str, int, float, bool))
    return env


def _interval_text(ci, n: int | None, digits: int = 1) -> str:
    """'[a, b]' for an interval over at least two prompts; 'n = 1, no interval' below that (one prompt resampled
    gives a zero-width interval that says nothing)."""
    if n is not None and n < 2:
        return f"n = {n}, no interval" if n == 1 else ""
    return interval(ci, digits)


def _redact_environment_secrets(html: str) -> str:
    """Last guard: a value of a secret-named environment variable never reaches the file, even if a backend stored it."""
    from ..secrets import redact

    return redact(html)


def _policy(info: dict) -> str:
    policy = info["config"].get("failure_policy", "strict")
    return policy if policy in POLICIES else "strict"


def _facts(store: Store, info: dict) -> dict:
    from . import data

    rows, media, suite = store.results(info["run"]), store.media(info["run"]), data.suite_prompts(info)
    return {"rows": rows, "media": media, "suite": suite,
            **data.run_facts(info, rows, media, suite, _policy(info))}


def _run_section(info: dict, facts: dict, media: bool, ci_draws: int, seed: int) -> dict:
    from ..score import score_rows
    from . import data, plots
    from .media_preview import preview

    rows, policy = facts["rows"], _policy(info)
    card = score_rows(rows, policy, info["run"], info["tier"], ci_draws=ci_draws, seed=seed)
    videos = data.videos(rows, policy, facts["suite"] or {}, facts["media"])
    for video in videos:
        video["preview"] = preview(video["video_path"]) if media else None
    counts = facts["counts"]
    return {
        "info": info, "card": card, "anchor": f"run-{re.sub(r'[^A-Za-z0-9_-]', '_', info['run'])}",
        "bars": plots.dimension_bars(card) if rows else None,
        "heatmap": plots.category_heatmap(card, counts["categories"]) if rows else None,
        "videos": videos, "opened": data.opened_video(videos), "video_counts": data.video_counts(videos),
        "completeness": facts["completeness"], "counts": counts,
        "gallery": data.gallery(videos), "provenance": data.provenance(info, rows, card),
        "layers": card_layers(card), "layer_names": LAYER_NAMES,
    }


def build_report(out_dir: Path | str, output: Path | str, runs: list[str] | None = None, published: Path | str | None = None,
                 media: bool = True, ci_draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED,
                 now: datetime | None = None) -> Path:
    """Write the report for `runs` (default: every run in the store) to `output` and return its path."""
    from .. import leaderboard as lb

    output = Path(output)
    with Store.open_existing(out_dir) as store:
        known = [r["run"] for r in store.runs()]
        selected = runs or known
        unknown = [r for r in selected if r not in known]
        if unknown:
            raise LookupError(f"no run {', '.join(map(repr, unknown))} in {out_dir}; runs: {', '.join(known) or 'none'}")
        tables = lb.build(store, published, None, ci_draws, seed)
        infos = {info["run"]: info for info in store.runs()}
        facts = {name: _facts(store, info) for name, info in infos.items()}
        sections = [_run_section(infos[name], facts[name], media, ci_draws, seed) for name in selected]
    html = _environment().get_template("report.html.j2").render(
        tables=tables, tier_label=lb.tier_label, sections=sections, facts=facts, n_label=n_label,
        dims=[SCHEME[d] for d in DIMENSION_IDS],
        groups=GROUPS, version=__version__, generated=(now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC"),
        store=str(Path(out_dir) / "avgenbench.sqlite"), published=str(published) if published else None,
        ci_draws=ci_draws, seed=seed)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(_redact_environment_secrets(html), encoding="utf-8")
    return output
