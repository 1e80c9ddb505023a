"""Charts for the report (matplotlib, no pyplot state), returned as PNG data: URIs."""

from __future__ import annotations

import base64
import io

import numpy as np

from ..scheme import DIMENSION_IDS, SCHEME
from ..score import ScoreCard

GROUP_COLOURS = {"basic": "#4C78A8", "cross": "#F58518", "fine": "#54A24B"}


def _uri(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def n_label(n: int, ci) -> str:
    """What a number rests on: 'n = 7', or 'n = 1, no interval' (no interval from fewer than two prompts)."""
    return f"n = {n}" if n >= 2 and ci else f"n = {n}, no interval"


def bars_figure(card: ScoreCard):
    """Horizontal bars: each dimension's 0–100 score with its 95 % CI and its n, coloured by group; gaps say
    'no score'. Whiskers only where at least two prompts were scored (one prompt gives no interval)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    fig = Figure(figsize=(6.8, 3.8))
    ax = fig.add_subplot()
    labels = [SCHEME[d].display for d in DIMENSION_IDS][::-1]
    ys = np.arange(len(labels))
    for y, d in zip(ys, DIMENSION_IDS[::-1]):
        s = card.dimensions[d]
        if s.normalized is None:
            ax.text(1, y, "no score (n = 0)", va="center", fontsize=8, color="#777")
            continue
        ax.barh(y, s.normalized, color=GROUP_COLOURS.get(s.group, "#888"), height=0.65)
        ci = s.normalized_ci if s.n >= 2 else None
        if ci:
            lo, hi = ci
            ax.errorbar(s.normalized, y, xerr=[[s.normalized - lo], [hi - s.normalized]], fmt="none", ecolor="black",
                        capsize=3, lw=1)
        inside = s.normalized > 88  # no room on the right: write the score inside the bar
        x, label_y = (s.normalized - 1.5, y) if inside else (s.normalized + 1.5, y + 0.28)
        ax.text(x, label_y, f"{s.normalized:.1f}", fontsize=7, va="center", ha="right" if inside else "left",
                color="white" if inside else "black")
        ax.text(1.02, y, n_label(s.n, ci), fontsize=7, va="center", color="#555", transform=ax.get_yaxis_transform())
    ax.set_yticks(ys, labels)
    ax.set_xlim(0, 105)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_xlabel("score 0–100 (higher is better); whiskers: 95 % CI; n: prompts scored")
    ax.legend(handles=[Patch(color=c, label=f"{g} group") for g, c in GROUP_COLOURS.items()], loc="upper center",
              bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def dimension_bars(card: ScoreCard) -> str:
    return _uri(bars_figure(card))


def heatmap_figure(card: ScoreCard, counts: dict[str, dict[str, int]] | None = None):
    """Category × dimension matrix of normalised scores with the score and its n written in; grey: no score."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    categories = list(card.categories)
    if not categories:
        return None
    counts = counts or {}
    data = np.array([[np.nan if card.categories[c]["dimensions"].get(d) is None else card.categories[c]["dimensions"][d]
                      for d in DIMENSION_IDS] for c in categories], dtype=float)
    fig = Figure(figsize=(7.5, 0.5 * len(categories) + 1.5))
    ax = fig.add_subplot()
    cmap = colormaps["RdYlGn"].with_extremes(bad="#dddddd")
    image = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=0, vmax=100, aspect="auto")
    for i, c in enumerate(categories):
        for j, d in enumerate(DIMENSION_IDS):
            n = counts.get(c, {}).get(d, 0)
            text = "—" if np.isnan(data[i, j]) else f"{data[i, j]:.0f}"
            colour = "white" if not np.isnan(data[i, j]) and not 15 <= data[i, j] <= 85 else "black"
            ax.text(j, i - 0.12, text, ha="center", va="center", fontsize=8, color=colour)
            ax.text(j, i + 0.25, f"n={n}", ha="center", va="center", fontsize=5.5, color=colour)
    ax.set_xticks(range(len(DIMENSION_IDS)), [SCHEME[d].display for d in DIMENSION_IDS], rotation=45, ha="right")
    ax.set_yticks(range(len(categories)), [f"{c} ({card.categories[c]['n_videos']})" for c in categories])
    ax.set_title("score 0–100 per category; n = prompts scored in the cell", fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.03, label="score 0–100")
    return fig


def category_heatmap(card: ScoreCard, counts: dict[str, dict[str, int]] | None = None) -> str | None:
    fig = heatmap_figure(card, counts)
    return None if fig is None else _uri(fig)
