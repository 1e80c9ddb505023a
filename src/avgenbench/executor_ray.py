"""Units on a Ray cluster: `eval --executor ray [--ray-address auto|HOST:PORT]`.

Each worker is a Ray actor: a long-lived process that keeps its loaded models across units, declaring the CPUs, GPUs
and memory one unit needs, so Ray places it on a node that has them. The driver (the eval process) hands an actor one
unit at a time and gets its result back as soon as it ends, so the driver stays the only writer of the store and
resume works as with the process pool. A unit whose actor dies (its node went away, or the unit killed its process)
is run again on another actor; one that has killed MAX_ATTEMPTS actors is yielded as a UnitCrash, like the pool does.

Videos are read by path on whichever node measures them (decode once, where it is measured): every node must see the
videos folder at the same path (a shared or object-store mount).
"""

from __future__ import annotations

import collections
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from .executor import WORKER_MEMORY, UnitCrash

ADDRESS_ENV = "AVGENBENCH_RAY_ADDRESS"
MAX_ATTEMPTS = 3  # actors a unit may lose before it is taken to be the cause
PLACEMENT_TIMEOUT = 300.0  # seconds without any placed worker before the run stops
INSTALL_HINT = "--executor ray needs Ray: pip install 'avgenbench[ray]'"


class RayUnavailable(RuntimeError):
    """Ray is not installed, or the cluster cannot be reached."""


def import_ray():
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable(f"{INSTALL_HINT} ({exc})") from None
    return ray


def ray_address(option: str | None) -> str | None:
    """The cluster to join: the option, else $AVGENBENCH_RAY_ADDRESS, else None (a local Ray instance of our own)."""
    value = (option or os.environ.get(ADDRESS_ENV, "")).strip()
    return value or None


@dataclass(frozen=True)
class ActorResources:
    """What one worker asks Ray for. Lite work needs a core and a lite worker's memory; a paper backend on a GPU asks
    for one GPU as well, so Ray puts it on a GPU node."""

    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory: int = WORKER_MEMORY
    env_vars: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        gpus = f", {self.num_gpus:g} GPU" if self.num_gpus else ""
        return f"{self.num_cpus:g} CPU{gpus}, {self.memory / 2**30:.1f} GiB"

    def options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus, "memory": self.memory,
                                "max_restarts": 0, "max_task_retries": 0}
        threads = str(max(1, int(self.num_cpus)))  # one unit per actor: its native thread pools get its own cores only
        env = {"OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, **self.env_vars}
        opts["runtime_env"] = {"env_vars": env}
        return opts


def resources_for(tier: str, options: Mapping[str, Any]) -> ActorResources:
    device = str(options.get("device") or "")
    wants_gpu = tier == "paper" and device.startswith("cuda")
    return ActorResources(num_gpus=1.0 if wants_gpu else 0.0)


class UnitActor:
    """The body of a Ray worker: runs units with the function it is given; model caches live in its process."""

    def node(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()

    def run(self, fn, unit):
        return self.node(), fn(unit)


class RayExecutor:
    def __init__(self, workers: int | None = None, address: str | None = None,
                 resources: ActorResources | None = None):
        self.workers = workers
        self.address = address
        self.resources = resources or ActorResources()
        self.nodes_used: collections.Counter[str] = collections.Counter()  # node id -> units finished there
        self.retries = 0  # units run again because their actor died

    def _connect(self, ray) -> bool:
        """Join the cluster (or start a local instance); True when this call started the connection."""
        if ray.is_initialized():
            return False
        kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING,
                                  "log_to_driver": False, "configure_logging": True}
        if self.address is None:
            kwargs["address"] = "local"
            if self.workers:
                kwargs["num_cpus"] = self.workers
        else:
            kwargs["address"] = self.address
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = self.address or "a local instance"
            raise RayUnavailable(f"could not reach the Ray cluster at {where}: {exc}") from None
        return True

    def _actor_count(self, ray) -> int:
        if self.workers:
            return self.workers
        cpus = ray.cluster_resources().get("CPU", 1)
        return max(1, int(cpus // max(self.resources.num_cpus, 1e-6)))

    def map_unordered(self, fn, units) -> Iterator[Any]:
        ray = import_ray()
        started = self._connect(ray)
        remote_actor = ray.remote(UnitActor).options(**self.resources.options())
        todo = collections.deque(units)
        died = _actor_death_errors(ray)
        actors: list[Any] = []  # every actor made here, replacements too, to end them all
        starting: dict[Any, Any] = {}  # readiness ref -> actor not yet placed on a node
        idle: list[Any] = []
        running: dict[Any, tuple[Any, Any]] = {}  # result ref -> (actor, unit)
        losses: collections.Counter[int] = collections.Counter()

        def start_actor() -> None:
            actors.append(remote_actor.remote())
            starting[actors[-1].node.remote()] = actors[-1]

        def dispatch() -> None:
            while todo and idle:
                actor, unit = idle.pop(), todo.popleft()
                running[actor.run.remote(fn, unit)] = (actor, unit)

        for _ in range(min(self._actor_count(ray), max(1, len(todo)))):
            start_actor()
        try:
            while todo or running:
                dispatch()
                # Units go only to placed actors: one that no node can host yet (its node died and the rest are
                # busy) waits here, not with a unit. With nothing running and nothing placed for a while, say so.
                done, _ = ray.wait(list(running) + list(starting), num_returns=1,
                                   timeout=None if running else PLACEMENT_TIMEOUT)
                if not done:
                    raise RayUnavailable(f"no Ray node could start a worker ({self.resources.describe()}) within "
                                         f"{PLACEMENT_TIMEOUT:.0f} s; {len(todo)} unit(s) not run")
                for ref in done:
                    if ref in starting:
                        actor = starting.pop(ref)
                        try:
                            ray.get(ref)
                            idle.append(actor)
                        except died:
                            _kill(ray, actor)
                            start_actor()
                        continue
                    actor, unit = running.pop(ref)
                    try:
                        node, result = ray.get(ref)
                    except died as exc:
                        _kill(ray, actor)
                        start_actor()  # Ray places it where there is room
                        self.retries += 1
                        losses[id(unit)] += 1
                        if losses[id(unit)] >= MAX_ATTEMPTS:
                            yield UnitCrash(unit, f"its Ray worker died {MAX_ATTEMPTS} times ({_first_line(exc)})")
                        else:
                            todo.appendleft(unit)  # on another actor, usually another node
                        continue
                    idle.append(actor)
                    dispatch()  # the actor's next unit goes out before the caller stores this one's rows
                    self.nodes_used[node] += 1
                    yield result
        finally:
            for ref in running:
                ray.cancel(ref, force=True)
            for actor in actors:
                _kill(ray, actor)
            if started:
                ray.shutdown()


def _actor_death_errors(ray) -> tuple[type[BaseException], ...]:
    """The errors that mean the actor (or its node) is gone, as opposed to an exception raised by the unit."""
    names = ("RayActorError", "ActorDiedError", "ActorUnavailableError", "WorkerCrashedError", "NodeDiedError",
             "OwnerDiedError", "ObjectLostError")
    return tuple(getattr(ray.exceptions, n) for n in names if hasattr(ray.exceptions, n))


def _kill(ray, actor) -> None:
    try:
        ray.kill(actor, no_restart=True)
    except Exception:  # already gone with its node
        pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
