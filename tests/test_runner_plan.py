"""A run resolves each dimension once (registry, backend, identity, needs) and carries typed options."""

from __future__ import annotations

import json
import pickle
from collections import Counter

import pytest

from avgenbench import runner
from avgenbench.dimensions import get_backend
from avgenbench.options import RunOptions
from avgenbench.store import Store
from avgenbench.suite import load_suite
from clipmaker import make_clip

DIMS = ["vis", "aud", "hi_phy"]  # hi_phy has no lite backend: planned too, as unavailable_in_tier


@pytest.fixture
def workspace(tmp_path):
    suite = tmp_path / "suite"
    (suite / "prompts").mkdir(parents=True)
    names = ["a", "b", "c"]
    (suite / "prompts" / "ads.json").write_text(json.dumps([{"content": n, "prompt": f"clip {n}"} for n in names]))
    for name in names:
        make_clip(tmp_path / "videos" / "ads" / f"{name}.mp4", duration=1.0, width=96, height=64)
    return load_suite(suite), tmp_path / "videos", tmp_path / "out"


def test_a_run_looks_each_dimension_up_once(workspace, monkeypatch):
    suite, videos, out = workspace
    calls: Counter = Counter()

    def counted(fn):
        def wrapper(dim_id, *args):
            calls[(fn.__name__, dim_id)] += 1
            return fn(dim_id, *args)
        return wrapper

    monkeypatch.setattr(runner, "get_dimension", counted(runner.get_dimension))
    monkeypatch.setattr(runner, "get_backend", counted(runner.get_backend))
    summary = runner.evaluate(suite, videos, out, "m", "lite", DIMS, options={"failure_policy": "strict"})
    assert summary.units_run == 3 and summary.rows_written == 9
    assert calls == Counter({(fn, d): 1 for fn in ("get_dimension", "get_backend") for d in DIMS}), calls
    with Store.open_existing(out) as store:
        rows = store.results("m")
    assert {r.status for r in rows if r.dimension == "hi_phy"} == {"unavailable_in_tier"}
    assert {(r.dimension, r.backend) for r in rows} == {("vis", "vis-signal"), ("aud", get_backend("aud", "lite").name),
                                                         ("hi_phy", "none")}

    calls.clear()  # a resume: every row is kept, still one look-up per dimension
    again = runner.evaluate(suite, videos, out, "m", "lite", DIMS, options={"failure_policy": "strict"})
    assert again.units_run == 0 and again.rows_skipped == 9
    assert max(calls.values()) == 1


def test_a_planned_dimension_reaches_a_worker_with_that_process_s_backend():
    plan = runner.plan_dimensions(["vis", "hi_phy"], "lite", RunOptions())
    copy = pickle.loads(pickle.dumps(plan))
    assert copy["vis"].backend is get_backend("vis", "lite") and copy["vis"].dimension is plan["vis"].dimension
    assert (copy["vis"].identity, copy["vis"].needs, copy["vis"].unavailable) == \
           (plan["vis"].identity, plan["vis"].needs, plan["vis"].unavailable)
    assert copy["hi_phy"].backend is None and copy["hi_phy"].identity == ("none", "0")


def test_run_options_are_typed_and_read_like_the_old_dict():
    marker = object()
    given = {"failure_policy": "lenient", "whisper_model": "/models/tiny", "max_cost": 2.5, "judge_client": marker}
    options = RunOptions.from_mapping(given)
    assert options.failure_policy == "lenient" and options.max_cost == 2.5 and options.extra == {"judge_client": marker}
    assert options == given and dict(options) == given and {**options} == given
    assert options["whisper_model"] == "/models/tiny" and options["ocr_detector"] is None
    assert options.get("ocr_detector") is None and options.get("music_pyin", True) is True
    assert options.get("judge_client") is marker and "judge" not in options and "whisper_model" in options
    with pytest.raises(KeyError):
        options["no_such_option"]
    assert RunOptions.from_mapping(options) is options and RunOptions.from_mapping(None) == {}
    plain = RunOptions.from_mapping({"music_pyin": False, "ocr_detector": "fp32"})
    assert pickle.loads(pickle.dumps(plain)) == plain and plain.get("music_pyin", True) is False
