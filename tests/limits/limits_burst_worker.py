"""One OS process of the two-process exactness test: fire a burst of admits at a shared Redis.

Usage: python limits_burst_worker.py REDIS_URL PREFIX CALLS RPM. Prints "ready", waits for a line on
stdin, fires CALLS concurrent admits for key "burst-key", prints a JSON summary and exits.
"""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal

from gateway.limits import Admission, LimitExceeded, LimitSpec, RedisLimiter
from gateway.limits.factory import redis_client


async def burst(url: str, prefix: str, calls: int, rpm: int) -> dict[str, int]:
    limiter = RedisLimiter(redis_client(url), prefix=prefix)
    spec = LimitSpec(rpm=rpm)
    try:
        await limiter.ping()
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        results = await asyncio.gather(
            *(
                limiter.admit(
                    key_id="burst-key",
                    team="burst-team",
                    target="llama",
                    key_limits=spec,
                    team_limits=None,
                    target_limits=None,
                    tokens=10,
                    max_cost_usd=Decimal(0),
                )
                for _ in range(calls)
            ),
            return_exceptions=True,
        )
    finally:
        await limiter.close()
    return {
        "admitted": sum(isinstance(r, Admission) for r in results),
        "refused": sum(isinstance(r, LimitExceeded) for r in results),
        "errors": sum(isinstance(r, BaseException) for r in results),
    }


if __name__ == "__main__":
    url, prefix, calls, rpm = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(asyncio.run(burst(url, prefix, calls, rpm))), flush=True)
