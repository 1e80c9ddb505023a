"""A video that kills its worker process must not stop the others, and workers must not outlive their eval."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from avgenbench import runner
from avgenbench.store import Store
from avgenbench.suite import load_suite
from clipmaker import make_clip

WORKERS_DIR = Path(__file__).parent / "workers"
sys.path.insert(0, str(WORKERS_DIR))  # pool workers get the parent's sys.path, so they import unit_hooks too
import unit_hooks  # noqa: E402

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _suite_and_videos(root: Path, names: list[str]) -> tuple[Path, Path]:
    suite = root / "suite"
    (suite / "prompts").mkdir(parents=True)
    (suite / "prompts" / "ads.json").write_text(json.dumps([{"content": n, "prompt": f"clip {n}"} for n in names]))
    videos = root / "videos"
    for name in names:
        make_clip(videos / "ads" / f"{name}.mp4", duration=1.0, width=96, height=64)
    return suite, videos


def test_a_video_that_kills_its_worker_is_recorded_and_the_others_go_on(tmp_path, monkeypatch):
    suite_dir, videos = _suite_and_videos(tmp_path, ["a", "crash", "b", "c"])
    suite = load_suite(suite_dir)
    out = tmp_path / "out"
    monkeypatch.setattr(runner, "run_unit", unit_hooks.run_unit_or_die)
    monkeypatch.setenv(unit_hooks.CRASH_ENV, "1")

    first = runner.evaluate(suite, videos, out, "m", "lite", ["vis", "aud"], workers=2)
    assert not first.interrupted, first.error
    assert first.crashed == {"ads/crash": "signal SIGSEGV"}
    with Store(out) as store:
        rows = {(r.video_key, r.dimension): r for r in store.results("m")}
    assert len(rows) == 8
    for dim in ("vis", "aud"):
        crashed = rows[("ads/crash", dim)]
        assert crashed.status == "error"
        assert "the worker process died (signal SIGSEGV) while measuring this video" in crashed.message
        assert crashed.evidence["worker_crash"] == "signal SIGSEGV"
        for name in ("a", "b", "c"):
            assert rows[(f"ads/{name}", dim)].status == "ok", rows[(f"ads/{name}", dim)].message

    again = runner.evaluate(suite, videos, out, "m", "lite", ["vis", "aud"], workers=2)
    assert again.units_run == 0 and again.rows_skipped == 8  # the crash rows are kept, not fed to a worker again
    assert list(again.crashed_kept) == ["ads/crash"] and "SIGSEGV" in again.crashed_kept["ads/crash"]

    more = runner.evaluate(suite, videos, out, "m", "lite", ["vis", "aud", "av"], workers=2)  # a new dimension
    assert more.units_run == 3 and list(more.crashed_kept) == ["ads/crash"] and not more.crashed
    with Store(out) as store:
        held = next(r for r in store.results("m") if (r.video_key, r.dimension) == ("ads/crash", "av"))
    assert held.status == "error" and "died (signal SIGSEGV)" in held.message  # not fed to a worker again

    monkeypatch.delenv(unit_hooks.CRASH_ENV)  # the cause is gone (say a fixed decoder): asked to retry, it is measured
    retried = runner.evaluate(suite, videos, out, "m", "lite", ["vis", "aud", "av"], workers=2, retry_errors=True)
    assert retried.units_run == 1 and not retried.crashed
    with Store(out) as store:
        statuses = {r.dimension: r.status for r in store.results("m") if r.video_key == "ads/crash"}
    assert len(statuses) == 3 and "error" not in statuses.values(), statuses  # measured for real this time


DRIVER = """
import sys
sys.path.insert(0, sys.argv[4])
import unit_hooks
from avgenbench import runner
from avgenbench.suite import load_suite
runner.run_unit = unit_hooks.run_unit_or_die
runner.evaluate(load_suite(sys.argv[1]), sys.argv[2], sys.argv[3], "m", "lite", ["vis"], workers=2)
"""


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the processes whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append((int(entry.name), cmdline))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_exit_when_the_eval_is_killed(tmp_path):
    if not Path("/proc/self/stat").exists():
        import pytest

        pytest.skip("needs Linux /proc to find the worker processes")
    suite_dir, videos = _suite_and_videos(tmp_path, ["a", "slow1", "slow2", "slow3"])
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": SRC}
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(suite_dir), str(videos), str(out), str(WORKERS_DIR)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        rows_before = 0
        workers: list[int] = []
        while time.monotonic() < deadline and driver.poll() is None:
            workers = [pid for pid, cmd in _children(driver.pid) if "spawn_main" in cmd]
            if (out / "avgenbench.sqlite").exists():
                with Store(out) as store:
                    rows_before = len(store.results("m"))
            if rows_before >= 1 and len(workers) == 2:
                break
            time.sleep(0.5)
        assert driver.poll() is None, driver.stderr.read().decode()[-2000:]
        assert rows_before >= 1 and len(workers) == 2, (rows_before, workers)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=30)
        gone_by = time.monotonic() + 10
        while time.monotonic() < gone_by and any(_alive(pid) for pid in workers):
            time.sleep(0.2)
        left = [pid for pid in workers if _alive(pid)]
        assert not left, f"workers {left} outlived their killed eval"
    finally:
        if driver.poll() is None:
            driver.kill()
        for pid in workers:  # only when they outlived it (the test has failed then)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    with Store(out) as store:
        rows = store.results("m")
    assert len(rows) >= rows_before and {r.video_key for r in rows} >= {"ads/a"}
    assert all(r.status == "ok" for r in rows)


def test_a_pool_that_breaks_between_two_submissions_is_rebuilt_not_fatal(monkeypatch):
    """Under load a worker can die after one unit ended and before the next is handed out: then `submit` itself
    raises BrokenProcessPool. The units in flight become suspects and a new pool takes the rest (it used to end the
    eval as 'interrupted')."""
    import concurrent.futures as cf
    from concurrent.futures.process import BrokenProcessPool

    from avgenbench import executor

    pools = []

    class FlakyPool:
        """Runs units inline; the first pool breaks on its third submission."""

        def __init__(self, *args, **kwargs):
            self.submitted = 0
            self.breaks = not pools
            pools.append(self)

        def submit(self, fn, unit):
            self.submitted += 1
            if self.breaks and self.submitted == 3:
                raise BrokenProcessPool("A child process terminated abruptly")
            future = cf.Future()
            future.set_result(fn(unit))
            return future

        def shutdown(self, wait=True, cancel_futures=False):
            pass

    monkeypatch.setattr(executor.cf, "ProcessPoolExecutor", FlakyPool)
    monkeypatch.setattr(executor.ProcessPoolExecutor, "_run_alone", staticmethod(lambda fn, unit, context: fn(unit)))
    results = list(executor.ProcessPoolExecutor(2).map_unordered(lambda u: u * 10, [1, 2, 3, 4, 5]))
    assert sorted(results) == [10, 20, 30, 40, 50] and len(pools) == 2


def test_a_pool_worker_has_its_next_unit_while_the_caller_stores_the_last():
    """The pool hands a free worker its next unit before it yields the finished one, so the worker never waits while
    the caller stores rows (here: one second per result)."""
    from avgenbench.executor import ProcessPoolExecutor

    handled = []
    for _unit, began in ProcessPoolExecutor(1).map_unordered(unit_hooks.start_time, range(3)):
        handled.append((began, time.time()))
        time.sleep(1.0)
    assert all(handled[k + 1][0] < handled[k][1] + 0.5 for k in range(2)), handled
