"""Where work units run: in this process, or in a pool of worker processes.

A unit is one video with the dimensions to measure on it; `run_unit` decodes the video once and measures them all.
An executor only maps a picklable function over units and yields results as they finish (or a UnitCrash for a unit
whose process died hard), so another engine (a cluster scheduler, say) can take its place.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
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


@dataclass
class UnitCrash:
    """What a pool yields for a unit whose worker process died hard (a native crash, os._exit, an OOM kill) while it
    ran that unit alone: the unit and the cause in words."""

    unit: Any
    cause: str
    exitcode: int | None = None


def death_cause(exitcode: int | None) -> str:
    """'signal SIGSEGV', 'signal SIGKILL, often the out-of-memory killer' or 'exit code 3'."""
    if exitcode is None:
        return "no exit status"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        return f"signal {name}" + (", often the out-of-memory killer" if name == "SIGKILL" else "")
    return f"exit code {exitcode}"


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def watch_parent(parent_pid: int) -> None:
    """Make this worker exit when the process that started it dies (a kill -9 of the eval must not leave ~1 GiB
    workers behind): Linux's PR_SET_PDEATHSIG, and everywhere a thread that notices the parent is gone."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the thread below still covers it
    if os.getppid() != parent_pid:  # it died before the line above ran
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="avgenbench-parent-watch", daemon=True).start()


def _run_and_send(fn, unit, conn, parent_pid: int) -> None:
    watch_parent(parent_pid)
    conn.send(fn(unit))
    conn.close()


class ProcessPoolExecutor:
    """Units in parallel worker processes; each worker keeps its loaded models across units.

    At most one unit per worker is handed out at a time, so when a worker dies hard the units it may have been running
    are known: those are then run again one by one, each in a fresh process of its own, which tells the unit that
    kills its process (yielded as a UnitCrash) from the innocent ones; a new pool carries on with the rest."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)

    def map_unordered(self, fn, units):
        context = mp.get_context("spawn")  # no inherited threads or model state from the parent
        todo = collections.deque(units)
        with worker_threads(self.workers):
            while todo:
                suspects = yield from self._pool_run(fn, todo, context)
                for unit in suspects:
                    yield self._run_alone(fn, unit, context)

    def _pool_run(self, fn, todo: collections.deque, context):
        """Run units from `todo` until it is empty (returns []) or the pool breaks (returns the units in flight)."""
        pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=context, initializer=watch_parent,
                                      initargs=(os.getpid(),))
        running: dict[cf.Future, Any] = {}
        try:
            while todo or running:
                if self._refill(pool, fn, todo, running):
                    return list(running.values())
                done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                finished = [f for f in done if not isinstance(f.exception(), BrokenProcessPool)]
                for future in finished:
                    running.pop(future)
                # the freed workers get their next units before the caller stores these results
                broken = len(finished) < len(done) or self._refill(pool, fn, todo, running)
                for future in finished:
                    yield future.result()
                if broken:  # a worker died: the units still in flight are the suspects
                    return list(running.values())
            return []
        finally:
            for future in running:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def _refill(self, pool, fn, todo: collections.deque, running: dict) -> bool:
        """Submit units until every worker has one; True when the pool is broken (a worker died since the last wait)."""
        while todo and len(running) < self.workers:
            try:
                future = pool.submit(fn, todo[0])
            except BrokenProcessPool:
                return True
            running[future] = todo.popleft()
        return False

    @staticmethod
    def _run_alone(fn, unit, context):
        """`fn(unit)` in a fresh process of its own: its result, or a UnitCrash when that process dies."""
        receive, send = context.Pipe(duplex=False)
        proc = context.Process(target=_run_and_send, args=(fn, unit, send, os.getpid()), name="avgenbench-alone")
        proc.start()
        send.close()
        try:
            result = receive.recv()
        except EOFError:  # it died before answering
            proc.join()
            return UnitCrash(unit, death_cause(proc.exitcode), proc.exitcode)
        finally:
            receive.close()
        proc.join()
        return result


def make_executor(workers: int) -> Executor:
    return InProcessExecutor() if workers <= 1 else ProcessPoolExecutor(workers)
