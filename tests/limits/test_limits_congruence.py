"""The memory and Redis backends give the same answers to the same random sequence of calls."""

from __future__ import annotations

import random
import uuid
from decimal import Decimal

from gateway.limits import Admission, BudgetSpec, LimitExceeded, LimitSpec, MemoryLimiter, RedisLimiter
from gateway.limits.factory import redis_client
from tests.limits.conftest import FakeClock

SPECS = {
    "key": LimitSpec(
        rpm=20,
        tpm=5000,
        max_concurrency=4,
        budgets=[BudgetSpec(period="day", usd=Decimal("1.5")), BudgetSpec(period="total", usd=Decimal("4"))],
    ),
    "team": LimitSpec(rpm=30, tpm=8000, budgets=[BudgetSpec(period="month", usd=Decimal("3"))]),
    "target": LimitSpec(rpm=25, max_concurrency=6),
}


def outcome(result: Admission | LimitExceeded) -> tuple:
    states = tuple((s.kind, s.scope, s.remaining, round(s.reset_s, 3)) for s in result.states)
    if isinstance(result, Admission):
        return ("admitted", states)
    return (result.kind, result.scope, result.remaining, result.retry_after_s, states)


async def test_random_sequence_gives_identical_answers(redis_server):
    rng = random.Random(11)
    clock = FakeClock(1_800_057_600.0 - 3600)  # an hour before a UTC midnight: the day budget resets
    memory = MemoryLimiter(clock=clock, lease_s=120)
    shared = RedisLimiter(
        redis_client(redis_server.url), clock=clock, lease_s=120, prefix=f"{{c{uuid.uuid4().hex[:8]}}}:"
    )
    open_calls: list[tuple[Admission, Admission]] = []
    answers = []
    try:
        for _ in range(600):
            action = rng.random()
            if action < 0.15:
                clock.advance(rng.choice([0.3, 1, 7, 30, 61, 400]))
            elif action < 0.45 and open_calls:
                pair = open_calls.pop(rng.randrange(len(open_calls)))
                tokens = rng.randint(0, 1500)
                cost = Decimal(rng.randint(0, 60_000)) / 1_000_000
                for limiter, admission in zip((memory, shared), pair, strict=True):
                    await limiter.settle(admission, actual_tokens=tokens, actual_cost_usd=cost)
            else:
                kwargs = {
                    "key_id": rng.choice(["a", "b"]),
                    "team": rng.choice(["t1", "t2"]),
                    "target": "llama",
                    "key_limits": SPECS["key"],
                    "team_limits": SPECS["team"],
                    "target_limits": SPECS["target"],
                    "tokens": rng.randint(1, 1500),
                    "max_cost_usd": Decimal(rng.randint(0, 60_000)) / 1_000_000,
                }
                results = [await limiter.admit(**kwargs) for limiter in (memory, shared)]
                assert outcome(results[0]) == outcome(results[1]), kwargs
                answers.append(outcome(results[0])[0])
                if isinstance(results[0], Admission) and isinstance(results[1], Admission):
                    open_calls.append((results[0], results[1]))
        for scope, id in (("key", "a"), ("key", "b"), ("team", "t1"), ("team", "t2")):
            assert await memory.spend(scope, id) == await shared.spend(scope, id)
    finally:
        await shared.close()
    # The sequence exercised admissions and refusals of several kinds.
    assert answers.count("admitted") > 100
    assert {"concurrency", "budget", "tokens"} <= set(answers), set(answers)
