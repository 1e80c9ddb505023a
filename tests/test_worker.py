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


def test_the_worker_takes_the_prompt_only_decision(tmp_path):
    """The evaluating process holds only a proxy, so the worker asks the backend's applies() itself, once, and
    measures only when it returns None (in process, the runner does the same)."""
    import io
    import json

    from avgenbench.dimensions.base import Backend, Measurement
    from avgenbench.worker import _item_to_json, save_media, serve

    class NeedsText(Backend):
        name, version, tier = "needs-text", "1", "paper"

        def applies(self, ctx):
            return None if ctx.annotation.required_text else Measurement("not_applicable", message="no text asked")

        def measure(self, clip, ctx):
            return Measurement("ok", float(len(clip.frames_for(SPEC))))

    clip = decode(make_clip(tmp_path / "c.mp4", duration=1.0), MediaNeeds(frames=(SPEC,)))
    specs = save_media(clip, MediaNeeds(frames=(SPEC,)), tmp_path / "m.npz")
    item = PromptItem("ads", 0, "c", "p")

    def request(annotation: PromptAnnotation) -> str:
        return json.dumps({"op": "measure", "media": str(tmp_path / "m.npz"), "frame_specs": specs,
                           "clip": {**clip.summary(), "path": str(clip.path)}, "item": _item_to_json(item),
                           "annotation": annotation.model_dump(), "options": {}})

    out = io.StringIO()
    serve(NeedsText(), io.StringIO(request(PromptAnnotation()) + "\n" + request(PromptAnnotation(required_text=["X"])) + "\n"), out)
    replies = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["status"] for r in replies] == ["not_applicable", "ok"] and replies[1]["raw"] == 2.0
