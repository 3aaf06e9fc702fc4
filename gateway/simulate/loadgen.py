"""A small closed-loop load generator: N concurrent aiohttp clients POSTing one body for T seconds.

`python -m gateway.simulate.loadgen URL --concurrency 32 --seconds 5` prints requests/s and latency
percentiles as JSON. Used to measure the simulator itself and, as the reference, the gateway in front of it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import aiohttp
import orjson

DEFAULT_BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 16}


async def run_load(
    url: str,
    *,
    body: dict[str, Any],
    headers: dict[str, str],
    concurrency: int,
    seconds: float,
    warmup_s: float,
) -> dict[str, Any]:
    """Keep `concurrency` requests in flight; count answers that finished inside the timed window."""
    payload = orjson.dumps(body)
    all_headers = {"Content-Type": "application/json", **headers}
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        measure_from = start + warmup_s
        stop = measure_from + seconds

        async def worker() -> None:
            nonlocal errors
            while (sent := time.perf_counter()) < stop:
                async with session.post(url, data=payload, headers=all_headers) as response:
                    await response.read()
                    ok = response.status == 200
                done = time.perf_counter()
                if sent >= measure_from and done <= stop:
                    if ok:
                        latencies.append(done - sent)
                    else:
                        errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    latencies.sort()
    count = len(latencies)
    return {
        "url": url,
        "concurrency": concurrency,
        "seconds": seconds,
        "requests": count,
        "errors": errors,
        "requests_per_s": round(count / seconds, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 2) if count else None,
        "p99_ms": round(1000 * latencies[min(count - 1, int(count * 0.99))], 2) if count else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", help="e.g. http://127.0.0.1:8090/openai/v1/chat/completions")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--header", action="append", default=[], help="Name: value (repeatable)")
    parser.add_argument("--body", default=None, help="JSON body (default: a small chat completion)")
    args = parser.parse_args(argv)
    headers = dict(h.split(": ", 1) for h in args.header)
    body = orjson.loads(args.body) if args.body else DEFAULT_BODY
    result = _runner()(
        run_load(
            args.url,
            body=body,
            headers=headers,
            concurrency=args.concurrency,
            seconds=args.seconds,
            warmup_s=args.warmup,
        )
    )
    print(orjson.dumps(result).decode())


def _runner() -> Any:
    """uvloop.run when installed, so the client is less of a bottleneck than the server it measures."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


if __name__ == "__main__":
    main()
