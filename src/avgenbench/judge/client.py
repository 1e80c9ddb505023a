"""JudgeClient: cache, budget, rate limits, retries with backoff, JSON parsing with one re-ask, cost ledger.

Built lazily once per process from picklable run options (`client_from_options`), so a process pool can use it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any, Mapping

from ..secrets import redact
from .backends import JudgeBackend, make_backend
from .cache import JudgeCache
from .jsonutil import extract_json, schema_errors
from .pricing import cost_of, price_for
from .spec import JudgeSpec, parse_spec
from .types import BudgetExhausted, JudgeError, JudgeRequest, JudgeResponse, TextPart, TransientError, Usage

log = logging.getLogger("avgenbench.judge")


@dataclass
class ClientSettings:
    session: str = ""
    max_cost: float | None = None
    timeout: float = 120.0
    retries: int = 4
    backoff: float = 2.0  # first wait (s); doubles per attempt, with jitter, capped at 60 s
    concurrency: int = 4
    rpm: int = 0  # requests per minute for this backend and model, across processes; 0: no limit


class JudgeClient:
    def __init__(self, backend: JudgeBackend, cache: JudgeCache, settings: ClientSettings | None = None):
        self.backend = backend
        self.cache = cache
        self.settings = settings or ClientSettings()
        if not self.settings.session:
            self.settings.session = uuid.uuid4().hex
        self.prices = price_for(backend.spec)
        self._slots = threading.BoundedSemaphore(max(1, self.settings.concurrency))
        self._rate_lock = threading.Lock()

    @property
    def label(self) -> str:
        return self.backend.spec.label

    def redact(self, text: str) -> str:
        return redact(text, self.backend.secrets)

    def cache_key(self, request: JudgeRequest) -> str:
        payload = json.dumps({"judge": self.backend.identity(), "request": request.fingerprint()}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def ask(self, request: JudgeRequest) -> JudgeResponse:
        """A schema-valid answer, from the cache or the judge. Raises JudgeError (BudgetExhausted) otherwise."""
        key = self.cache_key(request)
        ids = (self.backend.name, self.backend.model, f"{request.template_id}@{request.template_version}")
        hit = self.cache.get(key)
        if hit is not None:
            self.cache.record(self.settings.session, *ids, "ok", True, 0, 0, 0, 0.0)
            return JudgeResponse(hit["data"], hit["raw_text"], Usage(hit["input_tokens"], hit["output_tokens"]), 0.0,
                                 self.backend.name, self.backend.model, cached=True)
        limit = self.settings.max_cost
        if limit is not None and self.cache.session_cost(self.settings.session) >= limit:
            self.cache.record(self.settings.session, *ids, "budget", False, 0, 0, 0, 0.0, "max cost reached")
            raise BudgetExhausted(f"judge budget of ${limit:.2f} reached; no new judge calls are made")
        started = time.perf_counter()
        usage = Usage()
        tally = [0]  # network calls, counted even when the attempts end in an error
        try:
            with self.backend.media_session():  # e.g. one Files API upload for all attempts, deleted after
                data, reply = self._exchange(request, tally, usage)
        except JudgeError as exc:
            message = self.redact(str(exc))
            cost = cost_of(self.prices, usage.input_tokens, usage.output_tokens)
            self.cache.record(self.settings.session, *ids, "error", False, tally[0], usage.input_tokens,
                              usage.output_tokens, cost, message)
            raise JudgeError(message) from None
        cost = cost_of(self.prices, usage.input_tokens, usage.output_tokens)
        self.cache.put(key, self.backend.name, self.backend.model, ids[2], data, reply.text,
                       usage.input_tokens, usage.output_tokens)
        self.cache.record(self.settings.session, *ids, "ok", False, tally[0], usage.input_tokens, usage.output_tokens, cost)
        return JudgeResponse(data, reply.text, usage, time.perf_counter() - started, self.backend.name,
                             self.backend.model, calls=tally[0], cost=cost)

    def _exchange(self, request: JudgeRequest, tally: list[int], usage: Usage):
        """Ask, parse and check; on an unusable answer ask once more, quoting the problem."""
        reply = self._send_with_retries(request, tally)
        usage.input_tokens += reply.usage.input_tokens
        usage.output_tokens += reply.usage.output_tokens
        data, problem = _parse(reply.text, request)
        if problem:
            log.info("judge answer unusable (%s); asking again once", problem)
            again = replace(request, parts=list(request.parts) + [TextPart(
                f"Your previous answer could not be used: {problem}. Reply again with only one JSON object that "
                "follows the response schema exactly.")])
            reply = self._send_with_retries(again, tally)
            usage.input_tokens += reply.usage.input_tokens
            usage.output_tokens += reply.usage.output_tokens
            data, problem = _parse(reply.text, request)
            if problem:
                raise JudgeError(f"invalid judge answer after one re-ask: {problem}")
        return data, reply

    def _send_with_retries(self, request: JudgeRequest, tally: list[int]):
        attempts = max(0, self.settings.retries) + 1
        last = ""
        for attempt in range(attempts):
            self._respect_rpm()
            with self._slots:
                self.cache.note_send(self.backend.name, self.backend.model)
                tally[0] += 1
                try:
                    return self.backend.send(request, self.settings.timeout)
                except TransientError as exc:
                    last = self.redact(str(exc))
            if attempt + 1 < attempts:
                wait = min(60.0, self.settings.backoff * 2 ** attempt) * random.uniform(0.5, 1.0)
                log.info("judge call failed (%s); retry %d of %d in %.1f s", last, attempt + 1, attempts - 1, wait)
                time.sleep(wait)
        raise JudgeError(f"judge unreachable after {attempts} attempt(s): {last}")

    def _respect_rpm(self) -> None:
        rpm = self.settings.rpm
        if rpm <= 0:
            return
        with self._rate_lock:
            while True:
                count, oldest = self.cache.sends_since(self.backend.name, self.backend.model, time.time() - 60)
                if count < rpm or oldest is None:
                    return
                time.sleep(max(0.05, oldest + 60 - time.time()))


def _parse(text: str, request: JudgeRequest) -> tuple[Any, str]:
    try:
        data = extract_json(text)
    except ValueError as exc:
        return None, f"not valid JSON ({exc})"
    errors = schema_errors(data, request.schema)
    if errors:
        return None, "does not follow the schema: " + "; ".join(errors[:5])
    for field_name, ids in request.required_ids.items():
        answered = {entry.get("id") for entry in data.get(field_name, []) if isinstance(entry, dict)}
        missing = [i for i in ids if i not in answered]
        if missing:
            return None, f"'{field_name}' has no entry for id(s) {', '.join(missing[:10])}; answer every listed id"
    return data, ""


# Built once per process from picklable options --------------------------------

_CLIENTS: dict[tuple, JudgeClient] = {}
_LOCK = threading.Lock()


def settings_from(spec: JudgeSpec, options: Mapping[str, Any]) -> ClientSettings:
    return ClientSettings(
        session=str(options.get("judge_session") or ""),
        max_cost=options.get("max_cost"),
        timeout=spec.number("timeout") or 120.0,
        retries=int(spec.number("retries")),
        backoff=spec.number("backoff"),
        concurrency=int(spec.number("concurrency")) or 1,
        rpm=int(spec.number("rpm")),
    )


def client_from_options(options: Mapping[str, Any]) -> JudgeClient | None:
    """The process-wide client for options['judge'] (None when no judge is configured). Raises JudgeError/ValueError."""
    text = options.get("judge")
    if not text:
        return None
    key = (text, options.get("judge_base_url"), options.get("judge_cache"), options.get("judge_session"),
           options.get("max_cost"))
    with _LOCK:
        if key not in _CLIENTS:
            spec = parse_spec(text)
            backend = make_backend(spec, options.get("judge_base_url"))
            _CLIENTS[key] = JudgeClient(backend, JudgeCache(options.get("judge_cache")), settings_from(spec, options))
        return _CLIENTS[key]


def judge_unavailable_reason(options: Mapping[str, Any]) -> str | None:
    """'no judge ...' when none is configured (status no_judge), another reason when it cannot be built."""
    if not options.get("judge"):
        return "no judge configured: pass --judge gemini:MODEL or --judge openai:MODEL"
    try:
        client_from_options(options)
    except (JudgeError, ValueError) as exc:
        return f"judge {options.get('judge')!s} cannot run: {exc}"
    return None
