"""The list of limits that apply to one call: a pure function of the three scopes' specs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from gateway.limits.spec import LimitSpec

CheckKind = Literal["requests", "tokens", "concurrency", "budget"]
CheckScope = Literal["key", "team", "target"]
CheckPeriod = Literal["day", "month", "total", ""]


@dataclass(frozen=True, slots=True)
class Check:
    """One limit to check and reserve atomically with the others."""

    kind: CheckKind
    scope: CheckScope
    id: str
    limit: int  # requests, tokens, slots or micro-dollars
    cost: int  # what this call reserves (a slot counts 1)
    period: CheckPeriod = ""

    @property
    def name(self) -> str:
        """Storage name; the id comes last so ids with ':' in them cannot collide."""
        if self.kind == "budget":
            return f"{self.scope}:budget:{self.period}:{self.id}"
        return f"{self.scope}:{self.kind}:{self.id}"


def plan_checks(
    *,
    scopes: list[tuple[CheckScope, str, LimitSpec | None]],
    tokens: int,
    max_cost_micro: int,
) -> tuple[Check, ...]:
    """Every limit that applies: key, team, target; within a scope slots, requests, tokens, money."""
    checks: list[Check] = []
    for scope, scope_id, spec in scopes:
        if spec is None:
            continue
        if spec.max_concurrency is not None:
            checks.append(Check("concurrency", scope, scope_id, spec.max_concurrency, 1))
        if spec.rpm is not None:
            checks.append(Check("requests", scope, scope_id, spec.rpm, 1))
        if spec.tpm is not None:
            checks.append(Check("tokens", scope, scope_id, spec.tpm, tokens))
        for budget in spec.budgets:
            checks.append(Check("budget", scope, scope_id, budget.micro_usd, max_cost_micro, budget.period))
    return tuple(checks)


def checks_for_call(
    *,
    key_id: str,
    team: str,
    target: str,
    key_limits: LimitSpec | None,
    team_limits: LimitSpec | None,
    target_limits: LimitSpec | None,
    tokens: int,
    max_cost_micro: int,
) -> tuple[Check, ...]:
    """Validate one call's reservation and list its checks; bad arguments are the caller's bug."""
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
        raise ValueError(f"tokens must be a non-negative integer, got {tokens!r}")
    if max_cost_micro < 0:
        raise ValueError("max_cost_usd must not be negative")
    return plan_checks(
        scopes=[("key", key_id, key_limits), ("team", team, team_limits), ("target", target, target_limits)],
        tokens=tokens,
        max_cost_micro=max_cost_micro,
    )
