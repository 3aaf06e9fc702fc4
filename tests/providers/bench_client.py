"""CPU per call of UpstreamClient.post_json against `gateway simulate`: the old aiohttp client vs this one.

    .venv/bin/python -m tests.providers.bench_client [--calls 4000] [--concurrency 32] [--rounds 5]

Both clients run in this process on uvloop, in interleaved rounds (old, new, old, new, ...) so that a
noisy machine hurts both alike. CPU is this process's (time.process_time), divided by calls; the
simulator runs in its own process and is not counted. The old client is the aiohttp UpstreamClient as
of commit 481105b, loaded from git.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

import psutil
import uvloop

from gateway.providers.http import UpstreamClient
from tests.support import REPO, SIM_KEYS, Simulator

OLD_COMMIT = "481105b"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello in one short sentence."}]}


def old_client_module() -> types.ModuleType:
    source = subprocess.run(
        ["git", "show", f"{OLD_COMMIT}:gateway/providers/http.py"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    spec = importlib.util.spec_from_loader("old_upstream_http", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, "old_http.py", "exec"), module.__dict__)  # noqa: S102  (our own file, from git)
    return module


async def run_round(
    client: Any, calls: int, concurrency: int, sim: psutil.Process | None = None
) -> tuple[float, float, float]:
    per_worker = calls // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            reply = await client.post_json("/chat/completions", BODY)
            assert reply["choices"]

    sim0 = sum(sim.cpu_times()[:2]) if sim is not None else 0.0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    sim_cpu = sum(sim.cpu_times()[:2]) - sim0 if sim is not None else 0.0
    n = per_worker * concurrency
    return cpu / n * 1e6, n / wall, sim_cpu / n * 1e6


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulator(Path(tmp))
        try:
            url = sim.url + "/openai/v1"
            headers = {"authorization": f"Bearer {SIM_KEYS['openai']}"}
            old_mod = old_client_module()
            clients = {
                "aiohttp (old)": old_mod.UpstreamClient(
                    url, headers=headers, connect_timeout_s=5, read_timeout_s=30
                ),
                "protocol (new)": UpstreamClient(
                    url, headers=headers, connect_timeout_s=5, read_timeout_s=30
                ),
            }
            for client in clients.values():  # warm up: open the connections, fill caches
                await run_round(client, args.concurrency * 20, args.concurrency)
            sim_proc = psutil.Process(sim.proc.pid)
            results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in clients}
            for r in range(args.rounds):
                order = list(clients.items()) if r % 2 == 0 else list(reversed(clients.items()))
                for name, client in order:
                    results[name].append(await run_round(client, args.calls, args.concurrency, sim_proc))
            for client in clients.values():
                await client.close()
        finally:
            sim.stop()
    print(f"{args.rounds} interleaved rounds of {args.calls} calls, {args.concurrency} concurrent callers")
    medians = {}
    for name, rows in results.items():
        cpus = sorted(row[0] for row in rows)
        rates = sorted(row[1] for row in rows)
        sims = sorted(row[2] for row in rows)
        medians[name] = cpus[len(cpus) // 2]
        print(
            f"  {name:15s} CPU/call median {medians[name]:6.1f} µs"
            f" (min {cpus[0]:.1f}, max {cpus[-1]:.1f}); calls/s median {rates[len(rates) // 2]:.0f};"
            f" simulator CPU/call median {sims[len(sims) // 2]:.1f} µs"
        )
    old, new = medians["aiohttp (old)"], medians["protocol (new)"]
    print(f"  new/old CPU per call: {new / old:.2f} (saves {old - new:.1f} µs per call)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    if sys.version_info >= (3, 12):
        uvloop.run(main(parser.parse_args()))
    else:
        uvloop.install()
        asyncio.run(main(parser.parse_args()))
