"""Shared base for the paper-tier backends that use the judge: Hi-Phy, Holistic, Text, Speech, Music, Face, and the
judge-based Lo-Phy. `judge_optional` backends also run without a judge (Speech verbatim mode, Face with suite counts)."""

from __future__ import annotations

from typing import Any

from ..dimensions.base import Backend, ItemContext, Measurement, Status
from ..media import Clip
from .client import client_from_options, judge_unavailable_reason
from .spec import answer_identity
from .types import BudgetExhausted, JudgeError


class JudgeBackendBase(Backend):
    tier = "paper"
    judge_optional = False  # True: `judge` is called with client None when no judge is configured

    def identity(self, options: dict[str, Any]) -> tuple[str, str]:
        # Rows made with another judge (model or answer-changing setting) are redone, never mixed with this judge's;
        # a new timeout or retry count keeps them.
        judge = options.get("judge")
        return self.name, f"{self.version}+{answer_identity(judge) if judge else 'no-judge'}"

    def unavailable_reason(self, options: dict[str, Any]) -> str | None:
        return judge_unavailable_reason(options)

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        client = ctx.judge if ctx.judge is not None else client_from_options(ctx.options)
        if client is None and not self.judge_optional:
            return Measurement(Status.NO_JUDGE, message="no judge configured")
        repeats = int(ctx.options.get("judge_repeats") or 1)
        try:
            result = self.judge(client, clip, ctx, repeats)
        except BudgetExhausted as exc:
            return Measurement(Status.ERROR, message=str(exc), evidence={"judge": _label(client), "budget_stop": True})
        except JudgeError as exc:
            return Measurement(Status.ERROR, message=f"judge failed: {exc}", evidence={"judge": _label(client)})
        if isinstance(result, Measurement):
            return result
        evidence = {k: v for k, v in result.items() if k not in ("score", "message")}
        evidence["judge"] = _label(client)
        return Measurement(Status.OK, result["score"], evidence, str(result.get("message", "")))

    def judge(self, client, clip: Clip, ctx: ItemContext, repeats: int) -> dict[str, Any] | Measurement:
        raise NotImplementedError


def _label(client) -> str | None:
    return client.label if client is not None else None


def optional_judge_reason(options: dict[str, Any]) -> str | None:
    """For backends that can run without a judge: a reason only when a judge was asked for and cannot be built."""
    if not options.get("judge"):
        return None
    return judge_unavailable_reason(options)
