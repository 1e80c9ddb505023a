"""Totals say how much of the suite they cover: a run cut short by a crash is marked incomplete, never passed off as whole."""

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from avgenbench.cli import app
from clipmaker import make_clip

PROMPTS = ["one", "two", "three", "four", "five"]  # "five" has no video


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("complete")
    (root / "suite" / "prompts").mkdir(parents=True)
    (root / "suite" / "prompts" / "ads.json").write_text(json.dumps([{"content": c, "prompt": f"Scene {c}."} for c in PROMPTS]))
    for content in PROMPTS[:4]:
        make_clip(root / "model_x" / "ads" / f"{content}.mp4", duration=1.0, width=160, height=90)
    return root


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def eval_run(ws, out, dims, run="model_x", videos="model_x"):
    result = cli("eval", ws / videos, "--suite", ws / "suite", "--out", out, "--dimensions", dims, "--run", run, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def crash(out, run, *contents):
    """What a crash leaves: the prompts whose units had not finished have no rows."""
    db = sqlite3.connect(out / "avgenbench.sqlite")
    with db:
        for content in contents:
            db.execute("DELETE FROM results WHERE run=? AND content=?", (run, content))
    db.close()


@pytest.fixture(scope="module")
def stores(workspace, tmp_path_factory):
    """'whole': every prompt evaluated; 'cut': the same run after losing two prompts (one has no aud row either)."""
    whole, cut = tmp_path_factory.mktemp("whole"), tmp_path_factory.mktemp("cut")
    for out in (whole, cut):
        eval_run(workspace, out, "vis,aud")
    crash(cut, "model_x", "three", "four")
    db = sqlite3.connect(cut / "avgenbench.sqlite")
    with db:
        db.execute("DELETE FROM results WHERE content='two' AND dimension='aud'")
    db.close()
    return {"whole": whole, "cut": cut}


def test_a_complete_run_says_so(stores):
    card = json.loads(cli("score", stores["whole"], "--json").stdout)
    assert card["complete"] is True
    assert card["prompts"] == {"suite": 5, "evaluated": 5, "with_video": 4, "dimensions": ["vis", "aud"],
                               "missing_rows": {}, "complete": True}
    text = cli("score", stores["whole"]).output
    assert "evaluated 5 of 5 prompts; 4 have a video" in text and "INCOMPLETE" not in text


def test_a_crashed_run_is_marked_incomplete_in_text_and_json(stores):
    result = cli("score", stores["cut"], "--json")
    card = json.loads(result.stdout)
    assert card["complete"] is False
    assert card["prompts"]["evaluated"] == 3 and card["prompts"]["suite"] == 5 and card["prompts"]["with_video"] == 2
    assert card["prompts"]["missing_rows"] == {"vis": 2, "aud": 3}
    text = cli("score", stores["cut"]).output
    assert "evaluated 3 of 5 prompts; 2 have a video" in text
    assert "INCOMPLETE run" in text and "Aud 3" in text


def test_a_later_eval_of_fewer_dimensions_keeps_the_others_due(workspace, tmp_path):
    out = tmp_path / "out"
    eval_run(workspace, out, "vis,aud")
    eval_run(workspace, out, "vis")
    crash(out, "model_x")  # nothing lost yet
    card = json.loads(cli("score", out, "--json", "--draws", "0").stdout)
    assert card["prompts"]["dimensions"] == ["vis", "aud"] and card["complete"] is True
    db = sqlite3.connect(out / "avgenbench.sqlite")
    with db:
        db.execute("DELETE FROM results WHERE content='one' AND dimension='aud'")
    db.close()
    card = json.loads(cli("score", out, "--json", "--draws", "0").stdout)
    assert card["complete"] is False and card["prompts"]["missing_rows"] == {"aud": 1}


def test_leaderboard_marks_incomplete_runs(workspace, stores, tmp_path):
    import shutil

    out = tmp_path / "lb"
    shutil.copytree(stores["cut"], out)
    eval_run(workspace, out, "vis,aud", run="model_y")
    data = json.loads(cli("leaderboard", out, "--json", "--draws", "0").stdout)
    entries = {e["name"]: e for e in data["tiers"]["lite"]["entries"]}
    assert entries["model_x"]["complete"] is False and entries["model_x"]["prompts"]["evaluated"] == 3
    assert entries["model_y"]["complete"] is True and entries["model_y"]["prompts"]["suite"] == 5
    markdown = cli("leaderboard", out, "--markdown", "--draws", "0").stdout
    line = next(x for x in markdown.splitlines() if "model_x" in x)
    assert "model_x (partial coverage 0.20, INCOMPLETE: 3 of 5 prompts)" in line
    compared = cli("compare", out, "--run", "model_x", "--run", "model_y", "--draws", "20")
    assert compared.exit_code == 0, compared.output
    text = " ".join(compared.stdout.split())
    assert "A 'model_x': evaluated 3 of 5 prompts; 2 have a video; INCOMPLETE run" in text
    assert "B 'model_y': evaluated 5 of 5 prompts; 4 have a video" in text
    assert "compared on the 3 prompts both runs have" in text
    as_json = json.loads(cli("compare", out, "--run", "model_x", "--run", "model_y", "--draws", "20", "--json").stdout)
    assert as_json["shared_prompts"] == 3 and as_json["prompts"]["a"]["complete"] is False
    assert as_json["prompts"]["b"]["complete"] is True
