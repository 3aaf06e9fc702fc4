"""build_limiter picks the backend from the settings, and every backend speaks the Limiter protocol."""

from __future__ import annotations

from decimal import Decimal

from gateway.limits import Admission, FailoverLimiter, LimitSpec, MemoryLimiter, build_limiter


async def test_without_a_url_the_limiter_is_in_memory():
    for url in (None, ""):
        limiter = build_limiter(url)
        assert isinstance(limiter, MemoryLimiter)
        await limiter.close()


async def test_with_a_url_the_limiter_shares_counters_through_redis(redis_server):
    first = build_limiter(redis_server.url, prefix="{factory}:")
    second = build_limiter(redis_server.url, prefix="{factory}:")
    assert isinstance(first, FailoverLimiter)
    spec = LimitSpec(rpm=3)
    try:
        results = [
            await limiter.admit(
                key_id="shared",
                team="t",
                target="m",
                key_limits=spec,
                team_limits=None,
                target_limits=None,
                tokens=1,
                max_cost_usd=Decimal(0),
            )
            for limiter in (first, second, first, second)
        ]
        assert [isinstance(r, Admission) for r in results] == [True, True, True, False]
        assert all(r.backend == "redis" for r in results[:3] if isinstance(r, Admission))
    finally:
        await first.close()
        await second.close()


async def test_nothing_connects_before_the_first_call():
    limiter = build_limiter("redis://127.0.0.1:1/0")  # nothing listens there
    await limiter.close()
