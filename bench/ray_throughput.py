"""Lite throughput on Ray against the process pool, measured in one run.

Evaluates the same clips four times into fresh stores: the process pool with 1 and 2 workers, then Ray actors, 1 and 2,
on a local Ray instance started once beforehand with as many CPUs as the machine has (as a lab's cluster would be up
before an eval). Before the timed runs, one untimed eval of one clip builds what the first use builds (numba kernels,
the int8 text detector). Prints clips per minute for each and the ratios
  ray 2 / ray 1      (target >= 1.8 on two cores)
  pool 2 / pool 1    (the same scaling for the pool)
  ray 2 / pool 2     (what Ray costs against the pool on one machine)
  machine 2 / 1      (the ceiling: a fixed single-threaded compute loop in 1 and in 2 processes at once, measured
                      before and after the evals; on a shared virtual machine two cores rarely give twice one)
Each timed run includes starting its workers and loading their models, as a real eval does. On a run of a few dozen
short clips that fixed cost weighs heavily, so each ratio is also printed at the steady pace: units finished per second
between the moment every worker has finished its first unit and the moment the first worker runs out of units (what a
run of thousands of videos sees).

usage: python bench/ray_throughput.py [--real ../shared/realclips-dev] [--clips N] [--dimensions vis,aud,...]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import tempfile
import time
from pathlib import Path

LITE_DIMENSIONS = "vis,aud,av,lip,text,face,music,speech"


def _spin(_=None) -> float:
    """Seconds one process takes for a fixed single-threaded load (matrix products and a Python loop)."""
    import numpy as np

    t0 = time.perf_counter()
    a = np.random.default_rng(0).random((500, 500))
    for _ in range(120):
        a = (a @ a) / 500.0
    sum(range(2 * 10**7))
    return time.perf_counter() - t0


def steady_pace(finished: list[float], workers: int) -> float:
    """Units per second between the `workers`-th and the (n - workers)-th finish: start-up and the tail left out."""
    first, last = workers - 1, len(finished) - workers
    if last <= first:
        raise SystemExit(f"too few clips for a steady pace with {workers} workers: use --clips")
    return (last - first) / (finished[last] - finished[first])


def machine_ceiling(rounds: int = 3) -> float:
    """Throughput of 2 processes over 1 on the fixed load, the median of `rounds` tries."""
    import multiprocessing
    import statistics

    env = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    os.environ.update(env)
    ratios = []
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as first, context.Pool(1) as second:  # one process each, so the two loads never queue
        first.apply(_spin), second.apply(_spin)  # start both and import numpy before timing
        for _ in range(rounds):
            one = first.apply(_spin)
            both = [first.apply_async(_spin), second.apply_async(_spin)]
            two = max(job.get() for job in both)
            ratios.append(2 * one / two)
    return statistics.median(ratios)


def _subset_suite(real: Path, clips: int, work: Path):
    """The first `clips` videos of the real folder (in suite order) as a suite whose videos all exist."""
    from avgenbench.suite import load_suite

    suite = load_suite(real / "suite")
    videos = work / "videos"
    chosen = []
    for item in suite.items:
        src = real / "videos" / item.category / f"{item.content}.mp4"
        if src.is_file() and len(chosen) < clips:
            (videos / item.category).mkdir(parents=True, exist_ok=True)
            os.symlink(src.resolve(), videos / item.category / src.name)
            chosen.append(item.key)
    return suite, videos, chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "realclips-dev")
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--dimensions", default=LITE_DIMENSIONS)
    args = parser.parse_args()

    import ray

    from avgenbench import runner
    from avgenbench.executor_ray import RayExecutor

    dims = args.dimensions.split(",")
    work = Path(tempfile.mkdtemp(prefix="ray-bench-"))
    try:
        suite, videos, chosen = _subset_suite(args.real, args.clips, work)
        suite = dataclasses.replace(suite, items=[item for item in suite.items if item.key in set(chosen)])
        print(f"{len(chosen)} real clips from {args.real}; dimensions {','.join(dims)}; {os.cpu_count()} cores; "
              f"load average {os.getloadavg()[0]:.1f}")
        ceiling_before = machine_ceiling()
        warm = dataclasses.replace(suite, items=suite.items[:1])
        runner.evaluate(warm, videos, work / "warm", "warm", "lite", dims, workers=1)

        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        timings: dict[str, float] = {}
        steady: dict[str, float] = {}
        setups = [("pool 1", dict(workers=1)), ("pool 2", dict(workers=2)),
                  ("ray 1", dict(executor=RayExecutor(workers=1))), ("ray 2", dict(executor=RayExecutor(workers=2)))]
        for label, how in setups:
            if label == "pool 1":  # workers=1 runs in this process: give it a pool of one instead, like the others
                from avgenbench.executor import ProcessPoolExecutor

                how = dict(executor=ProcessPoolExecutor(1))
            finished: list[float] = []
            t0 = time.perf_counter()
            summary = runner.evaluate(suite, videos, work / label.replace(" ", ""), "bench", "lite", dims,
                                      on_progress=lambda _, ends=finished: ends.append(time.perf_counter()), **how)
            timings[label] = time.perf_counter() - t0
            assert summary.units_run == len(chosen) and not summary.interrupted, summary.error
            steady[label] = steady_pace(finished, int(label.split()[1]))
            print(f"{label:7s} {timings[label]:7.1f} s  {60 * len(chosen) / timings[label]:6.2f} clips/min  "
                  f"steady {60 * steady[label]:6.2f} clips/min")
        ray.shutdown()
        pace = {k: 1 / v for k, v in timings.items()}
        for name, a, b in (("ray 2 / ray 1  ", "ray 2", "ray 1"), ("pool 2 / pool 1", "pool 2", "pool 1"),
                           ("ray 2 / pool 2 ", "ray 2", "pool 2")):
            target = "  (target >= 1.8)" if a == "ray 2" and b == "ray 1" else ""
            print(f"{name} = {pace[a] / pace[b]:.2f} whole run, {steady[a] / steady[b]:.2f} steady{target}")
        ceiling = (ceiling_before + machine_ceiling()) / 2
        print(f"machine 2 / 1   = {ceiling:.2f}  (the fixed load; before {ceiling_before:.2f})")
        print(f"ray's steady scaling as a share of the machine's: {steady['ray 2'] / steady['ray 1'] / ceiling:.2f}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
