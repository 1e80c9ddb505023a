"""Where work units run: in this process, or in a pool of worker processes.

A unit is one video with the dimensions to measure on it; `run_unit` decodes the video once and measures them all.
An executor only maps a picklable function over units and yields results as they finish, so another engine
(a cluster scheduler, say) can take its place.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing as mp
import os
from typing import Any, Callable, Iterable, Iterator, Protocol


class Executor(Protocol):
    def map_unordered(self, fn: Callable[[Any], Any], units: Iterable[Any]) -> Iterator[Any]: ...


class InProcessExecutor:
    def map_unordered(self, fn, units):
        for unit in units:
            yield fn(unit)


# Thread-pool sizes that native libraries (OpenMP, BLAS, onnxruntime via the OCR engine) read when they load.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def thread_share() -> int:
    """This process's share of the cores: OMP_NUM_THREADS when set to a positive number (worker_threads sets it for
    each pool worker), else 0 for "not set"."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() else 0


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform tells it, else the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


WORKER_MEMORY = 1536 << 20  # what one lite worker may reach (it peaks near 1 GiB on 10 s 720p clips), plus headroom
WORKERS_ENV = "AVGENBENCH_WORKERS"


def available_memory() -> int | None:
    """Bytes of memory available for new work (Linux MemAvailable), or None where that is not known."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def default_workers() -> int:
    """Workers for an eval when none is asked for: $AVGENBENCH_WORKERS when set, else one per usable core, fewer when
    the available memory cannot hold that many workers at WORKER_MEMORY each."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{WORKERS_ENV} must be a whole number >= 1, not {value!r}")
        return int(value)
    workers = usable_cores()
    memory = available_memory()
    if memory is not None:
        workers = min(workers, memory // WORKER_MEMORY)
    return max(1, workers)


@contextlib.contextmanager
def worker_threads(workers: int):
    """While the pool starts, give each worker an equal share of the cores (at least 1 thread): N workers that each
    spread over every core only fight for them. Variables the user has set are left alone."""
    share = str(max(1, usable_cores() // max(1, workers)))
    added = [name for name in THREAD_VARS if name not in os.environ]
    for name in added:
        os.environ[name] = share
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


class ProcessPoolExecutor:
    """Units in parallel worker processes; each worker keeps its loaded models across units."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)

    def map_unordered(self, fn, units):
        context = mp.get_context("spawn")  # no inherited threads or model state from the parent
        with worker_threads(self.workers), cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=context) as pool:
            futures = [pool.submit(fn, unit) for unit in units]
            try:
                for future in cf.as_completed(futures):
                    yield future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise


def make_executor(workers: int) -> Executor:
    return InProcessExecutor() if workers <= 1 else ProcessPoolExecutor(workers)
