"""The `synthetic` generation provider, for the demo: prompts carrying a `synthetic` clip spec become real mp4s.

The provider interface and the resumable runner live in `avgenbench.generate`; the renderer in `generator.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..suite import PromptItem, Suite


def render_spec(spec: dict[str, Any], path: Path) -> Path:
    """Render one clip spec (see synthetic/spec.py) to `path`, with its `.truth.json` sidecar."""
    from .generator import render

    render(spec, path)
    return Path(path)


def generate_for_suite(suite: Suite, out_dir: Path | str, overwrite: bool = False) -> list[Path]:
    """Write <out>/<category>/<safe_filename(content)>.mp4 for every prompt that carries a synthetic spec."""
    from ..generate import SyntheticProvider, generate_suite

    results = generate_suite(suite, SyntheticProvider(), out_dir, overwrite=overwrite, retries=0)
    return [Path(r.path) for r in results if r.status in ("written", "exists")]


def can_render(item: PromptItem) -> bool:
    return isinstance(item.extra.get("synthetic"), dict)
