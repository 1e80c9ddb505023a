"""Ground-truth probes for the Text dimension: clips with known on-screen strings and controlled damage.

`text_probes(out_dir)` writes one clean clip and its perturbations, and returns for each clean clip
{"path", "truth": {"strings"}, "annotation": PromptAnnotation dict, "perturbations": [{"name", "path", ...}]}.
Perturbations: garble-N (N letter substitutions per string: expected CER N/len, in "expected_cer"), partial (text only in the first
quarter), flicker (text on every other second), removed (no text at all: expected score 0).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..annotations import PromptAnnotation
from ..dimensions.text import normalize_text
from .encode import write_clip
from .text_render import draw_text, garble, text_size

PROBE_STRINGS = ("EIGHTY-SEVEN SECONDS", "Try it free")
GARBLE_EDITS = (1, 2, 4)


def _frames(strings: tuple[str, ...], width: int, height: int, seconds: float, fps: int,
            shown: Callable[[float], bool]) -> Iterator[np.ndarray]:
    """A moving gradient background with a drifting block; `strings` drawn centred while `shown(t)`."""
    ys, xs = np.mgrid[0:height, 0:width]
    size = max(16, height // 12)
    for i in range(int(round(seconds * fps))):
        t = i / fps
        image = np.empty((height, width, 3), np.uint8)
        image[..., 0] = (40 + 30 * np.sin(xs / 90.0 + t)).astype(np.uint8)
        image[..., 1] = (50 + 20 * np.cos(ys / 70.0 - t)).astype(np.uint8)
        image[..., 2] = 90
        x0 = int((t * 60) % max(1, width - width // 8))
        image[height - height // 5:height - height // 10, x0:x0 + width // 8] = (180, 160, 60)
        if shown(t):
            y = height // 5
            for k, text in enumerate(strings):
                scale = size if k == 0 else int(size * 0.8)
                w, _ = text_size(text, scale)
                draw_text(image, text, max(4, (width - w) // 2), y, scale,
                          color=(255, 255, 255) if k == 0 else (20, 20, 20), box=None if k == 0 else (250, 210, 40))
                y += int(scale * 2.2)
        yield image


def text_probes(out_dir: Path | str, width: int = 960, height: int = 540, seconds: float = 6.0,
                fps: int = 24, fast: bool = False) -> list[dict[str, Any]]:
    """Write the probe clips under `out_dir` and describe them (see the module docstring).
    `fast`: only the garble-1 and removed perturbations."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    strings = PROBE_STRINGS
    annotation = PromptAnnotation(required_text=list(strings)).model_dump(mode="json")

    def write(name: str, texts: tuple[str, ...], shown: Callable[[float], bool]) -> str:
        path = out / f"text_{name}.mp4"
        write_clip(path, _frames(texts, width, height, seconds, fps, shown), fps=fps)
        return str(path)

    always = lambda t: True  # noqa: E731
    clean = write("clean", strings, always)
    perturbations: list[dict[str, Any]] = []
    for edits in GARBLE_EDITS[:1] if fast else GARBLE_EDITS:
        damaged = tuple(garble(s, edits, seed=edits) for s in strings)
        perturbations.append({"name": f"garble-{edits}", "path": write(f"garble{edits}", damaged, always),
                              "strings": list(damaged), "edits_per_string": edits,
                              "expected_cer": [round(edits / len(normalize_text(s)), 4) for s in strings]})
    if not fast:
        perturbations.append({"name": "partial", "path": write("partial", strings, lambda t: t < seconds / 4),
                              "shown_seconds": seconds / 4})
        perturbations.append({"name": "flicker", "path": write("flicker", strings, lambda t: int(t) % 2 == 0)})
    perturbations.append({"name": "removed", "path": write("removed", (), always)})
    return [{"path": clean, "truth": {"strings": list(strings)}, "annotation": annotation,
             "perturbations": perturbations}]
