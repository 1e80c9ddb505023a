"""Repeated judge calls: a typed outcome, a named reducer, and row identities that know both."""

from __future__ import annotations

import pytest

from avgenbench.dimensions.judged import JudgedBackend, JudgeOutcome, Repeats, repeated


def _answers(scores):
    return lambda k: {"score": scores[k], "calls": 1, "cached": int(k == 0), "verdict": f"answer {k}"}


def test_k_scores_are_reduced_by_the_named_reducer():
    mean = repeated(_answers([10.0, 20.0, 90.0]), Repeats(3, "mean"))
    median = repeated(_answers([10.0, 20.0, 90.0]), Repeats(3, "median"))
    assert isinstance(mean, JudgeOutcome) and mean.score == pytest.approx(40.0) and median.score == 20.0
    assert median.calls == 3 and median.cached == 1 and median.evidence["verdict"] == "answer 0"
    assert median.evidence["judge_repeats"] == {"k": 3, "scores": [10.0, 20.0, 90.0], "std": 35.59, "reducer": "median"}  # population sd: sqrt(3800 / 3)
    once = repeated(_answers([55.0]), 1)
    assert once.score == 55.0 and "judge_repeats" not in once.evidence


def test_the_reducer_and_k_are_part_of_a_judged_rows_identity():
    backend = JudgedBackend("x-judge", "1", lambda client, clip, ctx, repeats: {"score": 1.0})
    judge = {"judge": "openai:some-model"}
    single = backend.identity(judge)
    assert backend.identity({**judge, "judge_repeats": 1, "judge_reduce": "median"}) == single
    mean3 = backend.identity({**judge, "judge_repeats": 3})
    median3 = backend.identity({**judge, "judge_repeats": 3, "judge_reduce": "median"})
    assert len({single, mean3, median3}) == 3 and mean3[1].endswith("+3xmean") and median3[1].endswith("+3xmedian")
    with pytest.raises(ValueError, match="unknown judge reducer 'mode'"):
        Repeats.from_options({"judge_repeats": 3, "judge_reduce": "mode"})
