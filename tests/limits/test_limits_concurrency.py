"""Requests in flight: slots taken on admit, freed on settle, forgotten after a lease if never settled."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from gateway.limits import Admission, BudgetSpec, LimitExceeded, LimitSpec
from tests.limits.limits_helpers import ZERO, admit


async def test_slots_are_taken_and_freed(limiter):
    spec = LimitSpec(max_concurrency=2)
    first = await admit(limiter, key_limits=spec)
    second = await admit(limiter, key_limits=spec)
    assert isinstance(first, Admission) and isinstance(second, Admission)
    refused = await admit(limiter, key_limits=spec)
    assert isinstance(refused, LimitExceeded)
    assert (refused.kind, refused.scope, refused.limit, refused.remaining) == ("concurrency", "key", 2, 0)
    assert refused.retry_after_s == 1.0
    await limiter.settle(first, actual_tokens=0, actual_cost_usd=ZERO)
    third = await admit(limiter, key_limits=spec)
    assert isinstance(third, Admission)
    assert isinstance(await admit(limiter, key_limits=spec), LimitExceeded)


async def test_double_settle_frees_one_slot_only(limiter):
    spec = LimitSpec(max_concurrency=2)
    first = await admit(limiter, key_limits=spec)
    await admit(limiter, key_limits=spec)
    await limiter.settle(first, actual_tokens=0, actual_cost_usd=ZERO)
    first.settled = False  # as if a second copy of the admission were settled again
    await limiter.settle(first, actual_tokens=0, actual_cost_usd=ZERO)
    assert isinstance(await admit(limiter, key_limits=spec), Admission)
    assert isinstance(await admit(limiter, key_limits=spec), LimitExceeded)


async def test_slot_of_a_call_never_settled_expires_after_its_lease(limiter, clock):
    spec = LimitSpec(max_concurrency=1)
    assert isinstance(await admit(limiter, key_limits=spec), Admission)  # its process dies: never settled
    clock.advance(899)
    assert isinstance(await admit(limiter, key_limits=spec), LimitExceeded)
    clock.advance(2)  # lease is 900 s in the fixture
    assert isinstance(await admit(limiter, key_limits=spec), Admission)


async def test_zero_concurrency_never_admits(limiter):
    refused = await admit(limiter, key_limits=LimitSpec(max_concurrency=0))
    assert isinstance(refused, LimitExceeded)
    assert refused.retry_after_s is None


async def test_target_concurrency_caps_a_burst_from_many_keys(limiter):
    spec = LimitSpec(max_concurrency=7)
    results = await asyncio.gather(*(admit(limiter, key=f"k{i}", target_limits=spec) for i in range(50)))
    admitted = [r for r in results if isinstance(r, Admission)]
    assert len(admitted) == 7
    assert all(r.scope == "target" for r in results if isinstance(r, LimitExceeded))
    await asyncio.gather(*(limiter.settle(a, actual_tokens=0, actual_cost_usd=ZERO) for a in admitted))
    again = await asyncio.gather(*(admit(limiter, key=f"k{i}", target_limits=spec) for i in range(10)))
    assert sum(isinstance(r, Admission) for r in again) == 7


async def test_memory_backend_forgets_idle_keys(clock):
    from gateway.limits.memory import SWEEP_EVERY, MemoryLimiter

    limiter = MemoryLimiter(clock=clock, lease_s=60)
    spec = LimitSpec(rpm=10, max_concurrency=1)
    day = LimitSpec(budgets=[BudgetSpec(period="day", usd=Decimal(1))])
    total = LimitSpec(budgets=[BudgetSpec(period="total", usd=Decimal(1))])
    await admit(limiter, key="once", key_limits=spec)
    await admit(limiter, key="day", key_limits=day, cost=Decimal("0.1"))
    await admit(limiter, key="total", key_limits=total, cost=Decimal("0.1"))
    clock.advance(3 * 86_400)
    for _ in range(SWEEP_EVERY):
        admission = await admit(limiter, key="busy", key_limits=LimitSpec(max_concurrency=1))
        await limiter.settle(admission, actual_tokens=0, actual_cost_usd=ZERO)
    assert await limiter.spend("key", "day") == []
    assert [s.period for s in await limiter.spend("key", "total")] == ["total"]  # never forgotten
    assert not any("once" in name for name in [*limiter._rates, *limiter._slots])
