"""Fill OUT/<category>/<safe name>.mp4 for a suite with one provider: resumable, never paying twice.

Per prompt: a finished file is skipped; a job the ledger already holds is polled, not submitted again; otherwise
the prompt is submitted (unless --dry-run or --max-cost stop it) and its job id committed to the ledger before the
first poll. Transient errors are retried with exponential backoff; a refusal or a failed job is recorded with its
reason and not retried unless asked. A poll or download that keeps failing leaves the job `pending` in the ledger,
so the next run picks it up where it stopped. Videos are downloaded to a hidden name, checked to hold a video
stream, then renamed into place.
"""

from __future__ import annotations

import glob
import threading
from contextlib import nullcontext
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..suite import PromptItem, Suite
from . import ledger as L
from ..secrets import redact
from .base import DONE, FAILED, REFUSED, Fatal, Poll, Provider, Refused, Transient, Unconfirmed, Unsupported
from .prices import PriceError, load_prices, price_per_second

STAGING = ".staging"  # hidden folder in OUT for local renders; eval ignores hidden names


@dataclass
class Settings:
    concurrency: int = 4
    max_cost: float | None = None
    dry_run: bool = False
    retries: int = 4
    backoff: float = 2.0
    max_wait: float = 3600.0  # seconds one job may stay running before this run leaves it pending
    overwrite: bool = False
    retry_failed: bool = False
    sleep: Callable[[float], None] = time.sleep


@dataclass
class Outcome:
    key: str
    path: str
    status: str  # written | exists | unsupported | failed | refused | pending | over_budget | planned
    job_id: str = ""
    cost: float = 0.0
    message: str = ""


@dataclass
class Summary:
    provider: str
    model: str
    outcomes: list[Outcome] = field(default_factory=list)
    spent_total: float = 0.0  # estimated spend of every job in the ledger for this provider, earlier runs included

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for o in self.outcomes:
            counts[o.status] = counts.get(o.status, 0) + 1
        return counts

    @property
    def cost(self) -> float:
        return round(sum(o.cost for o in self.outcomes if o.status in ("written", "pending")), 4)

    @property
    def planned_cost(self) -> float:
        return round(sum(o.cost for o in self.outcomes if o.status == "planned"), 4)

    def as_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "model": self.model, "counts": self.counts, "cost_usd": self.cost,
                "planned_cost_usd": self.planned_cost,
                "ledger_spent_usd": self.spent_total, "results": [asdict(o) for o in self.outcomes]}


class GaveUp(RuntimeError):
    pass


def _retry(fn, settings: Settings, what: str):
    for attempt in range(settings.retries + 1):
        try:
            return fn()
        except Transient as exc:
            if attempt == settings.retries:
                raise GaveUp(f"{what}: {exc} (gave up after {attempt + 1} tries)") from None
            settings.sleep(settings.backoff * 2 ** attempt)


def _sidecars(tmp: Path, final: Path) -> list[tuple[Path, Path]]:
    return [(p, final.with_name(final.stem + p.name[len(tmp.stem):]))
            for p in tmp.parent.glob(glob.escape(tmp.stem) + ".*") if p != tmp]


def _is_video(path: Path) -> bool:
    import av

    try:
        with av.open(str(path)) as container:
            return len(container.streams.video) > 0
    except Exception:
        return False


class Runner:
    def __init__(self, suite: Suite, provider: Provider, out_dir: Path, settings: Settings,
                 prices: dict[str, dict[str, float]], on_outcome: Callable[[Outcome], None] | None = None):
        self.suite, self.provider, self.out, self.settings = suite, provider, Path(out_dir), settings
        self.ledger = L.Ledger(self.out, read_only=settings.dry_run)
        self.stop = threading.Event()  # set on Ctrl-C: workers stop submitting and polling, jobs stay in the ledger
        self.per_second = price_per_second(prices, provider.name, provider.model)
        self.on_outcome = on_outcome
        self._budget = threading.Lock()
        self._secrets = provider.secrets()
        provider.staging = self.out / STAGING

    def estimate(self) -> float:
        return round((self.per_second or 0.0) * self.provider.options.duration, 4)

    def run(self) -> Summary:
        summary = Summary(self.provider.name, self.provider.model)
        workers = min(self.settings.concurrency, self.provider.max_concurrency or self.settings.concurrency)
        pool = ThreadPoolExecutor(max(1, workers))
        try:
            futures = [pool.submit(self._safe, item) for item in self.suite.items]
            summary.outcomes = [f.result() for f in futures]
            summary.spent_total = round(self.ledger.spent(self.provider.name), 4)
        except BaseException:
            self.stop.set()  # Ctrl-C: running jobs stay `submitted` in the ledger and are polled by the next run
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)
            self.ledger.close()
        return summary

    def _safe(self, item: PromptItem) -> Outcome:
        final = item.expected_video(self.out)
        try:
            outcome = self._one(item, final)
        except (GaveUp, Fatal) as exc:
            outcome = Outcome(item.key, str(final), "failed", message=redact(str(exc), self._secrets))
        except Exception as exc:  # a provider bug must not stop the other prompts
            outcome = Outcome(item.key, str(final), "failed",
                              message=redact(f"{type(exc).__name__}: {exc}", self._secrets))
        if self.on_outcome:
            self.on_outcome(outcome)
        return outcome

    def _one(self, item: PromptItem, final: Path) -> Outcome:
        p, s, name, model = self.provider, self.settings, self.provider.name, self.provider.model
        cost = self.estimate()
        if final.exists() and not s.overwrite:
            return Outcome(item.key, str(final), "exists")
        if not p.supports(item):
            return Outcome(item.key, str(final), "unsupported", message=f"provider {name} cannot render this prompt")
        job = self.ledger.get(item.key, name, model)
        if job and job.state in (L.FAILED, L.REFUSED) and not s.retry_failed:
            return Outcome(item.key, str(final), job.state, job.job_id, message=job.reason + " (recorded; --retry-failed resubmits)")
        resume = job if job is not None and job.state in (L.SUBMITTED, L.SUCCEEDED) else None  # a job to poll again
        if s.dry_run:
            price = f"est. {cost:.2f} USD" if self.per_second is not None else "no price: see --prices"
            what = f"poll job {resume.job_id}" if resume else f"submit to {name}/{model} ({price})"
            return Outcome(item.key, str(final), "planned", resume.job_id if resume else "", 0.0 if resume else cost, what)
        if self.stop.is_set():
            return Outcome(item.key, str(final), "pending", resume.job_id if resume else "", message="interrupted")
        if resume:
            job_id, cost = resume.job_id, resume.cost
        else:
            job_id = self._submit(item, cost)
            if job_id is None:
                return Outcome(item.key, str(final), "over_budget", cost=0.0,
                               message=f"--max-cost {s.max_cost} reached")
            if isinstance(job_id, Outcome):
                job_id.path = str(final)
                return job_id
        return self._finish(item, final, job_id, cost)

    def _submit(self, item: PromptItem, cost: float):
        p, s = self.provider, self.settings
        # with --max-cost, one submit at a time keeps the spend check exact (submits are quick); otherwise in parallel
        with self._budget if s.max_cost is not None else nullcontext():
            if s.max_cost is not None and self.ledger.spent(p.name) + cost > s.max_cost + 1e-9:
                return None
            try:
                job_id = _retry(lambda: p.submit(item), s, "submit")
            except (Refused, Unconfirmed) as exc:
                reason = redact(str(exc), self._secrets)
                state = L.REFUSED if isinstance(exc, Refused) else L.FAILED
                self.ledger.submitted(item.key, p.name, p.model, "", 0.0)
                self.ledger.update(item.key, p.name, p.model, state, reason)
                return Outcome(item.key, "", state, message=reason)
            except Unsupported as exc:
                return Outcome(item.key, "", "unsupported", message=str(exc))
            self.ledger.submitted(item.key, p.name, p.model, job_id, cost)
        return job_id

    def _finish(self, item: PromptItem, final: Path, job_id: str, cost: float) -> Outcome:
        p, s = self.provider, self.settings
        deadline = time.monotonic() + s.max_wait
        while True:
            try:
                state = _retry(lambda: p.poll(job_id), s, "poll")
            except Refused as exc:
                state = Poll(REFUSED, reason=str(exc))
            except Fatal as exc:
                if getattr(exc, "status", None) != 404:
                    raise  # e.g. a revoked key: the job stays `submitted` for a run that can poll it
                state = Poll(FAILED, reason=f"the provider no longer knows job {job_id} ({exc})")
            except GaveUp as exc:
                return Outcome(item.key, str(final), "pending", job_id, cost, f"{exc}; the next run polls it again")
            if state.state == DONE:
                break
            if state.state in (FAILED, REFUSED):
                reason = redact(state.reason or state.state, self._secrets)
                self.ledger.update(item.key, p.name, p.model, state.state, reason)
                return Outcome(item.key, str(final), state.state, job_id, 0.0, reason)
            if self.stop.is_set():
                return Outcome(item.key, str(final), "pending", job_id, cost, "interrupted; the next run polls it again")
            if time.monotonic() > deadline:
                return Outcome(item.key, str(final), "pending", job_id, cost,
                               f"still running after {s.max_wait:.0f} s; the next run polls it again")
            s.sleep(p.poll_interval)
        self.ledger.update(item.key, p.name, p.model, L.SUCCEEDED)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".partial-{final.stem}.mp4")

        def fetch() -> None:
            p.download(state, tmp)
            if not tmp.is_file() or not _is_video(tmp):
                raise Transient("downloaded file holds no readable video stream")

        try:
            _retry(fetch, s, "download")
            for src, dst in _sidecars(tmp, final):
                src.replace(dst)
            tmp.replace(final)
        except GaveUp as exc:
            return Outcome(item.key, str(final), "pending", job_id, cost, f"{exc}; the next run downloads it again")
        finally:
            for src, _ in _sidecars(tmp, final):
                src.unlink(missing_ok=True)
            tmp.unlink(missing_ok=True)
        self.ledger.update(item.key, p.name, p.model, L.WRITTEN)
        return Outcome(item.key, str(final), "written", job_id, cost)


def run(suite: Suite, provider: Provider, out_dir: Path | str, settings: Settings | None = None,
        prices: dict[str, dict[str, float]] | str | Path | None = None,
        on_outcome: Callable[[Outcome], None] | None = None) -> Summary:
    """Generate every prompt of `suite` with `provider` into `out_dir`. Raises Fatal when the provider cannot run
    (no key, no SDK) or --max-cost is set for a model without a price."""
    settings = settings or Settings()
    table = prices if isinstance(prices, dict) else load_prices(prices)
    provider.check()
    runner = Runner(suite, provider, Path(out_dir), settings, table, on_outcome)
    if settings.max_cost is not None and runner.per_second is None:
        raise PriceError(f"no price for {provider.name}/{provider.model}; give one with --prices to use --max-cost")
    return runner.run()
