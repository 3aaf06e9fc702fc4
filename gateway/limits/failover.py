"""Redis first, this process's memory while Redis is away; back to Redis by itself when it returns.

What happens to each kind of limit during a Redis outage, and why:

- Requests, tokens and concurrency fail OPEN: they are counted in this process's memory, with the same
  limits. They protect capacity, which recovers by itself; refusing every call because the limiter's
  store is down would turn a Redis outage into a gateway outage. The cost: with N replicas the effective
  limit is up to N times the configured one, and counts made during the outage are not carried into Redis.
- Budgets fail CLOSED: a call that has a budget in any scope (key, team or target) is refused with a 503
  (`LimitExceeded.unavailable`, code "budget_unavailable", Retry-After) — calls without budgets flow on.
  Money spent cannot be taken back, local counters would start from zero (a "total" budget would be
  granted again per replica), and the spend so far is only known to Redis.
- Settlements of calls admitted by Redis that cannot reach Redis are queued (bounded) and replayed once it
  is back; settle is idempotent on the Redis side, so a replay never counts twice. Until then their
  reservations stand at the worst case, which only errs on the safe side.

A reply lost after Redis ran the admit script (a timeout) leaves that call counted both in Redis and
locally until its window or lease ends: the error is on the safe side.

Recovery needs no restart: after a failure Redis is skipped for `retry_interval_s`, then one call probes it
(the client reconnects on its own) while the others stay local; the first success ends the outage.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.errors import GatewayError
from gateway.limits.checks import Check, checks_for_call
from gateway.limits.memory import MemoryLimiter
from gateway.limits.redis_limiter import RedisLimiter
from gateway.limits.results import Admission, BudgetState, LimitExceeded, Scope
from gateway.limits.spec import LimitSpec, usd_to_micro

logger = logging.getLogger(__name__)

# What "Redis is away" looks like; a script error (ResponseError) is a bug and is not swallowed.
REDIS_DOWN_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)
MAX_PENDING_SETTLES = 100_000


@dataclass(slots=True)
class LimiterHealth:
    """Counters for metrics and /health: how often the shared store was missed and what it cost."""

    redis_up: bool = True
    redis_failures: int = 0  # calls to Redis that failed
    outages: int = 0  # transitions from up to down
    local_admissions: int = 0  # admitted by in-process counters while Redis was down
    budget_refusals: int = 0  # refused because a budget could not be checked
    replayed_settles: int = 0
    dropped_settles: int = 0  # queue full: those reservations stand at the worst case


class FailoverLimiter:
    """The limiter used with a Redis URL: shared counters, degraded to local ones during an outage."""

    def __init__(
        self,
        primary: RedisLimiter,
        fallback: MemoryLimiter,
        *,
        retry_interval_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._primary = primary
        self._fallback = fallback
        self._retry_interval_s = retry_interval_s
        self._monotonic = monotonic
        self._skip_until = 0.0
        self._probing = False
        self._pending: deque[tuple[Admission, int, Decimal]] = deque()
        self._replay_task: asyncio.Task[None] | None = None
        self.health = LimiterHealth()

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
        if not checks:  # nothing to count: no round trip, and no news about Redis either
            return self._fallback.admit_checks(checks, tokens=tokens, max_cost_micro=max_cost_micro)
        if self._may_try_redis():
            try:
                result = await self._primary.admit_checks(
                    checks, tokens=tokens, max_cost_micro=max_cost_micro
                )
            except REDIS_DOWN_ERRORS as exc:
                self._redis_failed(exc)
            else:
                self._redis_ok()
                return result
            finally:
                self._probing = False  # also when the caller was cancelled mid-probe
        return self._admit_locally(checks, tokens=tokens, max_cost_micro=max_cost_micro)

    async def settle(self, admission: Admission, *, actual_tokens: int, actual_cost_usd: Decimal) -> None:
        if admission.backend == "memory":
            await self._fallback.settle(
                admission, actual_tokens=actual_tokens, actual_cost_usd=actual_cost_usd
            )
            return
        if admission.settled:
            return
        if self.health.redis_up:
            try:
                # Shielded: a client that disconnects mid-settle must not leave its slot taken.
                await asyncio.shield(
                    self._primary.settle(
                        admission, actual_tokens=actual_tokens, actual_cost_usd=actual_cost_usd
                    )
                )
                return
            except REDIS_DOWN_ERRORS as exc:
                self._redis_failed(exc)
        self._queue_settle(admission, actual_tokens, actual_cost_usd)

    async def spend(self, scope: Scope, id: str) -> list[BudgetState]:
        try:
            states = await self._primary.spend(scope, id)
        except REDIS_DOWN_ERRORS as exc:
            self._redis_failed(exc)
            raise GatewayError(503, "Spend is unavailable: the limits store cannot be reached.") from exc
        self._redis_ok()
        return states

    @property
    def pending_settles(self) -> int:
        return len(self._pending)

    async def close(self) -> None:
        if self._replay_task is not None:
            self._replay_task.cancel()
            await asyncio.gather(self._replay_task, return_exceptions=True)
        await self._primary.close()
        await self._fallback.close()

    def _admit_locally(
        self, checks: tuple[Check, ...], *, tokens: int, max_cost_micro: int
    ) -> Admission | LimitExceeded:
        budget = next((c for c in checks if c.kind == "budget"), None)
        if budget is not None:
            self.health.budget_refusals += 1
            return LimitExceeded(
                kind="budget",
                scope=budget.scope,
                limit=budget.limit,
                remaining=0,
                reset_s=0.0,
                retry_after_s=self._retry_interval_s,
                unavailable=True,
            )
        self.health.local_admissions += 1
        return self._fallback.admit_checks(checks, tokens=tokens, max_cost_micro=max_cost_micro)

    def _may_try_redis(self) -> bool:
        if self.health.redis_up:
            return True
        if self._probing or self._monotonic() < self._skip_until:
            return False
        self._probing = True  # one call probes; the others stay local until it succeeds
        return True

    def _redis_failed(self, exc: BaseException) -> None:
        self.health.redis_failures += 1
        self._probing = False
        self._skip_until = self._monotonic() + self._retry_interval_s
        if self.health.redis_up:
            self.health.redis_up = False
            self.health.outages += 1
            logger.warning(
                "limits: Redis unreachable (%s); rate limits counted in-process, budgeted calls refused", exc
            )

    def _redis_ok(self) -> None:
        self._probing = False
        if not self.health.redis_up:
            self.health.redis_up = True
            logger.warning("limits: Redis reachable again; shared counters resumed")
        if self._pending and (self._replay_task is None or self._replay_task.done()):
            self._replay_task = asyncio.get_running_loop().create_task(self._replay_settles())

    def _queue_settle(self, admission: Admission, actual_tokens: int, actual_cost_usd: Decimal) -> None:
        if len(self._pending) >= MAX_PENDING_SETTLES:
            self.health.dropped_settles += 1
            return
        self._pending.append((admission, actual_tokens, actual_cost_usd))

    async def _replay_settles(self) -> None:
        while self._pending and self.health.redis_up:
            admission, actual_tokens, actual_cost_usd = self._pending[0]
            try:
                await self._primary.settle(
                    admission, actual_tokens=actual_tokens, actual_cost_usd=actual_cost_usd
                )
            except REDIS_DOWN_ERRORS as exc:
                self._redis_failed(exc)
                return
            self._pending.popleft()
            self.health.replayed_settles += 1
