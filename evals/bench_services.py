"""What each per-call service costs under load: the gateway with one service taken out at a time
(evals/ablated_gateway.py), measured as evals/bench_gateway.py measures throughput (aiohttp client, c=32,
same simulated upstream), every variant once per round, in the same run. Writes a section to RESULTS.md.

    python -m evals.bench_services [--seconds 6] [--rounds 4]

The in-process figures (a service timed alone in a loop) understate what a service costs in a loaded
process on a shared machine; this measures the difference the whole process sees.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

import psutil

from evals.bench_gateway import Endpoint, latencies, machine, throughput
from evals.results import write_section
from tests.support import Gateway, Simulator, gateway_env, start_postgres

LAUNCHER = str(Path(__file__).resolve().parent / "ablated_gateway.py")
# (ABLATE value, what the row shows)
VARIANTS = [
    ("", "the gateway as shipped"),
    ("sensitivity", "sensitivity scan's result remembered"),
    # A control: the bench's calls do not count their prompt's tokens (the router needs no count for them),
    # so this row differs from the first by the noise of the run.
    ("tokens", "control: prompt's token count remembered (not counted on this path)"),
    ("request-text", "request text (as the classifier reads it) remembered"),
    ("classification", "whole classification remembered"),
    ("ledger", "no ledger row, no call metrics"),
    ("services", "no services: protocol, upstream client and JSON only"),
]


async def _round(paths: list[Endpoint], upstream: psutil.Process, seconds: float, start: int) -> list[Any]:
    """Every path once, beginning at `start` (each round begins one further along, so no path is always
    measured first or right after the direct upstream); results in the order of `paths`."""
    order = [*range(start % len(paths), len(paths)), *range(start % len(paths))]
    results: dict[int, Any] = {}
    for i in order:
        results[i] = await throughput(paths[i], upstream, concurrency=32, seconds=seconds)
    return [results[i] for i in range(len(paths))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0, help="per throughput measurement")
    parser.add_argument("--rounds", type=int, default=4, help="every variant once per round")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    import uvloop

    load_at_start = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="bench-services-"))
    pg_url, pg, _ = start_postgres()
    sim = Simulator(work, extra=["--openai-key", "sim-openai-key"])
    env = gateway_env(database_url=pg_url, master_key="sk-gw-admin-bench", sim=sim, data_dir=work / "data")
    gateways: list[Gateway] = []
    try:
        sim_headers = {"authorization": "Bearer sim-openai-key", "content-type": "application/json"}
        paths = [Endpoint("direct", sim.url + "/openai/v1/chat/completions", sim_headers)]
        for ablate, _ in VARIANTS:
            # All variants stay up for the whole run (an idle one costs next to nothing), one data dir each.
            gw = Gateway(
                {**env, "ABLATE": ablate, "GATEWAY_DATA_DIR": str(work / f"data-{ablate or 'full'}")},
                work,
                command=(LAUNCHER,),
            )
            gateways.append(gw)
            key = gw.create_key(name=f"bench-{ablate or 'full'}")["key"]
            headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
            procs = [psutil.Process(gw.proc.pid)]
            paths.append(Endpoint(ablate or "full", gw.url + "/v1/chat/completions", headers, procs))
        for ep in paths:
            uvloop.run(latencies(ep, 200))  # warm up; every variant answers 200
        upstream = psutil.Process(sim.proc.pid)
        rounds = [uvloop.run(_round(paths, upstream, args.seconds, r)) for r in range(args.rounds)]
    finally:
        for gw in gateways:
            gw.stop()
        sim.stop()
        pg.cleanup()
    text = report(paths, rounds, args, load=(load_at_start, os.getloadavg()))
    print(text)
    if not args.no_write:
        write_section("Per-call services under load (python -m evals.bench_services)", text)
    return 0


def report(
    paths: list[Endpoint],
    rounds: list[list[tuple[float, dict[str, float]]]],
    args: argparse.Namespace,
    *,
    load: tuple[tuple[float, ...], tuple[float, ...]],
) -> str:
    direct = [r[0][0] for r in rounds]

    def column(i: int) -> dict[str, Any]:
        runs = [r[i] for r in rounds]
        return {
            "rps": statistics.median(rps for rps, _ in runs),
            "ratios": [rps / d for (rps, _), d in zip(runs, direct, strict=True)],
            "cpu": {k: statistics.median(c[k] for _, c in runs) for k in runs[0][1]},
        }

    cols = [column(i) for i in range(len(paths))]
    full_cpu = [r[1][1]["middle"] for r in rounds]
    loads = ", ".join(f"{v:.2f}" for v in load[0]), ", ".join(f"{v:.2f}" for v in load[1])
    lines = [
        f"Machine: {machine()}. Client (aiohttp, c=32), one gateway process per variant (all started before "
        f"the first round, each measured in turn) and the simulated upstream share the machine. "
        f"{args.rounds} rounds of {args.seconds:g} s per path, each round beginning one path further along "
        f"the table (no row always measured in the same place); figures are medians over rounds, each "
        f"ratio the median of the rounds' ratios to the direct upstream in the same round, 'saved' the "
        f"median of the rounds' differences. Load average at start "
        f"{loads[0]}, at end {loads[1]}.",
        "",
        "| gateway variant (evals/ablated_gateway.py) | req/s | vs direct | per round "
        "| gateway CPU µs per call | saved vs as shipped | CPU µs per call: client / upstream / rest |",
        "|---|---|---|---|---|---|---|",
        f"| direct upstream (no gateway) | {cols[0]['rps']:.0f} | 100% | | – | | "
        f"{cols[0]['cpu']['client']:.0f} / {cols[0]['cpu']['upstream']:.0f} / {cols[0]['cpu']['rest']:.0f} |",
    ]
    for i, ((_, label), col) in enumerate(zip(VARIANTS, cols[1:], strict=True), start=1):
        cpu = col["cpu"]
        paired = [full - r[i][1]["middle"] for full, r in zip(full_cpu, rounds, strict=True)]
        saved = "" if i == 1 else f"{statistics.median(paired):.0f}"
        per_round = " / ".join(f"{r:.0%}" for r in col["ratios"])
        lines.append(
            f"| {label} | {col['rps']:.0f} | {statistics.median(col['ratios']):.0%} | {per_round} "
            f"| {cpu['middle']:.0f} | {saved} "
            f"| {cpu['client']:.0f} / {cpu['upstream']:.0f} / {cpu['rest']:.0f} |"
        )
    lines += [
        "",
        "A remembered result is exact here (the bench sends one request body), so those variants answer "
        "what the gateway as shipped answers; they only skip computing it. 'rest' is the machine's CPU "
        "outside the three processes (PostgreSQL taking the ledger rows, the kernel, other jobs).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
