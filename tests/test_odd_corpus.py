"""61 bad or unusual inputs in one folder, evaluated by two worker processes: a row for every (video, dimension), no
crashed run, no hang, every fault named in its message, and a second run that does no work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from avgenbench.dimensions.base import NOT_SCORED, Status
from avgenbench.store import Store

import oddcorpus

LITE_DIMENSIONS = ("vis", "aud", "av", "lip", "text", "face", "music", "speech")


def _eval(root: Path, out: Path) -> tuple[subprocess.CompletedProcess, dict]:
    env = dict(os.environ, AVGENBENCH_WORKERS="2")
    proc = subprocess.run(
        [sys.executable, "-m", "avgenbench", "eval", str(root / "videos"), "--suite", str(root / "suite"),
         "--out", str(out), "--run", "odd", "--dimensions", ",".join(LITE_DIMENSIONS), "--workers", "2", "--json"],
        capture_output=True, text=True, timeout=1500, env=env, stdin=subprocess.DEVNULL)
    start = proc.stdout.find("{")
    assert start >= 0, (proc.returncode, proc.stdout[-2000:], proc.stderr[-4000:])
    return proc, json.loads(proc.stdout[start:])["eval"]


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("odd")
    cases = oddcorpus.build(root)
    out = root / "out"
    first = _eval(root, out)
    second = _eval(root, out)
    with Store.open_existing(out) as store:
        rows = store.results("odd")
    return cases, first, second, rows


def test_the_corpus_is_large_enough():
    assert len(oddcorpus.cases()) >= 60


def test_every_video_and_dimension_has_a_row_and_no_run_crashed(corpus_run):
    cases, (proc, summary), _, rows = corpus_run
    assert not summary.get("interrupted"), summary.get("error")
    assert proc.returncode != 1, proc.stderr[-3000:]
    by_video: dict[str, set[str]] = {}
    for row in rows:
        by_video.setdefault(row.video_key, set()).add(row.dimension)
    assert len(by_video) == len(cases)
    assert all(dims == set(LITE_DIMENSIONS) for dims in by_video.values()), by_video


def test_every_fault_is_named_and_no_tool_failed(corpus_run):
    _, _, _, rows = corpus_run
    errors = [(r.video_key, r.dimension, r.message) for r in rows if r.status == Status.ERROR]
    assert not errors, errors
    unnamed = [(r.video_key, r.dimension, r.status) for r in rows
               if r.status != Status.OK and r.status not in NOT_SCORED and not (r.message or "").strip()]
    assert not unnamed, unnamed


def test_each_case_gets_the_statuses_it_should(corpus_run):
    cases, _, _, rows = corpus_run
    statuses: dict[str, set[str]] = {}
    for row in rows:
        statuses.setdefault(row.video_key.split("/", 1)[1], set()).add(row.status)
    from avgenbench.suite import safe_filename

    wrong = {}
    for case in cases:
        got = statuses[safe_filename(case.prompt or case.name)]
        if case.expect is not None and not got <= case.expect:
            wrong[case.name] = sorted(got)
        if case.make is not None and case.expect is None and Status.MISSING_VIDEO in got:
            wrong[case.name] = sorted(got)  # a file that exists in an accepted form must be found
    assert not wrong, wrong


def test_a_second_run_does_no_work(corpus_run):
    _, _, (proc, summary), _ = corpus_run
    assert summary["units_run"] == 0, summary
    assert proc.returncode != 1
