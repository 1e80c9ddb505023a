"""Rows that know what made them: the annotation parts and judge templates a row was measured against decide whether
resume keeps it; the store has a schema version, migrates older stores, and records prompts and the run's machine."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

import pytest
from typer.testing import CliRunner

from avgenbench.annotations import annotate_suite
from avgenbench.cli import app
from avgenbench.provenance import environment, row_context
from avgenbench.runner import Unit, _row_context
from avgenbench.store import DB_NAME, SCHEMA, SCHEMA_VERSION, Store, StoreVersionError
from avgenbench.suite import PromptItem, load_suite
from clipmaker import make_clip


@pytest.fixture()
def sign_workspace(tmp_path):
    suite = tmp_path / "suite"
    (suite / "prompts").mkdir(parents=True)
    items = [{"content": "shop sign", "prompt": "A shop door with a sign that reads 'OPEN' while a bell rings."},
             {"content": "street", "prompt": "A quiet street at dusk, a car passes."}]
    (suite / "prompts" / "signs.json").write_text(json.dumps(items))
    make_clip(tmp_path / "videos" / "signs" / "shop sign.mp4", duration=1.5)
    make_clip(tmp_path / "videos" / "signs" / "street.mp4", duration=1.5)
    return tmp_path


def _eval(ws, *extra) -> dict:
    args = ["eval", str(ws / "videos"), "--suite", str(ws / "suite"), "--out", str(ws / "out"), "--json",
            "--dimensions", "text,vis", *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout[result.stdout.index("{"):])


def test_a_changed_requirement_recomputes_the_rows_that_read_it(sign_workspace):
    first = _eval(sign_workspace)
    assert first["eval"]["units_run"] == 2
    with Store.open_existing(sign_workspace / "out") as store:
        text = {r.video_key: r for r in store.results() if r.dimension == "text"}
    assert "OPEN" in json.dumps(text["signs/shop sign"].evidence)
    frozen = annotate_suite(load_suite(sign_workspace / "suite"))
    assert frozen["items"]["signs/shop sign"]["required_text"] == ["OPEN"]
    frozen["items"]["signs/shop sign"]["required_text"] = ["CLOSED"]
    path = sign_workspace / "frozen.json"
    path.write_text(json.dumps(frozen))
    second = _eval(sign_workspace, "--annotations", str(path))
    # Only the Text row of the changed prompt is redone: Vis reads no annotation, the street's Text is unchanged.
    assert second["eval"]["units_run"] == 1 and second["eval"]["rows_written"] == 1
    with Store.open_existing(sign_workspace / "out") as store:
        redone = next(r for r in store.results() if r.dimension == "text" and r.video_key == "signs/shop sign")
    assert "CLOSED" in json.dumps(redone.evidence) and "OPEN" not in json.dumps(redone.evidence)
    assert _eval(sign_workspace, "--annotations", str(path))["eval"]["units_run"] == 0


def test_a_new_template_version_changes_the_context_of_judge_rows_only(monkeypatch):
    from avgenbench.judge import templates

    item = PromptItem("physics", 0, "glass", "A glass falls and shatters on a stone floor.")
    unit = Unit(item, None, ["hi_phy", "vis"], "paper", {"judge": {}}, {})
    before = _row_context("hi_phy", unit)
    real_load = templates.load

    def bumped(template_id):
        template = real_load(template_id)
        if template_id == "hi_phy.semantic":
            return dataclasses.replace(template, version=template.version + ".next")
        return template

    monkeypatch.setattr(templates, "load", bumped)
    assert before and _row_context("hi_phy", unit) != before
    lite = Unit(item, None, ["vis", "text"], "lite", {"required_text": ["X"]}, {})
    assert _row_context("vis", lite) == ""  # reads neither an annotation nor a judge
    assert _row_context("text", lite) != _row_context("text", Unit(item, None, ["text"], "lite", {"required_text": ["Y"]}, {}))


def test_row_context_covers_the_annotation_source_and_the_judges_prompt():
    base = row_context(("required_text",), {"required_text": ["A"], "source": "rules", "version": "1"}, [], "p")
    assert base != row_context(("required_text",), {"required_text": ["A"], "source": "judge", "version": "1"}, [], "p")
    assert base == row_context(("required_text",), {"required_text": ["A"], "source": "rules", "version": "1"}, [], "q")
    judged = row_context((), {}, ["hi_phy.visual@3"], "a prompt")
    assert judged != row_context((), {}, ["hi_phy.visual@3"], "another prompt")


def test_an_old_store_is_migrated_and_a_newer_one_refused(tmp_path):
    old = sqlite3.connect(tmp_path / DB_NAME)
    old.executescript(SCHEMA)  # version 1: no context, prompt or environment columns
    old.execute("INSERT INTO results VALUES ('r','c/v','vis','b','1','lite','c','v',NULL,NULL,'ok',0.5,50,'{}','',0,0)")
    old.commit()
    old.close()
    with Store(tmp_path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        (row,) = store.results("r")
        assert (row.raw, row.context) == (0.5, "")
    future = tmp_path / "future"
    future.mkdir()
    db = sqlite3.connect(future / DB_NAME)
    db.executescript(SCHEMA)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreVersionError, match="upgrade avgenbench"):
        Store(future)


def test_the_store_keeps_prompts_and_the_machine(sign_workspace):
    _eval(sign_workspace)
    with Store.open_existing(sign_workspace / "out") as store:
        prompts = {r["video_key"]: r["prompt"] for r in store.db.execute("SELECT video_key, prompt FROM media")}
        info = store.run_info("videos")
    assert prompts["signs/street"] == "A quiet street at dusk, a car passes."
    env = info["environment"]
    assert env["packages"]["numpy"] and env["python"] and isinstance(env["cpu_flags"], list)
    assert set(environment()["packages"]) >= {"numpy", "av", "onnxruntime"}
