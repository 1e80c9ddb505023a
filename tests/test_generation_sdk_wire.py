"""Cross-check of the REST providers against the providers' official SDKs: each SDK (when installed) sends a job to
the same loopback server, which must answer it in a shape the SDK accepts, and the SDK's submit and poll must hit
the paths (and, where the SDK sets them, the fields) our provider sends. This checks that the loopback servers of
tests/test_generation.py speak the real protocols and that our requests match what the official clients send.
The SDKs are not dependencies: each check is skipped without its SDK."""

from __future__ import annotations

import pytest

from avgenbench import generation
from avgenbench.generation import Options
from avgenbench.suite import PromptItem

from gen_loopback import Loopback
from gen_protocols import SECRET, make_protocol

VIDEO = b"\x00" * 64
ITEM = PromptItem("ads", 0, "Wire check", "P: a scene with sound.")


def ours(name: str, monkeypatch) -> tuple[Loopback, list]:
    """What our provider sends for ITEM: (method, path, body) of its submit and first poll."""
    for var, value in make_protocol(name, VIDEO).env.items():
        monkeypatch.setenv(var, value)
    with Loopback(make_protocol(name, VIDEO), VIDEO) as server:
        provider = generation.make_provider(name, Options(), base_url=server.url)
        provider.poll(provider.submit(ITEM))
    return server, [(m, p, b) for m, p, _, b in server.log]


def test_replicate_sdk(monkeypatch):
    replicate = pytest.importorskip("replicate")
    _, mine = ours("replicate", monkeypatch)
    with Loopback(make_protocol("replicate", VIDEO), VIDEO) as server:
        client = replicate.Client(api_token=SECRET, base_url=server.url)
        prediction = client.models.predictions.create(model="google/veo-3.1", input=mine[0][2]["input"])
        while client.predictions.get(prediction.id).status != "succeeded":
            pass
        done = client.predictions.get(prediction.id)
    theirs = [(m, p, b) for m, p, _, b in server.log]
    assert theirs[0][:2] == mine[0][:2] and theirs[0][2]["input"] == mine[0][2]["input"]
    assert theirs[1][:2] == ("GET", mine[1][1].replace(mine[1][1].rsplit("/", 1)[1], prediction.id))
    assert done.output.endswith(f"/files/{prediction.id}.mp4")


def test_runway_sdk(monkeypatch):
    runwayml = pytest.importorskip("runwayml")
    _, mine = ours("runway", monkeypatch)
    body = mine[0][2]
    with Loopback(make_protocol("runway", VIDEO), VIDEO) as server:
        client = runwayml.RunwayML(api_key=SECRET, base_url=server.url)
        task = client.text_to_video.create(model=body["model"], prompt_text=body["promptText"], ratio=body["ratio"],
                                           duration=body["duration"], audio=body["audio"])
        while client.tasks.retrieve(task.id).status != "SUCCEEDED":
            pass
        output = client.tasks.retrieve(task.id).output
    theirs = [(m, p, b) for m, p, _, b in server.log]
    assert theirs[0] == mine[0]  # same path and the very same body
    assert theirs[1][:2] == ("GET", f"/v1/tasks/{task.id}") and mine[1][1].startswith("/v1/tasks/")
    assert output[0].endswith(f"/files/{task.id}.mp4")


def test_dashscope_sdk(monkeypatch):
    dashscope = pytest.importorskip("dashscope")
    from dashscope import VideoSynthesis

    _, mine = ours("wan", monkeypatch)
    body = mine[0][2]
    with Loopback(make_protocol("wan", VIDEO), VIDEO) as server:
        monkeypatch.setattr(dashscope, "base_http_api_url", server.url + "/api/v1")
        started = VideoSynthesis.async_call(model=body["model"], prompt=body["input"]["prompt"],
                                            size=body["parameters"]["size"], duration=body["parameters"]["duration"],
                                            api_key=SECRET)
        assert started.status_code == 200, started
        while (polled := VideoSynthesis.fetch(started, api_key=SECRET)).output.task_status != "SUCCEEDED":
            assert polled.status_code == 200, polled
    theirs = [(m, p, b) for m, p, _, b in server.log]
    assert theirs[0][:2] == mine[0][:2] and theirs[0][2]["model"] == body["model"]
    assert {k: theirs[0][2]["parameters"][k] for k in ("size", "duration")} == {"size": "1280*720", "duration": 10}
    assert theirs[1][:2] == ("GET", f"/api/v1/tasks/{started.output.task_id}") and mine[1][1].startswith("/api/v1/tasks/")
    assert polled.output.video_url.endswith(".mp4")


def test_fal_sdk(monkeypatch):
    fal_client = pytest.importorskip("fal_client")
    import fal_client.client as fal_module

    _, mine = ours("fal", monkeypatch)
    with Loopback(make_protocol("fal", VIDEO), VIDEO) as server:
        monkeypatch.setattr(fal_module, "QUEUE_URL_FORMAT", server.url + "/")  # the SDK only speaks https
        client = fal_client.SyncClient(key=SECRET)
        handle = client.submit("fal-ai/veo3.1", arguments=mine[0][2])
        while type(client.status("fal-ai/veo3.1", handle.request_id)).__name__ != "Completed":
            pass
        result = client.result("fal-ai/veo3.1", handle.request_id)
    theirs = [(m, p, b) for m, p, _, b in server.log]
    assert theirs[0] == mine[0]
    assert theirs[1][:2] == ("GET", f"/fal-ai/veo3.1/requests/{handle.request_id}/status")
    assert mine[1][1].endswith("/status") and result["video"]["url"].endswith(".mp4")


def test_ark_sdk(monkeypatch):
    pytest.importorskip("volcenginesdkarkruntime")
    from volcenginesdkarkruntime import Ark

    _, mine = ours("seedance", monkeypatch)
    body = mine[0][2]
    with Loopback(make_protocol("seedance", VIDEO), VIDEO) as server:
        client = Ark(base_url=server.url + "/api/v3", api_key=SECRET)
        task = client.content_generation.tasks.create(**body)  # every field we send is a named SDK parameter
        while client.content_generation.tasks.get(task_id=task.id).status != "succeeded":
            pass
        done = client.content_generation.tasks.get(task_id=task.id)
    theirs = [(m, p, b) for m, p, _, b in server.log]
    sent = {k: v for k, v in theirs[0][2].items() if v is not None}  # the SDK sends unset fields as null
    assert theirs[0][:2] == mine[0][:2] and sent == body
    assert theirs[1][:2] == ("GET", f"/api/v3/contents/generations/tasks/{task.id}")
    assert done.content.video_url.endswith(".mp4")

