"""Charts for the report (matplotlib, no pyplot state), returned as PNG data: URIs."""

from __future__ import annotations

import base64
import io

import numpy as np

from ..dimensions import DIMENSION_IDS, DIMENSIONS
from ..score import ScoreCard

GROUP_COLOURS = {"basic": "#4C78A8", "cross": "#F58518", "fine": "#54A24B"}


def _uri(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def dimension_bars(card: ScoreCard) -> str:
    """Horizontal bars: each dimension's 0–100 score with its 95 % CI, coloured by group; gaps say 'no score'."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    fig = Figure(figsize=(6.4, 3.8))
    ax = fig.add_subplot()
    labels = [DIMENSIONS[d].display for d in DIMENSION_IDS][::-1]
    ys = np.arange(len(labels))
    for y, d in zip(ys, DIMENSION_IDS[::-1]):
        s = card.dimensions[d]
        if s.normalized is None:
            ax.text(1, y, "no score", va="center", fontsize=8, color="#777")
            continue
        ax.barh(y, s.normalized, color=GROUP_COLOURS.get(s.group, "#888"), height=0.65)
        if s.normalized_ci:
            lo, hi = s.normalized_ci
            ax.errorbar(s.normalized, y, xerr=[[s.normalized - lo], [hi - s.normalized]], fmt="none", ecolor="black",
                        capsize=3, lw=1)
        ax.text(min(s.normalized, 100) + 1.5, y + 0.28, f"{s.normalized:.1f}", fontsize=7, va="center")
    ax.set_yticks(ys, labels)
    ax.set_xlim(0, 105)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_xlabel("score 0–100 (higher is better); whiskers: 95 % CI")
    ax.legend(handles=[Patch(color=c, label=f"{g} group") for g, c in GROUP_COLOURS.items()], loc="upper center",
              bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _uri(fig)


def category_heatmap(card: ScoreCard) -> str | None:
    """Category × dimension matrix of normalised scores with the numbers written in; grey where there is no score."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    categories = list(card.categories)
    if not categories:
        return None
    data = np.array([[np.nan if card.categories[c]["dimensions"].get(d) is None else card.categories[c]["dimensions"][d]
                      for d in DIMENSION_IDS] for c in categories], dtype=float)
    fig = Figure(figsize=(7.5, 0.42 * len(categories) + 1.4))
    ax = fig.add_subplot()
    cmap = colormaps["RdYlGn"].with_extremes(bad="#dddddd")
    image = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=0, vmax=100, aspect="auto")
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            text = "—" if np.isnan(data[i, j]) else f"{data[i, j]:.0f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(DIMENSION_IDS)), [DIMENSIONS[d].display for d in DIMENSION_IDS], rotation=45, ha="right")
    ax.set_yticks(range(len(categories)), [f"{c} ({card.categories[c]['n_videos']})" for c in categories])
    fig.colorbar(image, ax=ax, fraction=0.03, label="score 0–100")
    return _uri(fig)
