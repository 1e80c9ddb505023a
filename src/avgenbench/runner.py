"""eval: plan the (video, dimension) work a run still needs, run it through an executor, store each unit as it ends."""

from __future__ import annotations

import time
import traceback
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from . import __version__, numba_cache
from .annotations import PromptAnnotation, annotation_for
from .dimensions import get_backend, get_dimension
from .dimensions.base import RETRY_STATUSES, Backend, Dimension, ItemContext, Measurement, Status
from .executor import Executor, UnitCrash, make_executor
from .media import DECODE_COUNTS, Clip, MediaNeeds, MediaStatus, decode, file_sha256
from .options import RunOptions
from .provenance import environment, row_context
from .store import ResultRow, Store
from .suite import PromptItem, Suite


@dataclass(frozen=True)
class PlannedDimension:
    """A dimension resolved once per run: its declaration, its backend in the run's tier (None when the tier has
    none), why that backend cannot run here (None when it can), the identity its rows are stored under, what it
    reads, and the tags of the judge templates it asks. A worker process gets it back with its own backend instance."""

    id: str
    tier: str
    dimension: Dimension
    backend: Backend | None
    unavailable: str | None
    identity: tuple[str, str]
    needs: MediaNeeds
    templates: tuple[str, ...] = ()

    def __reduce__(self):
        return _planned_in_this_process, (self.id, self.tier, self.unavailable, self.identity, self.needs,
                                          self.templates)


def _planned_in_this_process(dim_id: str, tier: str, unavailable: str | None, identity: tuple[str, str],
                             needs: MediaNeeds, templates: tuple[str, ...]) -> PlannedDimension:
    """A PlannedDimension unpickled in a worker: what was resolved stays, the backend is this process's own."""
    return PlannedDimension(dim_id, tier, get_dimension(dim_id), get_backend(dim_id, tier), unavailable, identity,
                            needs, templates)


def plan_dimension(dim_id: str, tier: str, options: Mapping[str, Any]) -> PlannedDimension:
    """One dimension resolved for a tier and the run's options (see PlannedDimension)."""
    dimension = get_dimension(dim_id)
    backend = get_backend(dim_id, tier)
    if backend is None:
        return PlannedDimension(dim_id, tier, dimension, None, None, ("none", "0"), dimension.needs)
    template_ids = getattr(backend, "templates", ())
    templates: tuple[str, ...] = ()
    if template_ids:  # judge backends only: the lite tier never loads the judge package
        from .judge.templates import load

        templates = tuple(load(t).tag for t in template_ids)
    try:
        unavailable = backend.unavailable_reason(options)
    except Exception as exc:  # a tool fault: every row of this dimension records it
        unavailable = f"{type(exc).__name__}: {exc}"
    return PlannedDimension(dim_id, tier, dimension, backend, unavailable, backend.identity(options),
                            backend.needs() or dimension.needs, templates)


def plan_dimensions(dims: list[str], tier: str, options: Mapping[str, Any]) -> dict[str, PlannedDimension]:
    """Each dimension of a run resolved once (registry, backend, identity, needs, templates)."""
    return {d: plan_dimension(d, tier, options) for d in dims}


@dataclass
class Unit:
    item: PromptItem
    video_path: str | None
    dimensions: list[str]
    tier: str
    annotation: dict[str, Any]
    options: Mapping[str, Any] = field(default_factory=dict)  # RunOptions in a run; a plain dict still works
    planned: dict[str, PlannedDimension] | None = None  # resolved by the run; None: run_unit resolves them itself

    def plan(self) -> dict[str, PlannedDimension]:
        """The unit's dimensions resolved: the run's plan, else resolved now (a unit made outside a run)."""
        if self.planned is not None and all(d in self.planned for d in self.dimensions):
            return self.planned
        return plan_dimensions(self.dimensions, self.tier, self.options)


@dataclass
class UnitResult:
    item: PromptItem
    video_path: str | None
    media: dict[str, Any]
    decodes: int
    decode_seconds: float
    measurements: list[tuple[str, str, str, Measurement, float, float]]  # dim, backend, version, m, started, seconds
    contexts: dict[str, str] = field(default_factory=dict)  # dim -> row_context


def _row_context(dim_id: str, unit: Unit, planned: PlannedDimension | None = None) -> str:
    """What a row of `dim_id` for this unit is measured against (provenance.row_context); a change recomputes it."""
    planned = planned or (unit.planned or {}).get(dim_id) or plan_dimension(dim_id, unit.tier, unit.options)
    return row_context(planned.dimension.annotations_used, unit.annotation, list(planned.templates), unit.item.prompt)


def _precheck(planned: PlannedDimension, clip: Clip | None) -> Measurement | None:
    """A measurement decided without running the backend: no backend, unavailable tool, or unusable media."""
    dim, tier = planned.dimension, planned.tier
    if planned.backend is None:
        return Measurement(Status.UNAVAILABLE_IN_TIER, message=f"{dim.display} has no {tier}-tier backend")
    reason = planned.unavailable
    if reason:
        status = Status.NO_JUDGE if reason.startswith("no judge") else Status.ERROR
        return Measurement(status, message=reason)
    if clip is None:
        return None
    if not clip.ok:
        return Measurement(clip.status, message=clip.message)
    needs = planned.needs
    if needs.needs_audio and not clip.has_audio:
        return Measurement(Status.NO_AUDIO_STREAM, message="the video has no audio track")
    for part, reads in (("frames", bool(needs.frames)), ("audio", needs.needs_audio or bool(needs.audio_rates))):
        if reads and part in clip.faults:  # e.g. frames too small to judge, audio that never plays with the picture
            status, message = clip.faults[part]
            return Measurement(status, message=message)
    if clip.duration < needs.min_seconds:
        return Measurement(Status.TOO_SHORT, message=f"{dim.display} needs at least {needs.min_seconds:g} s; clip has {clip.duration:.2f} s")
    return None


def _applies(planned: PlannedDimension, ctx: ItemContext) -> Measurement | None:
    try:
        assert planned.backend is not None, "a dimension without a backend in the tier is settled by _precheck"
        return planned.backend.applies(ctx)
    except Exception as exc:  # a tool fault, recorded like one raised in measure
        return Measurement(Status.ERROR, message=f"{type(exc).__name__}: {exc}")


def _peak_rss_mib() -> float | None:
    """Peak resident memory of the process that ran the unit (a worker, or this process), in MiB."""
    try:
        import resource
        import sys
    except ImportError:  # not on this platform
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def run_unit(unit: Unit) -> UnitResult:
    """Decode the unit's video once and measure every requested dimension on it. Never raises."""
    plan = unit.plan()
    ctx = ItemContext(unit.item, PromptAnnotation.model_validate(unit.annotation), unit.tier, unit.options,
                      judge=unit.options.get("judge_client"))
    pending = {d: _precheck(plan[d], None) or _applies(plan[d], ctx) for d in unit.dimensions}
    runnable = [d for d, m in pending.items() if m is None]  # only these dimensions' media is decoded
    needs = MediaNeeds(needs_video=False)
    for dim_id in runnable:
        needs = needs.merge(plan[dim_id].needs)
    clip: Clip | None = None
    decodes = 0
    t0 = time.perf_counter()
    if runnable:
        key = str(Path(unit.video_path).resolve()) if unit.video_path else None
        before = DECODE_COUNTS[key] if key else 0
        clip = decode(unit.video_path, needs)
        decodes = (DECODE_COUNTS[key] - before) if key else 0
    decode_seconds = time.perf_counter() - t0
    results = []
    for dim_id in unit.dimensions:
        planned = plan[dim_id]
        backend_name, backend_version = planned.identity
        started = time.time()
        t1 = time.perf_counter()
        measurement = pending[dim_id] or _precheck(planned, clip)
        if measurement is None:
            try:
                assert planned.backend is not None and clip is not None, "settled by _precheck before measuring"
                measurement = planned.backend.measure(clip, ctx)
            except Exception as exc:  # a tool fault: recorded, never fatal
                tail = traceback.format_exc(limit=3).strip().splitlines()[-1]
                measurement = Measurement(Status.ERROR, message=f"{type(exc).__name__}: {exc}", evidence={"trace": tail})
            _note_truncation(measurement, clip, planned.needs)
        _note_timing(measurement, clip)
        results.append((dim_id, backend_name, backend_version, measurement, started, time.perf_counter() - t1))
    media = clip.summary() if clip else {"status": "not_decoded", "sha256": _sha256_or_empty(unit.video_path)}
    media["peak_rss_mib"] = _peak_rss_mib()
    return UnitResult(unit.item, unit.video_path, media, decodes, decode_seconds, results,
                      {d: _row_context(d, unit, plan[d]) for d in unit.dimensions})


def _sha256_or_empty(path: str | None) -> str:
    """The file's hash for a unit that decoded nothing (its rows are kept on resume while the file is unchanged)."""
    try:
        return file_sha256(Path(path)) if path else ""
    except OSError:  # gone or unreadable: the rows say so when the video is next decoded
        return ""


def _note_timing(measurement: Measurement, clip: Clip | None) -> None:
    """Put a late video start or a shifted audio track (Clip.timing_notes) in the evidence, and say a shifted audio
    track in the message: it is a fault of the video that a score alone would hide."""
    if clip is None:
        return
    notes = clip.timing_notes()
    if not notes or not isinstance(measurement.evidence, dict):
        return
    measurement.evidence.update(notes)
    if "audio_offset_s" in notes and clip.faults.get("audio", ("",))[0] != measurement.status:
        note = f"the audio track is shifted {notes['audio_offset_s']:+.2f} s against the picture"
        measurement.message = f"{measurement.message}; {note}" if measurement.message else note


CRASH_HINT = "not measured again unless `eval --retry-errors`"


def crash_result(crash: UnitCrash) -> UnitResult:
    """`error` rows for every dimension of a unit whose worker process died while measuring it, naming the cause."""
    unit: Unit = crash.unit
    message = f"the worker process died ({crash.cause}) while measuring this video; {CRASH_HINT}"
    evidence = {"worker_crash": crash.cause, "exitcode": crash.exitcode}
    now = time.time()
    plan = unit.plan()
    rows = [(dim_id, *plan[dim_id].identity,
             Measurement(Status.ERROR, message=message, evidence=dict(evidence)), now, 0.0) for dim_id in unit.dimensions]
    media = {"status": "not_decoded", "worker_crash": crash.cause, "sha256": _sha256_or_empty(unit.video_path)}
    return UnitResult(unit.item, unit.video_path, media, 0, 0.0, rows,  # hashed so that resume keeps the crash rows
                      {d: _row_context(d, unit, plan[d]) for d in unit.dimensions})


def _note_truncation(measurement: Measurement, clip: Clip | None, needs: MediaNeeds) -> None:
    """Say in the evidence when a frame stream this measurement read stopped early (media.MAX_STREAM_BYTES)."""
    if clip is None or not isinstance(measurement.evidence, dict):
        return
    stops = {spec.label: clip.frames[spec].truncated_at for spec in needs.frames if spec in clip.frames}
    cut = {label: round(at, 2) for label, at in stops.items() if at is not None}
    if cut:
        measurement.evidence["frames_truncated_at_s"] = cut
        note = f"frames read up to {min(cut.values()):g} s of {clip.duration:.1f} s (stream memory cap)"
        measurement.message = f"{measurement.message}; {note}" if measurement.message else note


@dataclass
class EvalSummary:
    run: str
    tier: str
    out_dir: str
    units_run: int
    rows_written: int
    rows_skipped: int
    videos: dict[str, dict[str, Any]]
    interrupted: bool = False
    error: str = ""
    crashed: dict[str, str] = field(default_factory=dict)  # video_key -> cause: its worker process died in this run
    crashed_kept: dict[str, str] = field(default_factory=dict)  # video_key -> cause: died in an earlier run, skipped

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def plan_units(suite: Suite, videos_dir: Path, store: Store, run: str, tier: str, dims: list[str], force: bool,
               options: Mapping[str, Any], retry_errors: bool = False, crashed_kept: dict[str, str] | None = None,
               held: list[Unit] | None = None, plan: dict[str, PlannedDimension] | None = None) -> tuple[list[Unit], int]:
    """Units still to do, and how many stored rows are kept. A row is kept when it was made by the backend identity
    in use now (name and version, which include e.g. the judge), its video file has not changed and its status is
    final (errors and no-judge rows are retried), and it was measured against the same annotation parts and judge
    templates (provenance.row_context: a requirement that changed, or a new rubric, recomputes it). Rows saying the
    video's worker process died are kept too (feeding it to a worker again would kill it again) unless
    `retry_errors`: such videos go to `crashed_kept`, and what they still need (new dimensions, a new backend
    version) to `held` instead of the units. `plan`: the run's dimensions resolved once (plan_dimensions)."""
    plan = plan if plan is not None else plan_dimensions(dims, tier, options)
    stored: dict[tuple[str, str], tuple[tuple[str, str], str | None, str, str]] = {}
    crashed = {} if (force or retry_errors) else store.crashed_videos(run)
    crashed_sha: dict[str, str | None] = {}  # the file that crashed a worker: a changed file is measured again
    if not force:
        for video_key, dim_id, backend, version, sha, status, context in store.iter_finished(run):
            if video_key in crashed and status == Status.ERROR:
                status = "worker_crash"  # final until asked to retry
                crashed_sha[video_key] = sha
            stored[(video_key, dim_id)] = ((backend, version), sha, status, context)
    units: list[Unit] = []
    kept = 0
    for item in suite.items:
        path = item.find_video(videos_dir)
        sha = (_sha256_or_empty(str(path)) or None) if (path and stored) else None  # a vanished file is redone
        todo = []
        unit = Unit(item, str(path) if path else None, [], tier, annotation_for(suite, item).model_dump(), options, plan)
        for dim_id in dims:
            prior = stored.get((item.key, dim_id))
            if (prior and prior[0] == plan[dim_id].identity and prior[1] == sha
                    and prior[2] not in RETRY_STATUSES and prior[3] == _row_context(dim_id, unit, plan[dim_id])):
                kept += 1
                if prior[2] == "worker_crash" and crashed_kept is not None:
                    crashed_kept[item.key] = crashed[item.key]
            else:
                todo.append(dim_id)
        if todo:
            unit.dimensions = todo
            unit.planned = {d: plan[d] for d in todo}
            if item.key in crashed_sha and crashed_sha[item.key] == sha:
                if crashed_kept is not None:
                    crashed_kept[item.key] = crashed[item.key]
                if held is not None:
                    held.append(unit)
            else:
                units.append(unit)
    return units, kept


def claim_run(out_dir: Path | str, run: str, tier: str, videos_dir: Path | str, replace: bool = False) -> dict[str, Any] | None:
    """Check that `run` may take the results of `videos_dir` (RunTierConflict / RunFolderConflict otherwise); with
    `replace`, first delete whatever the run holds. Returns what was deleted, or None."""
    with Store(out_dir) as store:
        removed = store.delete_run(run) if replace else None
        store.check_run(run, tier, str(Path(videos_dir).resolve()))
    return removed


def evaluate(suite: Suite, videos_dir: Path | str, out_dir: Path | str, run: str, tier: str, dims: list[str],
             workers: int = 1, force: bool = False, options: Mapping[str, Any] | None = None,
             on_progress: Callable[[UnitResult], None] | None = None, on_plan: Callable[[int, dict[str, str]], None] | None = None,
             retry_errors: bool = False, executor: Executor | None = None) -> EvalSummary:
    """Measure what the run still needs and store each video's rows as it ends. A video whose worker process dies
    gets `error` rows naming the cause (summary.crashed) and the others carry on; the next eval skips it
    (summary.crashed_kept) unless `retry_errors`. `executor` runs the units (default: a process pool of `workers`)."""
    videos_dir = Path(videos_dir)
    options = RunOptions.from_mapping(options)
    config = {"dimensions": dims, "suite_prompts": len(suite.items), "workers": workers,
              "executor": type(executor).__name__ if executor else "process",
              **{k: v for k, v in options.items() if k in ("failure_policy", "judge")}}
    summary = EvalSummary(run, tier, str(out_dir), 0, 0, 0, {})
    with Store(out_dir) as store:
        store.ensure_run(run, tier, str(videos_dir.resolve()), str(suite.root), __version__, config, environment())
        held: list[Unit] = []
        plan = plan_dimensions(dims, tier, options)  # once per run; units and workers carry it
        units, summary.rows_skipped = plan_units(suite, videos_dir, store, run, tier, dims, force, options,
                                                 retry_errors, summary.crashed_kept, held, plan)
        for unit in held:  # a video that killed a worker before is not fed to one again; its new rows say why
            _store_unit(store, run, tier, crash_result(UnitCrash(unit, summary.crashed_kept[unit.item.key])), plan)
            summary.rows_written += len(unit.dimensions)
        if on_plan:
            on_plan(len(units), summary.crashed_kept)
        if any("music" in unit.dimensions for unit in units):  # only Music's pYIN runs numba kernels
            numba_cache.ensure_healthy()  # before any worker loads the kernel cache: rebuilt once here when broken
        executor = executor or make_executor(workers if len(units) > 1 else 1)
        try:
            for result in executor.map_unordered(run_unit, units):
                if isinstance(result, UnitCrash):
                    summary.crashed[result.unit.item.key] = result.cause
                    result = crash_result(result)
                _store_unit(store, run, tier, result, plan)
                summary.units_run += 1
                summary.rows_written += len(result.measurements)
                summary.videos[result.item.key] = {"media": {**result.media, "decodes": result.decodes},
                                                   "video_path": result.video_path}
                if on_progress:
                    on_progress(result)
        except KeyboardInterrupt:
            summary.interrupted = True
            summary.error = "interrupted"
        except BrokenProcessPool as exc:  # not expected: the pool runs the units of a dead worker alone
            summary.interrupted = True
            summary.error = f"a worker process died: {exc}"
    return summary


def _store_unit(store: Store, run: str, tier: str, result: UnitResult,
                plan: dict[str, PlannedDimension] | None = None) -> None:
    item = result.item
    sha = result.media.get("sha256") or None  # hashed once, from the bytes decoded: the file may be gone by now
    rows = []
    for dim_id, backend, version, m, started, seconds in result.measurements:
        dim = plan[dim_id].dimension if plan and dim_id in plan else get_dimension(dim_id)
        normalized = dim.normalize(m.raw) if (m.status == Status.OK and m.raw is not None) else None
        rows.append(ResultRow(run, item.key, dim_id, backend, version, tier, item.category, item.content,
                              result.video_path, sha, m.status, m.raw, normalized, m.evidence, m.message, started, seconds,
                              result.contexts.get(dim_id, "")))
    store.write_results(rows)
    status = result.media.get("status", MediaStatus.MISSING_VIDEO)
    store.write_media(run, item.key, result.video_path, status, result.decodes, result.decode_seconds, result.media,
                      item.prompt)
