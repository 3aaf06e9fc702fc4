"""USD budgets: worst case reserved before the call, settled to the real cost after, periods in UTC."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from gateway.limits import Admission, BudgetSpec, LimitExceeded, LimitSpec
from tests.limits.limits_helpers import admit


def budget(period: str, usd: str) -> LimitSpec:
    return LimitSpec(budgets=[BudgetSpec(period=period, usd=Decimal(usd))])


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


async def test_reserve_then_settle_releases_the_difference(limiter):
    spec = budget("total", "1.00")
    calls = [await admit(limiter, key_limits=spec, cost=Decimal("0.40")) for _ in range(3)]
    assert all(isinstance(c, Admission) for c in calls)  # admitted at 0, 0.40, 0.80 committed
    refused = await admit(limiter, key_limits=spec, cost=Decimal("0.40"))
    assert isinstance(refused, LimitExceeded)
    assert (refused.kind, refused.scope, refused.limit, refused.retry_after_s) == (
        "budget",
        "key",
        1_000_000,
        None,
    )
    [state] = await limiter.spend("key", "k1")
    assert (state.period, state.spent_usd, state.reserved_usd) == ("total", Decimal("0"), Decimal("1.2"))
    assert state.budget_usd == Decimal("1") and state.resets_at is None
    for call in calls:
        await limiter.settle(call, actual_tokens=10, actual_cost_usd=Decimal("0.100001"))
    [state] = await limiter.spend("key", "k1")
    assert (state.spent_usd, state.reserved_usd) == (Decimal("0.300003"), Decimal("0"))
    assert isinstance(await admit(limiter, key_limits=spec, cost=Decimal("0.40")), Admission)


async def test_concurrent_burst_overshoots_by_at_most_one_call(limiter):
    spec = LimitSpec(budgets=[BudgetSpec(period="day", usd=Decimal("1.00"))])
    max_cost = Decimal("0.03")
    results = await asyncio.gather(*(admit(limiter, key_limits=spec, cost=max_cost) for _ in range(200)))
    admitted = [r for r in results if isinstance(r, Admission)]
    assert len(admitted) == 34  # 33 calls commit 0.99 < 1.00, the 34th is the one allowed overshoot
    [state] = await limiter.spend("key", "k1")
    assert state.reserved_usd == Decimal("1.02")
    assert state.reserved_usd <= Decimal("1.00") + max_cost
    rng = random.Random(7)
    await asyncio.gather(
        *(
            limiter.settle(a, actual_tokens=1, actual_cost_usd=Decimal(rng.randint(0, 30_000)) / 1_000_000)
            for a in admitted
        )
    )
    [state] = await limiter.spend("key", "k1")
    assert state.reserved_usd == 0 and state.spent_usd <= Decimal("1.00") + max_cost


async def test_team_budget_counts_every_key_of_the_team(limiter):
    spec = budget("month", "0.10")
    first = await admit(limiter, key="a", team_limits=spec, cost=Decimal("0.06"))
    second = await admit(limiter, key="b", team_limits=spec, cost=Decimal("0.06"))
    assert isinstance(first, Admission) and isinstance(second, Admission)
    refused = await admit(limiter, key="c", team_limits=spec, cost=Decimal("0.001"))
    assert isinstance(refused, LimitExceeded) and refused.scope == "team"
    assert await limiter.spend("key", "a") == []


async def test_zero_budget_refuses_and_total_never_resets(limiter, clock):
    refused = await admit(limiter, key_limits=budget("total", "0"), cost=Decimal("0"))
    assert isinstance(refused, LimitExceeded)
    assert refused.retry_after_s is None
    spec = budget("total", "0.01")
    call = await admit(limiter, key_limits=spec, cost=Decimal("0.01"))
    await limiter.settle(call, actual_tokens=1, actual_cost_usd=Decimal("0.01"))
    clock.advance(400 * 86_400)
    assert isinstance(await admit(limiter, key_limits=spec, cost=Decimal("0.01")), LimitExceeded)


async def test_day_budget_resets_at_utc_midnight(limiter, clock):
    clock.now = at("2027-03-14T23:59:58")
    spec = budget("day", "0.05")
    call = await admit(limiter, key_limits=spec, cost=Decimal("0.05"))
    await limiter.settle(call, actual_tokens=1, actual_cost_usd=Decimal("0.05"))
    refused = await admit(limiter, key_limits=spec, cost=Decimal("0.01"))
    assert isinstance(refused, LimitExceeded)
    assert refused.retry_after_s == pytest.approx(2.0)
    [state] = await limiter.spend("key", "k1")
    assert state.resets_at == datetime(2027, 3, 15, tzinfo=UTC)
    clock.now = at("2027-03-15T00:00:00")
    [state] = await limiter.spend("key", "k1")
    assert state.spent_usd == 0
    assert isinstance(await admit(limiter, key_limits=spec, cost=Decimal("0.01")), Admission)


@pytest.mark.parametrize(
    ("last_second", "next_month"),
    [
        ("2027-12-31T23:59:59", datetime(2028, 1, 1, tzinfo=UTC)),
        ("2028-02-29T23:59:59", datetime(2028, 3, 1, tzinfo=UTC)),
    ],
)
async def test_month_budget_resets_at_the_first_of_the_month(limiter, clock, last_second, next_month):
    clock.now = at(last_second)
    spec = budget("month", "1")
    assert isinstance(await admit(limiter, key_limits=spec, cost=Decimal("1")), Admission)
    refused = await admit(limiter, key_limits=spec, cost=Decimal("1"))
    assert isinstance(refused, LimitExceeded)
    assert refused.retry_after_s == pytest.approx(1.0)
    [state] = await limiter.spend("key", "k1")
    assert state.resets_at == next_month
    clock.advance(1)
    assert isinstance(await admit(limiter, key_limits=spec, cost=Decimal("1")), Admission)


async def test_call_settled_after_the_day_ended_counts_in_the_new_day(limiter, clock):
    clock.now = at("2027-06-01T23:59:30")
    spec = budget("day", "1")
    call = await admit(limiter, key_limits=spec, cost=Decimal("0.50"))
    clock.now = at("2027-06-02T00:00:30")
    await limiter.settle(call, actual_tokens=1, actual_cost_usd=Decimal("0.20"))
    [state] = await limiter.spend("key", "k1")
    assert (state.spent_usd, state.reserved_usd) == (Decimal("0.2"), Decimal("0"))


async def test_every_period_is_enforced_at_once(limiter):
    spec = LimitSpec(
        budgets=[
            BudgetSpec(period="day", usd=Decimal("5")),
            BudgetSpec(period="month", usd=Decimal("0.5")),
            BudgetSpec(period="total", usd=Decimal("100")),
        ]
    )
    call = await admit(limiter, key_limits=spec, cost=Decimal("0.6"))
    assert isinstance(call, Admission)
    refused = await admit(limiter, key_limits=spec, cost=Decimal("0.01"))
    assert isinstance(refused, LimitExceeded)
    assert refused.limit == 500_000  # the month's budget
    periods = {s.period: s.reserved_usd for s in await limiter.spend("key", "k1")}
    assert periods == {"day": Decimal("0.6"), "month": Decimal("0.6"), "total": Decimal("0.6")}


async def test_refused_budget_call_reserves_nothing_elsewhere(limiter):
    spec = LimitSpec(rpm=5, budgets=[BudgetSpec(period="total", usd=Decimal("0"))])
    assert isinstance(await admit(limiter, key_limits=spec), LimitExceeded)
    admitted = await admit(limiter, key_limits=LimitSpec(rpm=5))
    assert isinstance(admitted, Admission)
    assert admitted.states[0].remaining == 4


@pytest.mark.parametrize(
    ("actual", "spent"),
    [(Decimal("-1"), Decimal("0")), (Decimal("NaN"), Decimal("0.3")), (0.05, Decimal("0.05"))],
)
async def test_odd_actual_costs_settle_safely(limiter, actual, spent):
    spec = budget("total", "1")
    call = await admit(limiter, key_limits=spec, cost=Decimal("0.30"))
    await limiter.settle(call, actual_tokens=-5, actual_cost_usd=actual)
    [state] = await limiter.spend("key", "k1")
    assert (state.spent_usd, state.reserved_usd) == (spent, Decimal("0"))
