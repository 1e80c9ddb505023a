import sys
from pathlib import Path

from avgenbench.annotations import PromptAnnotation
from avgenbench.dimensions.base import ItemContext
from avgenbench.media import MediaNeeds, decode
from avgenbench.suite import PromptItem
from avgenbench.worker import SubprocessBackend
from clipmaker import make_clip

WORKER = Path(__file__).parent / "workers" / "brightness_worker.py"
sys.path.insert(0, str(WORKER.parent))
from brightness_worker import SPEC  # noqa: E402


def _backend():
    src = str(Path(__file__).resolve().parents[1] / "src")
    return SubprocessBackend([sys.executable, str(WORKER)], "brightness-worker", "1", "paper",
                             MediaNeeds(frames=(SPEC,)), timeout=60, env={"PYTHONPATH": src})


def test_out_of_process_backend_gets_the_decoded_media(tmp_path):
    clip = decode(make_clip(tmp_path / "c.mp4", duration=1.5), MediaNeeds(frames=(SPEC,)))
    item = PromptItem("ads", 0, "c", "a prompt")
    backend = _backend()
    try:
        m = backend.measure(clip, ItemContext(item, PromptAnnotation()))
        assert m.status == "ok", m.message
        expected = clip.frames_for(SPEC).images.mean() / 255.0
        assert abs(m.raw - expected) < 1e-9
        assert m.evidence == {"frames": 3, "prompt": "a prompt"}
        again = backend.measure(clip, ItemContext(item, PromptAnnotation()))  # the same worker serves many clips
        assert again.raw == m.raw
    finally:
        backend.close()


def test_a_crashing_worker_is_an_error_not_a_crash(tmp_path):
    clip = decode(make_clip(tmp_path / "c.mp4", duration=1.0), MediaNeeds(frames=(SPEC,)))
    backend = _backend()
    try:
        m = backend.measure(clip, ItemContext(PromptItem("ads", 0, "c", "p"), PromptAnnotation(), options={"crash": True}))
        assert m.status == "error" and "exited" in m.message
    finally:
        backend.close()


def test_missing_worker_program_is_reported():
    backend = SubprocessBackend(["/nonexistent/python"], "x", "1", "paper", MediaNeeds())
    assert "could not start" in backend.unavailable_reason({})
