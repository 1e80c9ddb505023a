"""Leaderboard: per-tier ranking, partial-coverage marks, published rows, and the four output formats."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from typer.testing import CliRunner

from avgenbench import leaderboard as lb
from avgenbench.cli import app
from avgenbench.dimensions import DIMENSION_IDS
from avgenbench.score import score_rows
from avgenbench.store import Store
from stored_rows import full_rows, write_run

runner = CliRunner()
N = 12


def _all_dims(level: float) -> dict[str, list[float]]:
    """Every dimension at the same relative level (0..1) of its unit range, with a little per-prompt spread."""
    ranges = {"aud": (1, 10), "lo_phy": (1, 5), "av": (0.5, 0.0), "lip": (8, 0), "vis": (0, 1)}
    out = {}
    for d in DIMENSION_IDS:
        lo, hi = ranges.get(d, (0, 100))
        out[d] = [lo + (hi - lo) * min(1.0, max(0.0, level + 0.02 * ((i % 5) - 2))) for i in range(N)]
    return out


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("lb_store")
    write_run(out, "lite-good", full_rows("lite-good", _all_dims(0.8)))
    write_run(out, "lite-bad", full_rows("lite-bad", _all_dims(0.4)))
    partial = {d: v for d, v in _all_dims(0.95).items() if d in ("vis", "aud")}
    write_run(out, "lite-partial", full_rows("lite-partial", partial))
    write_run(out, "paper-run", full_rows("paper-run", _all_dims(0.6), tier="paper"), tier="paper")
    return out


@pytest.fixture(scope="module")
def published_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("pub") / "published.csv"
    path.write_text("model,Vis,Aud,AV,Lip,Text,Face,Music,Speech,Lo-Phy,Hi-Phy,Holistic\n"
                    "Model X,0.9,9,0.05,0.8,90,90,90,90,4.6,90,90\n"
                    "Model Y,0.5,5,0.25,4,50,50,50,50,3,50,\n", encoding="utf-8")
    return path


def test_tiers_ranked_separately(store_dir, published_csv):
    with Store.open_existing(store_dir) as store:
        tables = lb.build(store, published_csv, ci_draws=200)
        good_card = score_rows(store.results("lite-good"), "strict", ci_draws=200, per_category=False)
    assert list(tables) == ["lite", "paper"]
    lite = tables["lite"]
    assert {e.name for e in lite} == {"lite-good", "lite-bad", "lite-partial"}
    assert all(e.tier == "lite" for e in lite)
    assert [e.rank for e in lite] == [1, 2, 3]
    assert [e.total for e in lite] == sorted((e.total for e in lite), reverse=True)
    good = next(e for e in lite if e.name == "lite-good")
    assert good.total == pytest.approx(good_card.total) and good.total_ci == good_card.total_ci
    assert good.total_ci[0] <= good.total <= good.total_ci[1]
    partial = next(e for e in lite if e.name == "lite-partial")
    assert partial.partial and "partial coverage 0.20" in partial.label and not good.partial
    assert partial.raw["text"] is None and partial.normalized["vis"] == pytest.approx(95.0, abs=1.5)
    paper = tables["paper"]
    assert {e.name for e in paper} == {"paper-run", "Model X", "Model Y"}
    assert [e.rank for e in paper] == [1, 2, 3]
    model_y = next(e for e in paper if e.name == "Model Y")
    assert model_y.source == "published" and model_y.total_ci is None and model_y.partial
    assert "published" in model_y.label
    assert paper[0].name == "Model X"


def test_json_output(store_dir, published_csv):
    result = runner.invoke(app, ["leaderboard", str(store_dir), "--published", str(published_csv), "--json", "--draws", "200"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["tiers"]) == {"lite", "paper"}
    assert "not comparable" in data["tiers"]["lite"]["label"]
    lite_names = [e["name"] for e in data["tiers"]["lite"]["entries"]]
    assert "paper-run" not in lite_names and "Model X" not in lite_names
    first = data["tiers"]["lite"]["entries"][0]
    assert first["rank"] == 1 and len(first["total_ci"]) == 2
    assert set(first["dimensions"]) == set(DIMENSION_IDS)
    assert first["dimensions"]["aud"]["raw"] is not None and first["dimensions"]["aud"]["normalized_ci"] is not None


def test_markdown_output_has_one_section_per_tier(store_dir, published_csv):
    result = runner.invoke(app, ["leaderboard", str(store_dir), "--published", str(published_csv), "--markdown", "--draws", "100"])
    assert result.exit_code == 0, result.output
    sections = result.stdout.split("## ")[1:]
    assert len(sections) == 2
    lite, paper = sections
    assert lite.startswith("Lite tier") and "lite-good" in lite and "paper-run" not in lite and "Model X" not in lite
    assert paper.startswith("Paper tier") and "Model X (published)" in paper and "lite-good" not in paper
    assert "lite-partial (partial coverage 0.20)" in lite
    assert re.search(r"\| \d+\.\d \[\d+, \d+\] \(\d", lite)  # dimension cells: score [CI] (raw)


def test_csv_output(store_dir):
    result = runner.invoke(app, ["leaderboard", str(store_dir), "--csv", "--draws", "100"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 4
    by_tier = {}
    for r in rows:
        by_tier.setdefault(r["tier"], []).append(int(r["rank"]))
    assert by_tier == {"lite": [1, 2, 3], "paper": [1]}
    good = next(r for r in rows if r["name"] == "lite-good")
    assert float(good["total_ci_low"]) <= float(good["total"]) <= float(good["total_ci_high"])
    assert good["Vis raw"] and good["Vis score"] and good["partial"] == "False"


def test_table_and_errors(store_dir, tmp_path):
    result = runner.invoke(app, ["leaderboard", str(store_dir), "--draws", "50"])
    assert result.exit_code == 0, result.output
    assert "Lite tier" in result.stdout and "Paper tier" in result.stdout
    assert runner.invoke(app, ["leaderboard", str(tmp_path)]).exit_code == 3
    assert runner.invoke(app, ["leaderboard", str(store_dir), "--json", "--csv"]).exit_code == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("model,Nope\nx,1\n", encoding="utf-8")
    assert runner.invoke(app, ["leaderboard", str(store_dir), "--published", str(bad)]).exit_code == 2


@pytest.mark.parametrize("columns", [80, 400])
def test_leaderboard_and_total_tables_show_their_numbers_at_any_width(store_dir, published_csv, monkeypatch, columns):
    """At 80 columns the eleven-dimension tables used to squeeze every cell to '…'; numbers must stay whole."""
    from avgenbench import cli
    from avgenbench.score import totals_from_raw_table

    monkeypatch.setattr(cli.out, "_width", columns)
    board = runner.invoke(app, ["leaderboard", str(store_dir), "--published", str(published_csv), "--draws", "50"])
    total = runner.invoke(app, ["total", "--raw", str(published_csv)])
    with Store.open_existing(store_dir) as store:
        good = next(e for e in lb.build(store, ci_draws=50)["lite"] if e.name == "lite-good")
    for result in (board, total):
        assert result.exit_code == 0, result.output
        assert max(len(line) for line in result.stdout.splitlines()) <= columns
        assert "…" not in result.stdout
    model_x = next(r for r in totals_from_raw_table(published_csv) if r["model"] == "Model X")
    expected = [f"{model_x['total']:.2f}"] + [f"{model_x['normalized'][d]:.1f}" for d in DIMENSION_IDS]
    for number in expected + ["Holistic", "Lo-Phy"]:
        assert number in total.stdout, number
    row_numbers = [f"{good.total:.2f}"] + [f"{good.normalized[d]:.1f}" for d in DIMENSION_IDS]
    for number in row_numbers:
        assert number in board.stdout, number
    assert ("Fine-grained dimensions" in board.stdout) == (columns == 80)
