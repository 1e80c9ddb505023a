"""Generation providers and the resumable runner; the synthetic provider on the demo suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from avgenbench.generate import (Provider, ProviderError, SyntheticProvider, UnsupportedPrompt, generate_one,
                                 generate_suite, get_provider)
from avgenbench.media import MediaNeeds, decode
from avgenbench.suite import PromptItem, demo_suite_path, load_suite
from avgenbench.synthetic.encode import write_clip
from avgenbench.synthetic.generator import read_truth
from avgenbench.synthetic.provider import generate_for_suite

import numpy as np


class Flaky(Provider):
    """Fails `failures` times with a retryable error, then writes a real tiny clip."""

    name = "flaky"

    def __init__(self, failures: int):
        self.failures, self.calls = failures, 0

    def generate(self, item: PromptItem, out_path: Path) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            out_path.write_bytes(b"half a file")
            raise ProviderError("HTTP 503")
        write_clip(out_path, [np.zeros((32, 32, 3), np.uint8)] * 12, 12)


def item(content="A prompt", extra=None) -> PromptItem:
    return PromptItem("ads", 0, content, "a prompt", extra or {})


def test_retries_with_backoff_then_writes(tmp_path):
    sleeps = []
    provider = Flaky(failures=2)
    result = generate_one(provider, item(), tmp_path, retries=3, backoff=0.5, sleep=sleeps.append)
    assert result.status == "written" and result.attempts == 3 and sleeps == [0.5, 1.0]
    assert decode(result.path, MediaNeeds(needs_video=True)).ok
    assert sorted(p.name for p in (tmp_path / "ads").iterdir()) == ["A prompt.mp4"]  # no partial files left


def test_gives_up_after_retries_and_leaves_no_file(tmp_path):
    result = generate_one(Flaky(failures=10), item(), tmp_path, retries=2, backoff=0.1, sleep=lambda s: None)
    assert result.status == "failed" and result.attempts == 3 and "HTTP 503" in result.message
    assert list((tmp_path / "ads").iterdir()) == []


def test_resume_skips_existing_and_unsupported_is_not_retried(tmp_path):
    provider = Flaky(failures=0)
    assert generate_one(provider, item(), tmp_path).status == "written"
    assert generate_one(provider, item(), tmp_path).status == "exists" and provider.calls == 1
    assert generate_one(provider, item(), tmp_path, overwrite=True).status == "written" and provider.calls == 2
    unsupported = generate_one(SyntheticProvider(), item("No spec"), tmp_path)
    assert unsupported.status == "unsupported"

    class Refuses(Provider):
        name = "refuses"
        def generate(self, item, out_path):
            raise UnsupportedPrompt("no")
    assert generate_one(Refuses(), item("Other"), tmp_path, sleep=pytest.fail).status == "unsupported"
    with pytest.raises(KeyError, match="unknown provider"):
        get_provider("sora-17")


def test_synthetic_provider_renders_the_demo_suite(tmp_path):
    suite = load_suite(demo_suite_path())
    kinds = {k for i in suite.items for k in i.extra["synthetic"] if k in ("impacts", "notes", "texts", "faces", "speech")}
    assert kinds == {"impacts", "notes", "texts", "faces", "speech"} and len(suite.items) <= 8
    results = generate_suite(suite, get_provider("synthetic"), tmp_path)
    assert [r.status for r in results] == ["written"] * len(suite.items)
    for it in suite.items:
        path = it.expected_video(tmp_path)
        truth = read_truth(path)
        assert path.is_file() and truth["spec"]["width"] == 640 and truth["video"]["duration"] <= 4.0
    arpeggio = next(i for i in suite.items if "Arpeggio" in i.content)
    assert [n["names"] for n in read_truth(arpeggio.expected_video(tmp_path))["notes"]] == [["C4"], ["E4"], ["G4"], ["C5"]]
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.mp4")}
    paths = generate_for_suite(suite, tmp_path)  # the demo's entry point: resumes, rewrites nothing
    assert sorted(paths) == sorted(before) and all(p.stat().st_mtime_ns == before[p] for p in paths)


def test_generate_command_writes_then_resumes(tmp_path):
    import json

    from typer.testing import CliRunner

    from avgenbench.cli import app

    suite = tmp_path / "suite"
    (suite / "prompts").mkdir(parents=True)
    (suite / "prompts" / "sports.json").write_text(json.dumps([
        {"content": "Ball", "prompt": "A ball bounces.", "synthetic": {"width": 160, "height": 90, "duration": 1.0, "impacts": [0.5]}},
        {"content": "No spec", "prompt": "Something a renderer cannot draw."}]))
    args = ["generate", str(tmp_path / "videos"), "--suite", str(suite), "--json"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0 and json.loads(first.stdout)["counts"] == {"written": 1, "unsupported": 1}
    assert read_truth(tmp_path / "videos" / "sports" / "Ball.mp4")["impacts"][0]["time"] == 0.5
    second = CliRunner().invoke(app, args)
    assert json.loads(second.stdout)["counts"] == {"exists": 1, "unsupported": 1}
    assert CliRunner().invoke(app, args + ["--provider", "nope"]).exit_code == 2
