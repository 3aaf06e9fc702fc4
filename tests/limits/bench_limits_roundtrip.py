"""Admit + settle round trip on a real redis-server (and in memory, for comparison).

Run: python tests/limits/bench_limits_roundtrip.py [CALLS]. Starts its own redis-server on a free loopback
port, prints p50/p95/p99 per admit+settle pair with a realistic set of limits (11 checks: key RPM/TPM/
concurrency/day+month budgets, team RPM/TPM/month budget, target RPM/concurrency), and the throughput of
32 concurrent callers. Nothing is asserted: it measures.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gateway.limits import BudgetSpec, LimitSpec, MemoryLimiter, RedisLimiter  # noqa: E402
from gateway.limits.factory import redis_client  # noqa: E402
from tests.limits.conftest import RedisServer, redis_binary  # noqa: E402

KEY = LimitSpec(
    rpm=10**7,
    tpm=10**10,
    max_concurrency=10**5,
    budgets=[BudgetSpec(period="day", usd=Decimal(10**6)), BudgetSpec(period="month", usd=Decimal(10**6))],
)
TEAM = LimitSpec(rpm=10**7, tpm=10**10, budgets=[BudgetSpec(period="month", usd=Decimal(10**6))])
TARGET = LimitSpec(rpm=10**7, max_concurrency=10**5)


async def pair(limiter, key: str) -> float:
    started = time.perf_counter()
    admission = await limiter.admit(
        key_id=key,
        team="bench-team",
        target="llama",
        key_limits=KEY,
        team_limits=TEAM,
        target_limits=TARGET,
        tokens=1200,
        max_cost_usd=Decimal("0.02"),
    )
    await limiter.settle(admission, actual_tokens=800, actual_cost_usd=Decimal("0.011"))
    return (time.perf_counter() - started) * 1000


async def measure(name: str, limiter, calls: int) -> None:
    for i in range(200):  # warm up: connections, script cache
        await pair(limiter, f"warm{i % 10}")
    latencies = sorted([await pair(limiter, f"key{i % 50}") for i in range(calls)])
    q = statistics.quantiles(latencies, n=100)
    print(f"{name}: admit+settle sequential, {calls} pairs: ", end="")
    print(f"p50 {q[49]:.3f} ms, p95 {q[94]:.3f} ms, p99 {q[98]:.3f} ms")
    started = time.perf_counter()
    per_worker = calls // 32

    async def worker(w: int) -> None:
        for i in range(per_worker):
            await pair(limiter, f"c{w}-{i % 5}")

    await asyncio.gather(*(worker(w) for w in range(32)))
    elapsed = time.perf_counter() - started
    print(f"{name}: 32 concurrent callers: {32 * per_worker / elapsed:,.0f} admit+settle pairs/s")


async def main(calls: int) -> None:
    await measure("memory", MemoryLimiter(), calls)
    with tempfile.TemporaryDirectory() as directory:
        server = RedisServer(redis_binary(), Path(directory))
        server.start()
        try:
            limiter = RedisLimiter(redis_client(server.url))
            await measure("redis", limiter, calls)
            stats = await limiter._client.info("commandstats")
            for command in ("cmdstat_evalsha", "cmdstat_eval"):
                if command in stats:
                    print(
                        f"redis server side {command[8:]}: {stats[command]['usec_per_call']:.1f} us per call"
                    )
            await limiter.close()
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
