"""Limits and budgets around one call: check and reserve before it, settle after it, however it ends."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from gateway.auth.teams import TeamStore
from gateway.limits import Admission, LimitExceeded, LimitSpec, ratelimit_headers
from gateway.observability.metrics import Metrics


def limit_spec(limits: dict[str, Any] | None) -> LimitSpec | None:
    return LimitSpec.model_validate(limits) if limits else None


class Admissions:
    def __init__(
        self,
        *,
        limiter: Any,
        teams: TeamStore,
        target_limits: dict[str, LimitSpec],
        metrics: Metrics,
        default_output_tokens: int,
    ) -> None:
        self.limiter = limiter
        self._teams = teams
        self._targets = target_limits
        self._metrics = metrics
        self._default_output = default_output_tokens

    async def admit(
        self,
        ctx: Any,
        *,
        prompt_tokens: Callable[[], int],
        max_output_tokens: int | None,
        choices: int = 1,
        priced_on: Sequence[Any] = (),
    ) -> None:
        """Reserve, or raise the 429 (503 when a budget cannot be checked). Sets ctx.admission and headers.
        The worst case is reserved: every choice's output, at the dearest of `priced_on` (the fallback
        chain; the context's target without one)."""
        principal = ctx.principal
        key_spec: LimitSpec | None = principal.limit_spec
        team_spec = self._teams.limits(principal.team)
        target_spec = self._targets.get(ctx.target.name)
        specs = [s for s in (key_spec, team_spec, target_spec) if s is not None]
        if not specs:
            return  # nothing to enforce: no limiter round trip at all
        wants_tokens = any(s.tpm is not None or s.budgets for s in specs)
        wants_cost = any(s.budgets for s in specs)
        prompt = prompt_tokens() if wants_tokens else 0
        output = (self._default_output if max_output_tokens is None else max_output_tokens) * choices
        tokens = prompt + output if wants_tokens else 0
        max_cost = Decimal(0)
        if wants_cost:
            max_cost = max(t.price.cost(prompt, output) for t in (priced_on or (ctx.target,)))
        result = await self.limiter.admit(
            key_id=principal.key_id,
            team=principal.team,
            target=ctx.target.name,
            key_limits=key_spec,
            team_limits=team_spec,
            target_limits=target_spec,
            tokens=tokens,
            max_cost_usd=max_cost,
        )
        if isinstance(result, LimitExceeded):
            self._metrics.limit_rejections.labels(result.kind, result.scope).inc()
            raise result.error(ratelimit_headers(result))
        ctx.admission = result
        ctx.reply_headers.update(ratelimit_headers(result))

    async def settle(self, admission: Admission, *, tokens: int, cost: Decimal) -> None:
        await self.limiter.settle(admission, actual_tokens=tokens, actual_cost_usd=cost)
