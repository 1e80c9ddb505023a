import json

import pytest
from typer.testing import CliRunner

from avgenbench.cli import app
from avgenbench.dimensions import DIMENSIONS
from avgenbench.score import scheme2, score_rows, totals_from_raw_table
from avgenbench.store import ResultRow

PUBLISHED = """model,Vis,Aud,AV,Lip,Text,Face,Music,Speech,Lo-Phy,Hi-Phy,Holistic
Veo 3.1-fast,0.960,6.64,0.21,2.39,75.10,52.77,3.13,94.53,3.68,67.43,86.27
Ovi,0.839,6.31,0.37,5.40,41.36,49.05,11.25,76.49,3.93,52.92,57.45
Partial,0.9,,,,,,,,,,
"""


def test_published_totals_are_reproduced(tmp_path):
    table = tmp_path / "raw.csv"
    table.write_text(PUBLISHED)
    rows = {r["model"]: r for r in totals_from_raw_table(table)}
    assert rows["Veo 3.1-fast"]["total"] == pytest.approx(67.87, abs=0.1)
    assert rows["Ovi"]["total"] == pytest.approx(52.02, abs=0.1)
    assert rows["Veo 3.1-fast"]["coverage"] == pytest.approx(1.0)
    assert rows["Partial"]["total"] == pytest.approx(90.0) and rows["Partial"]["coverage"] == pytest.approx(0.1)
    result = CliRunner().invoke(app, ["total", "--raw", str(table), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[1]["total"] == pytest.approx(52.02, abs=0.1)


def test_bad_raw_table_is_a_clear_error(tmp_path):
    table = tmp_path / "raw.csv"
    table.write_text("model,Vis,Sharpness\nx,1,2\n")
    result = CliRunner().invoke(app, ["total", "--raw", str(table)])
    assert result.exit_code == 2 and "Sharpness" in result.output
    table.write_text("model,Vis\nx,abc\n")
    result = CliRunner().invoke(app, ["total", "--raw", str(table)])
    assert result.exit_code == 2 and "not a number" in result.output


def test_normalisations_and_weights():
    assert DIMENSIONS["av"].normalize(0.25) == pytest.approx(50)
    assert DIMENSIONS["av"].normalize(0.9) == 0
    assert DIMENSIONS["lip"].normalize(2.0) == pytest.approx(75)
    assert DIMENSIONS["lo_phy"].normalize(3.5) == pytest.approx(70)
    assert DIMENSIONS["aud"].normalize(11) == 100
    assert sum(d.weight for d in DIMENSIONS.values()) == pytest.approx(1.0)
    total, coverage = scheme2({"vis": 80.0, "text": 40.0})
    assert coverage == pytest.approx(0.1 + 0.6 / 7)
    assert total == pytest.approx((0.1 * 80 + 0.6 / 7 * 40) / coverage)


def _row(video, dim, status, raw=None, category="ads"):
    return ResultRow("r", f"{category}/{video}", dim, "b", "1", "lite", category, video, None, None, status, raw,
                     None, {}, "", 0.0, 0.0)


def test_failure_policies():
    rows = [_row("a", "vis", "ok", 0.8), _row("b", "vis", "missing_video"), _row("c", "vis", "error"),
            _row("a", "text", "not_applicable"), _row("b", "text", "ok", 60.0, category="news"),
            _row("a", "av", "no_audio_stream"), _row("a", "hi_phy", "no_judge")]
    strict = score_rows(rows, "strict")
    assert strict.dimensions["vis"].n == 2 and strict.dimensions["vis"].raw_mean == pytest.approx(0.4)
    assert strict.dimensions["av"].normalized == 0.0  # a video without audio scores the worst AV
    assert strict.dimensions["text"].n == 1 and strict.dimensions["hi_phy"].normalized is None
    assert strict.dimensions["vis"].n_tool_fault == 1 and strict.dimensions["vis"].n_video_fault == 1
    reference = score_rows(rows, "reference")
    assert reference.dimensions["vis"].n == 1 and reference.dimensions["vis"].raw_mean == pytest.approx(0.8)
    assert reference.dimensions["av"].normalized is None
    assert reference.coverage < strict.coverage
    assert set(strict.categories) == {"ads", "news"}
    with pytest.raises(ValueError):
        score_rows(rows, "lenient")
