"""Bootstrap CIs, subset stability and paired comparison on stores with known per-video rows."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from avgenbench.cli import app
from avgenbench.dimensions import DIMENSION_IDS
from avgenbench.score import score_rows
from avgenbench.stats import aggregate, bootstrap_weights, compare, stability, value_matrix
from stored_rows import full_rows, row, uniform_values, write_run

runner = CliRunner()


def _inside(ci, value, tol=1e-9):
    return ci is not None and ci[0] - tol <= value <= ci[1] + tol


@pytest.fixture(scope="module")
def random_rows():
    rng = np.random.default_rng(7)
    values = uniform_values(rng, 120)
    values["aud"][3] = None  # a video fault: counts as the worst value under strict
    return full_rows("r", values)


def test_ci_contains_point_estimates(random_rows):
    card = score_rows(random_rows, "strict")
    assert _inside(card.total_ci, card.total)
    for g, v in card.groups.items():
        assert _inside(card.groups_ci[g], v)
    for s in card.dimensions.values():
        assert _inside(s.raw_ci, s.raw_mean) and _inside(s.normalized_ci, s.normalized)
        assert s.normalized_ci[1] > s.normalized_ci[0]
    for c in card.categories.values():
        assert _inside(c["total_ci"], c["total"], 1e-3)
    assert card.ci["draws"] == 1000 and card.ci["level"] == 0.95


def test_ci_deterministic_for_a_seed(random_rows):
    a = score_rows(random_rows, "strict", seed=3).as_dict()
    b = score_rows(random_rows, "strict", seed=3).as_dict()
    c = score_rows(random_rows, "strict", seed=4).as_dict()
    assert a == b
    assert a["total_ci"] != c["total_ci"]
    assert a["total"] == c["total"]


def test_ci_narrows_with_more_prompts():
    rng = np.random.default_rng(1)
    small = score_rows(full_rows("s", uniform_values(rng, 20)), "strict")
    large = score_rows(full_rows("l", uniform_values(rng, 500)), "strict")
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    assert width(large.total_ci) < 0.5 * width(small.total_ci)
    for d in DIMENSION_IDS:
        assert width(large.dimensions[d].normalized_ci) < width(small.dimensions[d].normalized_ci)


def test_ci_is_exact_when_all_rows_are_equal():
    rows = full_rows("e", {"vis": [0.5] * 30, "aud": [7.5] * 30, "text": [25.0] * 30})
    card = score_rows(rows, "strict")
    assert card.dimensions["vis"].raw_ci == (0.5, 0.5)
    assert card.dimensions["vis"].normalized_ci == (50.0, 50.0)
    assert card.dimensions["aud"].normalized_ci == (75.0, 75.0)
    assert card.total_ci == pytest.approx((card.total, card.total))
    assert card.dimensions["lip"].normalized_ci is None  # no rows: no interval, not a made-up one


def test_vectorised_bootstrap_matches_rescoring_each_resample(random_rows):
    """Each draw's total equals score_rows on the explicitly resampled rows (prompts repeated by multiplicity)."""
    matrix = value_matrix(random_rows, "strict")
    weights = bootstrap_weights(len(matrix.keys), 5, seed=11)
    agg = aggregate(matrix, weights)
    by_key = {}
    for r in random_rows:
        by_key.setdefault(r.video_key, []).append(r)
    for draw in range(5):
        resampled = []
        for i, key in enumerate(matrix.keys):
            for copy in range(int(weights[draw, i])):
                resampled += [row(r.run, f"{r.category}/{key}#{copy}", r.dimension, r.status, r.raw) for r in by_key[key]]
        card = score_rows(resampled, "strict", ci_draws=0, per_category=False)
        assert agg.total[draw] == pytest.approx(card.total, rel=1e-9)
        assert agg.groups["fine"][draw] == pytest.approx(card.groups["fine"], rel=1e-9)
        for j, d in enumerate(DIMENSION_IDS):
            assert agg.raw[draw, j] == pytest.approx(card.dimensions[d].raw_mean, rel=1e-9)


def test_failure_policy_is_honoured():
    rows = full_rows("p", {"vis": [1.0, 1.0, None, 1.0]})
    rows.append(row("p", "ads/prompt 009", "vis", "error", None, message="backend crashed"))
    strict = score_rows(rows, "strict")
    reference = score_rows(rows, "reference")
    assert strict.dimensions["vis"].normalized == pytest.approx(75.0)  # the fault counts as 0; the error is excluded
    assert strict.dimensions["vis"].normalized_ci[0] < 75.0
    assert reference.dimensions["vis"].normalized_ci == (100.0, 100.0)


def test_stability_subsets(random_rows):
    matrix = value_matrix(random_rows, "strict")
    result = stability(matrix, (1.0, 0.5, 0.2), trials=50, seed=2)
    full = score_rows(random_rows, "strict").total
    assert result["full_total"] == pytest.approx(full)
    whole, half, fifth = result["subsets"]
    assert whole["prompts"] == 120 and half["prompts"] == 60 and fifth["prompts"] == 24
    assert whole["total"]["std"] == pytest.approx(0.0, abs=1e-9)
    assert whole["total"]["mean_minus_full"] == pytest.approx(0.0, abs=1e-9)
    assert 0 < half["total"]["std"] < fifth["total"]["std"]
    for s in (half, fifth):
        t = s["total"]
        assert t["min"] <= t["mean"] <= t["max"] and t["trials_scored"] == 50
        assert t["mean_minus_full"] == pytest.approx(t["mean"] - full)
        assert abs(t["mean_minus_full"]) < 3 * t["std"]
    assert stability(matrix, (0.5,), trials=50, seed=2)["subsets"][0]["total"]["std"] == pytest.approx(half["total"]["std"])


def test_compare_paired_shift():
    rng = np.random.default_rng(5)
    base = [float(v) for v in rng.uniform(0.1, 0.8, 40)]
    rows_a = full_rows("a", {"vis": base, "aud": [5.0] * 40})
    rows_b = full_rows("b", {"vis": [v + 0.1 for v in base], "aud": [5.0] * 40})
    result = compare(rows_a, rows_b, "strict", draws=300, seed=0)
    vis = result["dimensions"]["vis"]
    assert result["shared_prompts"] == 40 and result["only_a"] == result["only_b"] == 0
    assert vis["diff"] == pytest.approx(-10.0)
    assert vis["ci"] == pytest.approx((-10.0, -10.0))  # a constant per-prompt shift has no sampling spread
    assert vis["b_wins"] == 1.0 and vis["a_wins"] == 0.0
    aud = result["dimensions"]["aud"]
    assert aud["diff"] == 0.0 and aud["ties"] == 1.0
    assert _inside(result["total"]["ci"], result["total"]["diff"])
    assert result["dimensions"]["lip"]["diff"] is None and result["dimensions"]["lip"]["paired_prompts"] == 0


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory, random_rows):
    out = tmp_path_factory.mktemp("stats_store")
    write_run(out, "r", random_rows)
    shifted = [row("r2", r.video_key, r.dimension, r.status, None if r.raw is None else r.raw * 0.9) for r in random_rows]
    write_run(out, "r2", shifted)
    write_run(out, "paper-run", full_rows("paper-run", {"vis": [0.5] * 4}, tier="paper"), tier="paper")
    return out


def test_score_json_carries_cis(store_dir):
    result = runner.invoke(app, ["score", str(store_dir), "--run", "r", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["total_ci"]) == 2 and data["total_ci"][0] <= data["total"] <= data["total_ci"][1]
    assert all(len(d["normalized_ci"]) == 2 for d in data["dimensions"].values())
    assert set(data["groups_ci"]) == {"basic", "cross", "fine"}
    table = runner.invoke(app, ["score", str(store_dir), "--run", "r"], env={"COLUMNS": "200"})
    assert "95% CI" in table.stdout and f"[{data['total_ci'][0]:.2f}, {data['total_ci'][1]:.2f}]" in table.stdout


def test_stability_command(store_dir):
    result = runner.invoke(app, ["stability", str(store_dir), "--run", "r", "--trials", "30", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [s["fraction"] for s in data["subsets"]] == [0.8, 0.6, 0.4, 0.2]
    assert all(s["trials"] == 30 for s in data["subsets"])
    table = runner.invoke(app, ["stability", str(store_dir), "--run", "r", "--trials", "30"], env={"COLUMNS": "150"})
    assert table.exit_code == 0 and "mean − full" in table.stdout and "80%" in table.stdout
    bad = runner.invoke(app, ["stability", str(store_dir), "--run", "r", "--fractions", "1.5"])
    assert bad.exit_code == 2


def test_compare_command(store_dir):
    result = runner.invoke(app, ["compare", str(store_dir), "--run", "r", "--run", "r2", "--draws", "200", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dimensions"]["vis"]["diff"] > 0 and data["dimensions"]["vis"]["ci"][0] > 0
    table = runner.invoke(app, ["compare", str(store_dir), "--run", "r", "--run", "r2"], env={"COLUMNS": "160"})
    assert table.exit_code == 0 and "A wins" in table.stdout
    mixed = runner.invoke(app, ["compare", str(store_dir), "--run", "r", "--run", "paper-run"])
    assert mixed.exit_code == 2 and "never" in mixed.output and "paper-tier" in mixed.output
