"""Redis stopped mid-run and started again: rate limits fail open locally, budgets fail closed, recovery is
automatic and queued settlements are replayed exactly once."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from gateway.errors import GatewayError
from gateway.limits import Admission, BudgetSpec, FailoverLimiter, LimitExceeded, LimitSpec, build_limiter

RATES = LimitSpec(rpm=1000, max_concurrency=2)
BUDGET = LimitSpec(budgets=[BudgetSpec(period="total", usd=Decimal("1"))])


async def call(limiter, *, key_limits, cost="0", key="k1"):
    return await limiter.admit(
        key_id=key,
        team="t1",
        target="llama",
        key_limits=key_limits,
        team_limits=None,
        target_limits=None,
        tokens=10,
        max_cost_usd=Decimal(cost),
    )


async def until(predicate, *, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_stop_and_restart_redis(own_redis_server):
    limiter = build_limiter(own_redis_server.url, retry_interval_s=0.2)
    assert isinstance(limiter, FailoverLimiter)
    try:
        slot = await call(limiter, key_limits=RATES)
        paid = await call(limiter, key_limits=BUDGET, cost="0.5")
        assert isinstance(slot, Admission) and slot.backend == "redis"
        assert isinstance(paid, Admission) and paid.backend == "redis"

        own_redis_server.stop()

        local = await call(limiter, key_limits=RATES)  # fails open, counted in this process
        assert isinstance(local, Admission) and local.backend == "memory"
        assert not limiter.health.redis_up and limiter.health.outages == 1
        refused = await call(limiter, key_limits=BUDGET, cost="0.01")  # fails closed
        assert isinstance(refused, LimitExceeded) and refused.unavailable
        assert refused.error().status == 503
        assert limiter.health.budget_refusals == 1
        unlimited = await call(
            limiter, key_limits=LimitSpec(rpm=5), key="k2", cost="5"
        )  # no budget: flows on
        assert isinstance(unlimited, Admission) and unlimited.backend == "memory"
        # Local counting keeps the configured limits: this process already holds one local slot.
        second_local = await call(limiter, key_limits=RATES)
        assert isinstance(second_local, Admission)
        assert isinstance(await call(limiter, key_limits=RATES), LimitExceeded)

        await limiter.settle(local, actual_tokens=5, actual_cost_usd=Decimal(0))
        await limiter.settle(slot, actual_tokens=5, actual_cost_usd=Decimal(0))
        await limiter.settle(paid, actual_tokens=5, actual_cost_usd=Decimal("0.1"))
        assert limiter.pending_settles == 2  # the two Redis admissions wait for Redis
        with pytest.raises(GatewayError) as raised:
            await limiter.spend("key", "k1")
        assert raised.value.status == 503

        own_redis_server.start()  # same port, its append-only file brings the counters back

        async def back_on_redis() -> bool:
            probe = await call(limiter, key_limits=LimitSpec(rpm=1000), key="probe")
            return isinstance(probe, Admission) and probe.backend == "redis"

        await until(back_on_redis)
        assert limiter.health.redis_up

        async def replayed() -> bool:
            return limiter.pending_settles == 0

        await until(replayed)
        assert limiter.health.replayed_settles == 2
        [total] = await limiter.spend("key", "k1")
        assert (total.spent_usd, total.reserved_usd) == (Decimal("0.1"), Decimal("0"))
        # The replayed settle freed the Redis slot: two slots are free again, not one.
        again = [await call(limiter, key_limits=RATES) for _ in range(3)]
        assert [isinstance(a, Admission) and a.backend == "redis" for a in again] == [True, True, False]
        # Replaying once more changes nothing: settle is idempotent in Redis too.
        slot.settled = False
        await limiter.settle(slot, actual_tokens=5, actual_cost_usd=Decimal(0))
        assert isinstance(await call(limiter, key_limits=RATES), LimitExceeded)
    finally:
        await limiter.close()


async def test_frozen_redis_times_out_and_recovers(own_redis_server):
    limiter = build_limiter(own_redis_server.url, retry_interval_s=0.2)
    assert isinstance(limiter, FailoverLimiter)
    try:
        assert (await call(limiter, key_limits=RATES)).backend == "redis"
        own_redis_server.pause()
        started = time.monotonic()
        local = await call(limiter, key_limits=RATES)
        took = time.monotonic() - started
        assert isinstance(local, Admission) and local.backend == "memory"
        assert took < 3.0  # socket timeouts bound the wait; later calls skip Redis altogether
        started = time.monotonic()
        assert (await call(limiter, key_limits=RATES, key="other")).backend == "memory"
        assert time.monotonic() - started < 0.1
        own_redis_server.resume()

        async def back_on_redis() -> bool:
            probe = await call(limiter, key_limits=LimitSpec(rpm=1000), key="probe")
            return isinstance(probe, Admission) and probe.backend == "redis"

        await until(back_on_redis)
        assert limiter.health.redis_up and limiter.health.outages == 1
    finally:
        await limiter.close()


async def test_a_probe_cancelled_mid_flight_does_not_stop_recovery(own_redis_server):
    limiter = build_limiter(own_redis_server.url, retry_interval_s=0.2)
    assert isinstance(limiter, FailoverLimiter)
    try:
        own_redis_server.pause()
        assert (await call(limiter, key_limits=RATES)).backend == "memory"
        await asyncio.sleep(0.3)  # the next call probes Redis, which hangs
        probe = asyncio.create_task(call(limiter, key_limits=RATES))
        await asyncio.sleep(0.1)
        probe.cancel()  # as when the client disconnects
        with pytest.raises(asyncio.CancelledError):
            await probe
        own_redis_server.resume()

        async def back_on_redis() -> bool:
            result = await call(limiter, key_limits=LimitSpec(rpm=1000), key="probe")
            return isinstance(result, Admission) and result.backend == "redis"

        await until(back_on_redis, timeout_s=5)
    finally:
        await limiter.close()
