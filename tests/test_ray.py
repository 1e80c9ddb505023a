"""eval on a real two-node Ray cluster (a head and a worker node, both on this machine): the same rows as the process
pool, and a worker node that dies mid-run loses nothing."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from avgenbench import runner
from avgenbench.store import Store
from avgenbench.suite import load_suite
from clipmaker import make_clip

if os.environ.get("CI"):
    import ray  # the test extra installs it: in CI a missing Ray is a failure, not a skip
else:
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'avgenbench[ray]')")

from avgenbench.executor_ray import ActorResources, RayExecutor  # noqa: E402

WORKERS_DIR = Path(__file__).parent / "workers"
SRC = Path(__file__).resolve().parents[1] / "src"
DIMS = ["vis", "aud", "av"]
sys.path.insert(0, str(WORKERS_DIR))
import unit_hooks  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    """A head node and one worker node with a core each; their workers import this checkout and the test hooks."""
    from ray.cluster_utils import Cluster

    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), str(WORKERS_DIR), saved) if p)
    fast_health = {"health_check_period_ms": 500, "health_check_failure_threshold": 4}
    made = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "_system_config": fast_health})
    worker = made.add_node(num_cpus=1)
    made.wait_for_nodes()
    try:
        yield made, worker
    finally:
        made.shutdown()
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def _suite_and_videos(root: Path, names: list[str]) -> tuple[Path, Path]:
    suite = root / "suite"
    (suite / "prompts").mkdir(parents=True)
    (suite / "prompts" / "ads.json").write_text(json.dumps([{"content": n, "prompt": f"clip {n}"} for n in names]))
    videos = root / "videos"
    for i, name in enumerate(names):
        make_clip(videos / "ads" / f"{name}.mp4", duration=1.5, width=128, height=96, clicks=(0.3 + 0.1 * i, 1.1))
    return suite, videos


def _rows(out: Path, run: str) -> dict[tuple[str, str], tuple]:
    with Store(out) as store:
        return {(r.video_key, r.dimension): (r.status, r.raw, r.normalized, r.evidence, r.message, r.backend,
                                             r.backend_version, r.video_sha256, r.context)
                for r in store.results(run)}


def test_ray_stores_exactly_what_the_process_pool_stores(cluster, tmp_path):
    made, _ = cluster
    suite_dir, videos = _suite_and_videos(tmp_path, ["a", "b", "c", "d"])
    suite = load_suite(suite_dir)
    pool = runner.evaluate(suite, videos, tmp_path / "pool", "m", "lite", DIMS, workers=2)
    executor = RayExecutor(address=made.address)
    on_ray = runner.evaluate(suite, videos, tmp_path / "ray", "m", "lite", DIMS, executor=executor)
    assert not pool.interrupted and not on_ray.interrupted, (pool.error, on_ray.error)
    expected, got = _rows(tmp_path / "pool", "m"), _rows(tmp_path / "ray", "m")
    assert len(expected) == 12
    assert all(row[0] == "ok" for (_, dim), row in expected.items() if dim != "av"), expected  # AV may not conclude
    assert got == expected
    assert len(executor.nodes_used) == 2, executor.nodes_used  # the head and the worker node both measured
    with Store(tmp_path / "ray") as store:
        assert store.run_info("m")["config"]["executor"] == "RayExecutor"

    again = runner.evaluate(suite, videos, tmp_path / "ray", "m", "lite", DIMS, executor=RayExecutor(address=made.address))
    assert again.units_run == 0 and again.rows_skipped == 12  # resume works as with the pool


def test_an_actor_has_its_next_unit_while_the_caller_stores_the_last(cluster):
    """The driver hands an actor its next unit before it yields the finished one, so the actor never waits while the
    caller stores rows (here: one second per result)."""
    import time

    made, _ = cluster
    handled = []
    for _unit, began in RayExecutor(workers=1, address=made.address).map_unordered(unit_hooks.start_time, range(3)):
        handled.append((began, time.time()))
        time.sleep(1.0)
    assert all(handled[k + 1][0] < handled[k][1] + 0.5 for k in range(2)), handled


def test_a_worker_node_that_dies_mid_run_loses_no_row(cluster, tmp_path, monkeypatch):
    made, worker = cluster
    names = ["a", "b", "c", "d", "e"]
    suite_dir, videos = _suite_and_videos(tmp_path, names)
    suite = load_suite(suite_dir)
    monkeypatch.setattr(runner, "run_unit", unit_hooks.run_unit_slowly)
    executor = RayExecutor(address=made.address, resources=ActorResources(env_vars={unit_hooks.SLEEP_ENV: "2"}))
    stored_when_killed: list[int] = []

    def kill_worker_node_once(result) -> None:
        if not stored_when_killed:
            with Store(tmp_path / "out") as store:
                stored_when_killed.append(len(store.results("m")))
            made.remove_node(worker)

    summary = runner.evaluate(suite, videos, tmp_path / "out", "m", "lite", ["vis"], executor=executor,
                              on_progress=kill_worker_node_once)
    assert not summary.interrupted, summary.error
    assert stored_when_killed == [1]
    assert executor.retries >= 1  # a unit on the dead node ran again elsewhere
    assert not summary.crashed
    rows = _rows(tmp_path / "out", "m")
    assert sorted(k for k, _ in rows) == [f"ads/{n}" for n in names]
    assert all(row[0] == "ok" for row in rows.values()), rows


def test_eval_cli_runs_on_the_cluster_named_by_the_environment(cluster, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from avgenbench.cli import app

    made, _ = cluster
    suite_dir, videos = _suite_and_videos(tmp_path, ["a", "b"])
    monkeypatch.setenv("AVGENBENCH_RAY_ADDRESS", made.address)
    args = ["eval", str(videos), "--suite", str(suite_dir), "--out", str(tmp_path / "out"), "--dimensions", "vis",
            "--executor", "ray", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["eval"]["rows_written"] == 2
    with Store(tmp_path / "out") as store:
        assert store.run_info("videos")["config"]["executor"] == "RayExecutor"


def test_eval_cli_refuses_a_ray_address_without_the_ray_executor(tmp_path):
    from typer.testing import CliRunner

    from avgenbench.cli import app

    suite_dir, videos = _suite_and_videos(tmp_path, ["a"])
    args = ["eval", str(videos), "--suite", str(suite_dir), "--out", str(tmp_path / "out"), "--ray-address", "auto"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "--ray-address needs --executor ray" in result.output
    args = ["eval", str(videos), "--suite", str(suite_dir), "--out", str(tmp_path / "out"), "--executor", "dask"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "dask" in result.output
