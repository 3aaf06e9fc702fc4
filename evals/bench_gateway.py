"""Gateway overhead benchmark: the simulated upstream measured directly, then through the gateway (auth,
validation, ledger and metrics on), in the same run. Writes a section to evals/RESULTS.md.

    python -m evals.bench_gateway [--seconds 5] [--requests 1500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import orjson
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from evals.results import write_section  # noqa: E402
from tests.support import (  # noqa: E402
    Gateway,
    Service,
    Simulator,
    free_port,
    gateway_env,
    start_postgres,
)


def wait_port(port: int, timeout_s: float = 20.0) -> None:
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


BODY = orjson.dumps(
    {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Say hello in five words."}],
        "max_tokens": 16,
    }
)
STREAM_BODY = orjson.dumps(
    {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Write a long story."}],
        "max_tokens": 200,
        "stream": True,
    }
)


@dataclass
class Endpoint:
    name: str
    url: str
    headers: dict[str, str]


async def latencies(ep: Endpoint, n: int) -> list[float]:
    out: list[float] = []
    async with aiohttp.ClientSession(headers=ep.headers) as s:
        for _ in range(50):  # warm up connections and caches
            async with s.post(ep.url, data=BODY) as r:
                await r.read()
        for _ in range(n):
            t = time.perf_counter()
            async with s.post(ep.url, data=BODY) as r:
                await r.read()
                assert r.status == 200, r.status
            out.append((time.perf_counter() - t) * 1000)
    return out


async def throughput(ep: Endpoint, *, concurrency: int, seconds: float) -> float:
    done = 0
    stop = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(headers=ep.headers, connector=connector) as s:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                async with s.post(ep.url, data=BODY) as r:
                    await r.read()
                    if r.status == 200:
                        done += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - start)


async def stream_rate(ep: Endpoint, *, concurrency: int, seconds: float) -> tuple[float, float]:
    """Chunks per second delivered, and median time to first chunk (ms)."""
    chunks = 0
    ttfts: list[float] = []
    stop = time.perf_counter() + seconds
    async with aiohttp.ClientSession(
        headers=ep.headers, connector=aiohttp.TCPConnector(limit=concurrency)
    ) as s:

        async def worker() -> None:
            nonlocal chunks
            while time.perf_counter() < stop:
                t = time.perf_counter()
                first = True
                async with s.post(ep.url, data=STREAM_BODY) as r:
                    async for line in r.content:
                        if line.startswith(b"data: {"):
                            if first:
                                ttfts.append((time.perf_counter() - t) * 1000)
                                first = False
                            chunks += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return chunks / (time.perf_counter() - start), statistics.median(ttfts)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


async def measure(
    direct: Endpoint, hop: Endpoint, via: Endpoint, args: argparse.Namespace
) -> dict[str, float]:
    d_lat = await latencies(direct, args.requests)
    h_lat = await latencies(hop, args.requests)
    g_lat = await latencies(via, args.requests)
    d_tput = await throughput(direct, concurrency=32, seconds=args.seconds)
    h_tput = await throughput(hop, concurrency=32, seconds=args.seconds)
    g_tput = await throughput(via, concurrency=32, seconds=args.seconds)
    d_chunks, d_ttft = await stream_rate(direct, concurrency=16, seconds=args.seconds)
    g_chunks, g_ttft = await stream_rate(via, concurrency=16, seconds=args.seconds)
    return {
        "direct_p50": statistics.median(d_lat),
        "direct_p99": pct(d_lat, 0.99),
        "gw_p50": statistics.median(g_lat),
        "gw_p99": pct(g_lat, 0.99),
        "direct_rps": d_tput,
        "gw_rps": g_tput,
        "hop_rps": h_tput,
        "hop_p50": statistics.median(h_lat),
        "direct_chunks": d_chunks,
        "gw_chunks": g_chunks,
        "direct_ttft": d_ttft,
        "gw_ttft": g_ttft,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    pg_url, pg, _ = start_postgres()
    sim = Simulator(work, extra=["--openai-key", "sim-openai-key"])
    env = gateway_env(
        database_url=pg_url,
        master_key="sk-gw-admin-bench",
        sim=sim,
        data_dir=work / "data",
        GATEWAY_WORKERS=str(args.workers),
    )
    t0 = time.perf_counter()
    gw = Gateway(env, work)
    ready_s = time.perf_counter() - t0
    try:
        key = gw.create_key(name="bench")["key"]
        direct = Endpoint(
            "direct",
            sim.url + "/openai/v1/chat/completions",
            {"authorization": "Bearer sim-openai-key", "content-type": "application/json"},
        )
        hop_port = free_port()
        hop_proc = Service(
            [sys.executable, "-m", "evals.passthrough", "--port", str(hop_port), "--upstream", sim.url],
            env=dict(os.environ),
            log_path=work / "passthrough.log",
        )
        wait_port(hop_port)
        hop = Endpoint(
            "passthrough", f"http://127.0.0.1:{hop_port}/openai/v1/chat/completions", direct.headers
        )
        via = Endpoint(
            "gateway",
            gw.url + "/v1/chat/completions",
            {"authorization": f"Bearer {key}", "content-type": "application/json"},
        )
        import uvloop

        r = uvloop.run(measure(direct, hop, via, args))
        hop_proc.stop()
        root = psutil.Process(gw.proc.pid)
        rss_mb = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20
        pending = httpx.get(gw.url + "/readyz").json()["ledger_pending"]
    finally:
        gw.stop()
        sim.stop()
        pg.cleanup()
    added_p50 = r["gw_p50"] - r["direct_p50"]
    added_p99 = r["gw_p99"] - r["direct_p99"]
    ratio = r["gw_rps"] / r["direct_rps"]
    lines = [
        f"Machine: {machine()}. One run; client, gateway ({args.workers} worker process"
        f"{'es' if args.workers > 1 else ''}) and simulated upstream share the machine.",
        "",
        "| measure | direct upstream | through gateway | gateway vs direct |",
        "|---|---|---|---|",
        f"| latency p50, concurrency 1 (ms) | {r['direct_p50']:.2f} | {r['gw_p50']:.2f} "
        f"| +{added_p50:.2f} ms |",
        f"| latency p99, concurrency 1 (ms) | {r['direct_p99']:.2f} | {r['gw_p99']:.2f} "
        f"| +{added_p99:.2f} ms |",
        f"| throughput, concurrency 32 (req/s) | {r['direct_rps']:.0f} | {r['gw_rps']:.0f} | {ratio:.0%} |",
        f"| streaming, 16 streams (chunks/s) | {r['direct_chunks']:.0f} | {r['gw_chunks']:.0f} | "
        f"{r['gw_chunks'] / r['direct_chunks']:.0%} |",
        f"| time to first chunk, p50 (ms) | {r['direct_ttft']:.2f} | {r['gw_ttft']:.2f} | "
        f"+{r['gw_ttft'] - r['direct_ttft']:.2f} ms |",
        f"| gateway RSS after the run (MB) | | {rss_mb:.0f} | |",
        f"| gateway time to ready (s) | | {ready_s:.2f} | |",
        "",
        "Reference hop, same run: `evals/passthrough.py`, one aiohttp process that forwards bytes and does",
        "nothing else (no auth, validation, routing, ledger):",
        "",
        "| measure | leanest Python hop | gateway | gateway vs hop |",
        "|---|---|---|---|",
        f"| latency p50, concurrency 1 (ms) | {r['hop_p50']:.2f} | {r['gw_p50']:.2f} | "
        f"+{r['gw_p50'] - r['hop_p50']:.2f} ms |",
        f"| throughput, concurrency 32 (req/s) | {r['hop_rps']:.0f} | {r['gw_rps']:.0f} | "
        f"{r['gw_rps'] / r['hop_rps']:.0%} |",
        "",
        f"Bar (issue 2): added p50 ≤ 1.5 ms → {'met' if added_p50 <= 1.5 else 'NOT met'}; "
        f"throughput ≥ 40 % of direct → {'met' if ratio >= 0.4 else 'NOT met'} (the leanest hop itself "
        f"reaches {r['hop_rps'] / r['direct_rps']:.0%} of direct). "
        f"Ledger rows still queued at the end: {pending}.",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        suffix = "" if args.workers == 1 else f" --workers {args.workers}"
        write_section(f"Gateway overhead (python -m evals.bench_gateway{suffix})", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
