"""Shared base for the paper-tier judge backends of Hi-Phy, Holistic and judge-based Lo-Phy."""

from __future__ import annotations

from typing import Any

from ..dimensions.base import Backend, ItemContext, Measurement, Status
from ..media import Clip
from .client import client_from_options, judge_unavailable_reason
from .types import BudgetExhausted, JudgeError


class JudgeBackendBase(Backend):
    tier = "paper"

    def identity(self, options: dict[str, Any]) -> tuple[str, str]:
        # Rows made with another judge are redone, never mixed with this judge's.
        return self.name, f"{self.version}+{options.get('judge') or 'no-judge'}"

    def unavailable_reason(self, options: dict[str, Any]) -> str | None:
        return judge_unavailable_reason(options)

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        client = ctx.judge if ctx.judge is not None else client_from_options(ctx.options)
        if client is None:
            return Measurement(Status.NO_JUDGE, message="no judge configured")
        repeats = int(ctx.options.get("judge_repeats") or 1)
        try:
            result = self.judge(client, clip, ctx, repeats)
        except BudgetExhausted as exc:
            return Measurement(Status.ERROR, message=str(exc), evidence={"judge": client.label, "budget_stop": True})
        except JudgeError as exc:
            return Measurement(Status.ERROR, message=f"judge failed: {exc}", evidence={"judge": client.label})
        if isinstance(result, Measurement):
            return result
        evidence = {k: v for k, v in result.items() if k != "score"}
        evidence["judge"] = client.label
        return Measurement(Status.OK, result["score"], evidence)

    def judge(self, client, clip: Clip, ctx: ItemContext, repeats: int) -> dict[str, Any] | Measurement:
        raise NotImplementedError
