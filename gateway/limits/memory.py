"""The embedded limiter: the same semantics as the Redis one, in this process's memory."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from gateway.limits.base import DEFAULT_LEASE_S, WINDOW_S
from gateway.limits.checks import Check, checks_for_call
from gateway.limits.periods import period_end_s, period_index
from gateway.limits.results import Admission, BudgetState, LimitExceeded, LimitState, Scope
from gateway.limits.spec import LimitSpec, actual_cost_micro, usd_to_micro

SWEEP_EVERY = 4096  # admits between two sweeps of idle state


@dataclass(slots=True)
class _Verdict:
    ok: bool
    remaining: int
    reset_ms: int
    retry_ms: int | None  # None: never fits


@dataclass(slots=True)
class _Budget:
    period: int
    committed: int  # spent + reserved, micro-dollars
    spent: int
    limit: int


class MemoryLimiter:
    """Counters in one process; exact for that process. Also the fallback while Redis is away."""

    backend = "memory"

    def __init__(self, *, lease_s: float = DEFAULT_LEASE_S, clock: Callable[[], float] = time.time) -> None:
        self._lease_ms = int(lease_s * 1000)
        self._clock = clock
        self._lock = threading.Lock()  # never held across an await; guards use from several threads
        self._rates: dict[str, dict[int, int]] = {}  # name -> second -> count
        self._slots: dict[str, dict[str, int]] = {}  # name -> admission id -> deadline ms
        self._budgets: dict[str, _Budget] = {}
        self._inflight: dict[str, int] = {}  # admission id -> deadline ms; settle pops it once
        self._admits_since_sweep = 0

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
        return self.admit_checks(checks, tokens=tokens, max_cost_micro=max_cost_micro)

    def admit_checks(
        self, checks: tuple[Check, ...], *, tokens: int, max_cost_micro: int
    ) -> Admission | LimitExceeded:
        """Check and reserve planned checks all-or-nothing (synchronous: no await can interleave)."""
        if not checks:
            return Admission(uuid.uuid4().hex, "memory", 0, (), (), (), tokens, max_cost_micro, settled=True)
        with self._lock:
            now_ms = int(self._clock() * 1000)
            _prune_by_deadline(self._inflight, now_ms)
            verdicts = [self._evaluate(check, now_ms) for check in checks]
            states = tuple(
                LimitState(c.kind, c.scope, c.limit, v.remaining, v.reset_ms / 1000)
                for c, v in zip(checks, verdicts, strict=True)
            )
            failed = [(c, v) for c, v in zip(checks, verdicts, strict=True) if not v.ok]
            if failed:
                return _refusal(failed, states)
            admission_id = uuid.uuid4().hex
            periods = tuple(self._reserve(check, admission_id, now_ms) for check in checks)
            self._inflight[admission_id] = now_ms + self._lease_ms
            self._admits_since_sweep += 1
            if self._admits_since_sweep >= SWEEP_EVERY:
                self._sweep(now_ms)
            return Admission(
                id=admission_id,
                backend="memory",
                admitted_at_ms=now_ms,
                checks=checks,
                periods=periods,
                states=tuple(_after(s, c) for s, c in zip(states, checks, strict=True)),
                tokens=tokens,
                max_cost_micro=max_cost_micro,
            )

    async def settle(self, admission: Admission, *, actual_tokens: int, actual_cost_usd: Decimal) -> None:
        if admission.settled:
            return
        admission.settled = True
        actual_micro = actual_cost_micro(actual_cost_usd, admission.max_cost_micro)
        with self._lock:
            if self._inflight.pop(admission.id, None) is None:
                return  # its lease ran out: the reservation stands as the worst case
            now_ms = int(self._clock() * 1000)
            for check, period in zip(admission.checks, admission.periods, strict=True):
                self._correct(check, period, admission, max(0, actual_tokens), actual_micro, now_ms)

    async def spend(self, scope: Scope, id: str) -> list[BudgetState]:
        now_s = self._clock()
        states = []
        with self._lock:
            for period in ("day", "month", "total"):
                budget = self._budgets.get(Check("budget", scope, id, 0, 0, period).name)
                if budget is None:
                    continue
                current = period_index(period, now_s)
                committed, spent = (budget.committed, budget.spent) if budget.period == current else (0, 0)
                states.append(
                    BudgetState.of(period, current, spent=spent, committed=committed, limit=budget.limit)
                )
        return states

    async def close(self) -> None:
        return None

    def _sweep(self, now_ms: int) -> None:
        """Forget idle windows and slot sets, so keys seen once do not stay in memory for good."""
        self._admits_since_sweep = 0
        oldest = now_ms // 1000 - WINDOW_S + 1
        for name in [n for n, buckets in self._rates.items() if all(s < oldest for s in buckets)]:
            del self._rates[name]
        for name, slots in list(self._slots.items()):
            _prune_by_deadline(slots, now_ms)
            if not slots:
                del self._slots[name]
        for name in [n for n, b in self._budgets.items() if _budget_is_over(n, b, now_ms)]:
            del self._budgets[name]

    def _evaluate(self, check: Check, now_ms: int) -> _Verdict:
        if check.kind == "concurrency":
            slots = self._slots.get(check.name, {})
            _prune_by_deadline(slots, now_ms)
            in_flight = len(slots)
            if in_flight + 1 > check.limit:
                return _Verdict(False, check.limit - in_flight, 0, 1000 if check.limit > 0 else None)
            return _Verdict(True, check.limit - in_flight, 0, None)
        if check.kind == "budget":
            current = period_index(check.period, now_ms / 1000)
            budget = self._budgets.get(check.name)
            committed = budget.committed if budget is not None and budget.period == current else 0
            end_s = period_end_s(check.period, current)
            reset_ms = 0 if end_s is None else end_s * 1000 - now_ms
            if committed >= check.limit:  # admitted while under budget: overshoot <= one call's max cost
                return _Verdict(
                    False, max(0, check.limit - committed), reset_ms, None if end_s is None else reset_ms
                )
            return _Verdict(True, check.limit - committed, reset_ms, None)
        return _evaluate_window(self._rates.setdefault(check.name, {}), check, now_ms)

    def _reserve(self, check: Check, admission_id: str, now_ms: int) -> int:
        if check.kind == "concurrency":
            self._slots.setdefault(check.name, {})[admission_id] = now_ms + self._lease_ms
            return 0
        if check.kind == "budget":
            current = period_index(check.period, now_ms / 1000)
            budget = self._budgets.get(check.name)
            if budget is None or budget.period != current:
                budget = self._budgets[check.name] = _Budget(current, 0, 0, check.limit)
            budget.committed += check.cost
            budget.limit = check.limit
            return current
        buckets = self._rates.setdefault(check.name, {})
        second = now_ms // 1000
        buckets[second] = buckets.get(second, 0) + check.cost
        return 0

    def _correct(
        self, check: Check, period: int, admission: Admission, tokens: int, cost_micro: int, now_ms: int
    ) -> None:
        if check.kind == "concurrency":
            self._slots.get(check.name, {}).pop(admission.id, None)
        elif check.kind == "tokens":
            buckets = self._rates.setdefault(check.name, {})
            delta = tokens - check.cost
            second = admission.admitted_at_ms // 1000
            if second > now_ms // 1000 - WINDOW_S:
                buckets[second] = max(0, buckets.get(second, 0) + delta)
            elif delta > 0:  # the reservation has left the window; count what went beyond it now
                now_s = now_ms // 1000
                buckets[now_s] = buckets.get(now_s, 0) + delta
        elif check.kind == "budget":
            budget = self._budgets.get(check.name)
            current = period_index(check.period, now_ms / 1000)
            if budget is not None and budget.period == period == current:
                budget.committed = max(0, budget.committed + cost_micro - check.cost)
                budget.spent += cost_micro
                return
            # The period rolled over while the call ran: its cost counts where it ended.
            if budget is None or budget.period != current:
                budget = self._budgets[check.name] = _Budget(current, 0, 0, check.limit)
            budget.committed += cost_micro
            budget.spent += cost_micro


def _evaluate_window(buckets: dict[int, int], check: Check, now_ms: int) -> _Verdict:
    """Sliding window of one-second buckets: used = sum over the last WINDOW_S seconds."""
    now_s = now_ms // 1000
    oldest = now_s - WINDOW_S + 1
    for second in [s for s in buckets if s < oldest]:
        del buckets[second]
    used = sum(buckets.values())
    newest = max((s for s, c in buckets.items() if c > 0), default=None)
    if used + check.cost <= check.limit:
        last = now_s if check.cost > 0 else newest
        reset_ms = 0 if last is None else (last + WINDOW_S) * 1000 - now_ms
        return _Verdict(True, check.limit - used, reset_ms, None)
    reset_ms = 0 if newest is None else (newest + WINDOW_S) * 1000 - now_ms
    if check.cost > check.limit:
        return _Verdict(False, max(0, check.limit - used), reset_ms, None)
    freed = 0
    retry_ms = reset_ms
    for second in sorted(buckets):
        freed += buckets[second]
        if used - freed + check.cost <= check.limit:
            retry_ms = (second + WINDOW_S) * 1000 - now_ms
            break
    return _Verdict(False, max(0, check.limit - used), reset_ms, retry_ms)


def _budget_is_over(name: str, budget: _Budget, now_ms: int) -> bool:
    # A day or month one period past its end is dead (late settlements count in the new period anyway).
    period = name.split(":", 3)[2]
    end_s = period_end_s(period, budget.period)
    return end_s is not None and end_s * 1000 + 86_400_000 < now_ms


def _prune_by_deadline(deadlines: dict[str, int], now_ms: int) -> None:
    # Deadlines are added in time order (one lease length), so the expired ones are at the front.
    while deadlines:
        first = next(iter(deadlines))
        if deadlines[first] > now_ms:
            return
        del deadlines[first]


def _after(state: LimitState, check: Check) -> LimitState:
    """The state once this call's reservation is counted."""
    return LimitState(
        state.kind, state.scope, state.limit, max(0, state.remaining - check.cost), state.reset_s
    )


def _refusal(failed: list[tuple[Check, _Verdict]], states: tuple[LimitState, ...]) -> LimitExceeded:
    # Report the limit that keeps the call out longest: retrying sooner would only fail again.
    check, verdict = max(failed, key=lambda cv: float("inf") if cv[1].retry_ms is None else cv[1].retry_ms)
    return LimitExceeded(
        kind=check.kind,
        scope=check.scope,
        limit=check.limit,
        remaining=verdict.remaining,
        reset_s=verdict.reset_ms / 1000,
        retry_after_s=None if verdict.retry_ms is None else verdict.retry_ms / 1000,
        states=states,
    )
