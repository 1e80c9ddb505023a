"""The house around the dimensions: a judged dimension lives in its own module, judge/ is the engine only, media needs
are declared once, and the runner's prompt-only decision (applies) is not taken again inside measure."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from avgenbench.annotations import PromptAnnotation
from avgenbench.dimensions import get_backend, get_dimension
from avgenbench.dimensions.judged import AV_NEEDS, JUDGE_FRAMES, JudgedBackend
from avgenbench.runner import Unit, run_unit
from avgenbench.suite import PromptItem
from avgenbench.synthetic import speech as synth
from avgenbench.synthetic.encode import write_clip

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "avgenbench"
JUDGED = ("text", "face", "music", "speech", "lo_phy", "hi_phy", "holistic")


def _imports(path: Path) -> set[str]:
    """Modules a file imports, resolved to dotted names under avgenbench where relative."""
    found = set()
    package = ["avgenbench", *path.relative_to(PACKAGE).parent.parts]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_the_judge_package_is_the_engine_only():
    """judge/ imports neither the dimensions nor the annotations (cli.py, the Typer commands, is moving to cli/)."""
    for path in sorted((PACKAGE / "judge").glob("*.py")):
        if path.name == "cli.py":
            continue
        bad = {m for m in _imports(path) if m.startswith(("avgenbench.dimensions", "avgenbench.annotations"))}
        assert not bad, f"{path.name} imports {sorted(bad)}"
    assert not (PACKAGE / "judge" / "stages.py").exists() and not (PACKAGE / "judge" / "scoring.py").exists()


def test_judged_dimensions_share_one_backend_class():
    for dim_id in JUDGED:
        backend = get_backend(dim_id, "paper")
        inner = getattr(backend, "_judge", backend)  # Lo-Phy's paper entry holds its judge-based stand-in
        # Speech's subclass only adds where its transcriber runs; the judged flow itself is never rewritten
        assert isinstance(inner, JudgedBackend), dim_id
        assert all(getattr(type(inner), m) is getattr(JudgedBackend, m) for m in ("measure", "identity", "applies")), dim_id
        assert inner.templates and all(t.split(".")[0] in (dim_id, "prompt") for t in inner.templates), inner.templates


def test_media_needs_are_declared_once():
    """A backend states its own needs only when they differ from its dimension's; the judged dimensions' declared
    needs are what their judge stages read (frames for the judge, and sound for Holistic)."""
    for dim_id in JUDGED:
        dim = get_dimension(dim_id)
        for tier in dim.backends:
            own = get_backend(dim_id, tier).needs()
            assert own is None or own != dim.needs, (dim_id, tier)
    for dim_id in ("lo_phy", "hi_phy", "holistic"):
        assert JUDGE_FRAMES in get_dimension(dim_id).needs.frames, dim_id
    assert get_dimension("holistic").needs == AV_NEEDS and get_dimension("holistic").needs.needs_audio


def test_the_runner_decides_applies_once(tmp_path, monkeypatch):
    """run_unit asks applies() before decoding; measure() then trusts it instead of asking again."""
    sr = 48000
    audio = np.zeros(6 * sr, np.float32)
    audio[int(0.3 * sr):int(0.3 * sr) + int(5.4 * sr)] = synth.babble(5.4, sr, seed=4)
    frame = np.full((180, 320, 3), 70, np.uint8)
    path = write_clip(tmp_path / "babble.mp4", (frame for _ in range(72)), 12, audio, sr)
    backend = get_backend("speech", "lite")
    asked = []
    original = backend.applies
    monkeypatch.setattr(backend, "applies", lambda ctx: asked.append(ctx) or original(ctx))
    annotation = PromptAnnotation(speech_required=True).model_dump()
    unit = Unit(PromptItem("test", 0, "speech", "speech"), str(path), ["speech"], "lite", annotation,
                {"whisper_model": None})
    measured = run_unit(unit).measurements[0][3]
    assert measured.status == "ok" and measured.raw > 0, measured
    assert len(asked) == 1
