"""The synthetic provider on the demo suite, and the generate command's resume (the API providers, the ledger and the
runner's retries are tested in test_generation.py)."""

from __future__ import annotations

from avgenbench import generation
from avgenbench.generation import Settings
from avgenbench.suite import demo_suite_path, load_suite
from avgenbench.synthetic.generator import read_truth


def test_synthetic_provider_renders_the_demo_suite(tmp_path):
    suite = load_suite(demo_suite_path())
    kinds = {k for i in suite.items for k in i.extra["synthetic"] if k in ("impacts", "notes", "texts", "faces", "speech")}
    assert kinds == {"impacts", "notes", "texts", "faces", "speech"} and len(suite.items) <= 8
    summary = generation.run(suite, tmp_path, "synthetic", settings=Settings(concurrency=1, retries=0))
    assert summary.counts == {"written": len(suite.items)}
    for it in suite.items:
        path = it.expected_video(tmp_path)
        truth = read_truth(path)
        assert path.is_file() and truth["spec"]["width"] == 640 and truth["video"]["duration"] <= 4.0
    arpeggio = next(i for i in suite.items if "Arpeggio" in i.content)
    assert [n["names"] for n in read_truth(arpeggio.expected_video(tmp_path))["notes"]] == [["C4"], ["E4"], ["G4"], ["C5"]]
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.mp4")}
    again = generation.run(suite, tmp_path, "synthetic")  # what the demo runs again: resumes, rewrites nothing
    assert again.counts == {"exists": len(suite.items)}
    assert all(p.stat().st_mtime_ns == before[p] for p in tmp_path.rglob("*.mp4")) and len(before) == len(suite.items)


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
