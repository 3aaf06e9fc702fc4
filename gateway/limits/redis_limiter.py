"""The shared limiter: every counter in Redis, one atomic Lua call per admit and per settle.

Budgets live only here: run Redis with persistence (appendonly yes), or a Redis that restarts empty
forgets the spend of the current day, month and total. Rate windows and slots may be lost safely.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal

from redis.asyncio import Redis

from gateway.limits.base import DEFAULT_LEASE_S, WINDOW_S
from gateway.limits.checks import Check, checks_for_call
from gateway.limits.lua import ADMIT, SETTLE, SPEND
from gateway.limits.results import Admission, BudgetState, LimitExceeded, LimitState, Scope
from gateway.limits.spec import LimitSpec, actual_cost_micro, usd_to_micro

# One hash tag for every key: the multi-key scripts then also run on a Redis Cluster (in one slot).
DEFAULT_PREFIX = "{gwlim}:"
_PERIOD_CODES = {"day": "bd", "month": "bm", "total": "bt"}


class RedisLimiter:
    """Counters shared by every gateway process that points at the same Redis. Raises on Redis errors."""

    backend = "redis"

    def __init__(
        self,
        client: Redis,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        clock: Callable[[], float] | None = None,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self._client = client
        self._lease_ms = int(lease_s * 1000)
        self._clock = clock  # None: Redis's own clock, the same for every replica
        self._prefix = prefix
        self._admit = client.register_script(ADMIT)  # EVALSHA, reloaded by itself after a Redis restart
        self._settle = client.register_script(SETTLE)
        self._spend = client.register_script(SPEND)

    async def admit(
        self,
        *,
        key_id: str,
        team: str,
        target: str,
        key_limits: LimitSpec | None,
        team_limits: LimitSpec | None,
        target_limits: LimitSpec | None,
        tokens: int,
        max_cost_usd: Decimal,
    ) -> Admission | LimitExceeded:
        max_cost_micro = usd_to_micro(max_cost_usd)
        checks = checks_for_call(
            key_id=key_id,
            team=team,
            target=target,
            key_limits=key_limits,
            team_limits=team_limits,
            target_limits=target_limits,
            tokens=tokens,
            max_cost_micro=max_cost_micro,
        )
        return await self.admit_checks(checks, tokens=tokens, max_cost_micro=max_cost_micro)

    async def admit_checks(
        self, checks: tuple[Check, ...], *, tokens: int, max_cost_micro: int
    ) -> Admission | LimitExceeded:
        """Check and reserve planned checks all-or-nothing, in one round trip."""
        admission_id = uuid.uuid4().hex
        if not checks:
            return Admission(admission_id, "redis", 0, (), (), (), tokens, max_cost_micro)
        args: list[str | int] = [self._now_arg(), WINDOW_S, self._lease_ms, admission_id]
        for check in checks:
            code = "r" if check.kind in ("requests", "tokens") else "c" if check.kind == "concurrency" else ""
            args += [code or _PERIOD_CODES[check.period], check.limit, check.cost]
        keys = [self._inflight_key, *(self._prefix + c.name for c in checks)]
        reply = [int(x) for x in await self._admit(keys=keys, args=args)]
        all_ok, now_ms = reply[0], reply[1]
        verdicts = [reply[2 + 5 * i : 7 + 5 * i] for i in range(len(checks))]
        states = tuple(
            LimitState(c.kind, c.scope, c.limit, v[1], v[2] / 1000)
            for c, v in zip(checks, verdicts, strict=True)
        )
        if not all_ok:
            failed = [(c, v) for c, v in zip(checks, verdicts, strict=True) if not v[0]]
            # Report the limit that keeps the call out longest: retrying sooner would only fail again.
            check, v = max(failed, key=lambda cv: float("inf") if cv[1][3] < 0 else cv[1][3])
            return LimitExceeded(
                kind=check.kind,
                scope=check.scope,
                limit=check.limit,
                remaining=v[1],
                reset_s=v[2] / 1000,
                retry_after_s=None if v[3] < 0 else v[3] / 1000,
                states=states,
            )
        return Admission(
            id=admission_id,
            backend="redis",
            admitted_at_ms=now_ms,
            checks=checks,
            periods=tuple(v[4] for v in verdicts),
            states=tuple(
                LimitState(s.kind, s.scope, s.limit, max(0, s.remaining - c.cost), s.reset_s)
                for s, c in zip(states, checks, strict=True)
            ),
            tokens=tokens,
            max_cost_micro=max_cost_micro,
        )

    async def settle(self, admission: Admission, *, actual_tokens: int, actual_cost_usd: Decimal) -> None:
        if admission.settled or not admission.checks:
            admission.settled = True
            return
        actual_micro = actual_cost_micro(actual_cost_usd, admission.max_cost_micro)
        keys = [self._inflight_key]
        args: list[str | int] = [self._now_arg(), WINDOW_S, admission.id]
        for check, period in zip(admission.checks, admission.periods, strict=True):
            if check.kind == "requests":
                continue  # a request counts once, whatever happened to it
            keys.append(self._prefix + check.name)
            if check.kind == "tokens":
                delta = max(0, actual_tokens) - check.cost
                args += ["t", admission.admitted_at_ms // 1000, delta, 0]
            elif check.kind == "concurrency":
                args += ["c", 0, 0, 0]
            else:
                args += [_PERIOD_CODES[check.period], period, actual_micro - check.cost, actual_micro]
        await self._settle(keys=keys, args=args)
        admission.settled = True  # only once Redis has it: a failed settle can be retried

    async def spend(self, scope: Scope, id: str) -> list[BudgetState]:
        names = [Check("budget", scope, id, 0, 0, period).name for period in ("day", "month", "total")]
        reply = [
            int(x)
            for x in await self._spend(keys=[self._prefix + n for n in names], args=[self._now_arg(), 0])
        ]
        states = []
        for i, period in enumerate(("day", "month", "total")):
            current, stored, committed, spent, limit = reply[5 * i : 5 * i + 5]
            if stored < 0:
                continue
            if stored != current:
                committed = spent = 0
            states.append(
                BudgetState.of(
                    period, current, spent=spent, committed=committed, limit=None if limit < 0 else limit
                )
            )
        return states

    async def ping(self) -> bool:
        return bool(await self._client.ping())

    async def close(self) -> None:
        await self._client.aclose()

    @property
    def _inflight_key(self) -> str:
        return self._prefix + "inflight"

    def _now_arg(self) -> str | int:
        return "" if self._clock is None else int(self._clock() * 1000)
