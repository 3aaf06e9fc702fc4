"""Gateway overhead benchmark: the simulated upstream measured directly, then through the gateway (auth,
validation, ledger and metrics on), in the same run. Writes a section to evals/RESULTS.md.

    python -m evals.bench_gateway [--seconds 4] [--rounds 3] [--requests 1500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from evals.loadgen import closed_loop  # noqa: E402
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


AUTO_BODY = BODY.replace(b'"gpt-4o"', b'"auto"')
AUTO_STREAM_BODY = STREAM_BODY.replace(b'"gpt-4o"', b'"auto"')


@dataclass
class Endpoint:
    name: str
    url: str
    headers: dict[str, str]
    procs: list[psutil.Process] = field(default_factory=list)  # the process(es) in the middle, if any
    # The bench's calls name their model (as most clients do); "auto" has the gateway route them, which
    # judges the prompt's task and complexity too (a caller naming its model skips that part).
    body: bytes = BODY
    stream_body: bytes = STREAM_BODY


class CpuMeter:
    """CPU seconds spent during one phase by the client (this process), the process(es) in the middle, the
    upstream, and the rest of the machine (PostgreSQL, kernel, other jobs), from /proc accounting."""

    def __init__(self, upstream: psutil.Process, middle: list[psutil.Process]) -> None:
        self.parts = {"client": [psutil.Process()], "middle": middle, "upstream": [upstream]}
        self.before = self._read()

    @staticmethod
    def _busy() -> float:
        t = psutil.cpu_times()
        return sum(t) - t.idle - getattr(t, "iowait", 0.0)

    def _read(self) -> dict[str, float]:
        out = {"machine": self._busy()}
        for name, procs in self.parts.items():
            total = 0.0
            for proc in procs:
                try:
                    # The client's children are the services this script started: not the client.
                    family = [proc] if name == "client" else [proc, *proc.children(recursive=True)]
                    for p in family:
                        c = p.cpu_times()
                        total += c.user + c.system
                except psutil.NoSuchProcess:
                    pass
            out[name] = total
        return out

    def per_call_us(self, calls: int) -> dict[str, float]:
        after = self._read()
        spent = {k: after[k] - self.before[k] for k in after}
        spent["rest"] = spent["machine"] - spent["client"] - spent["middle"] - spent["upstream"]
        return {k: v / max(1, calls) * 1e6 for k, v in spent.items()}


async def latencies(ep: Endpoint, n: int) -> list[float]:
    out: list[float] = []
    async with aiohttp.ClientSession(headers=ep.headers) as s:
        for _ in range(50):  # warm up connections and caches
            async with s.post(ep.url, data=ep.body) as r:
                await r.read()
        for _ in range(n):
            t = time.perf_counter()
            async with s.post(ep.url, data=ep.body) as r:
                await r.read()
                assert r.status == 200, r.status
            out.append((time.perf_counter() - t) * 1000)
    return out


async def throughput(
    ep: Endpoint, upstream: psutil.Process, *, concurrency: int, seconds: float
) -> tuple[float, dict[str, float]]:
    """Requests per second, and the CPU microseconds per request of each party."""
    done = 0
    stop = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(headers=ep.headers, connector=connector) as s:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                async with s.post(ep.url, data=ep.body) as r:
                    await r.read()
                    if r.status == 200:
                        done += 1

        meter = CpuMeter(upstream, ep.procs)
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
        cpu = meter.per_call_us(done)
        cpu["cores_busy"] = cpu["machine"] * done / elapsed / 1e6
        return done / elapsed, cpu


async def lean_throughput(
    ep: Endpoint, upstream: psutil.Process, *, concurrency: int, seconds: float
) -> tuple[float, dict[str, float]]:
    """As `throughput`, with the lean client (evals/loadgen.py) instead of aiohttp; every reply must be a 200
    and no connection may fail, or the bench stops."""
    meter = CpuMeter(upstream, ep.procs)
    result = await closed_loop(ep.url, ep.headers, ep.body, concurrency=concurrency, seconds=seconds)
    if result.errors or set(result.statuses) != {200}:
        raise RuntimeError(f"{ep.name}: statuses {dict(result.statuses)}, errors {result.errors[:5]}")
    cpu = meter.per_call_us(result.ok)
    cpu["cores_busy"] = cpu["machine"] * result.ok / result.elapsed_s / 1e6
    return result.ok / result.elapsed_s, cpu


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
                async with s.post(ep.url, data=ep.stream_body) as r:
                    async for line in r.content:
                        if line.startswith(b"data: {"):
                            if first:
                                ttfts.append((time.perf_counter() - t) * 1000)
                                first = False
                            chunks += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return chunks / (time.perf_counter() - start), statistics.median(ttfts)


def _masked(raw: bytes) -> bytes:
    """A reply with what differs on every call (its id and creation time) masked, all else byte for byte."""
    found = re.search(rb'"id":"([^"]+)"', raw)
    if found:
        raw = raw.replace(found.group(1), b"<id>")
    return re.sub(rb'"created":\d+', b'"created":0', raw)


async def same_replies(direct: Endpoint, hop: Endpoint) -> dict[str, bool]:
    """Does the hop return the direct upstream's status, content type and body (ids masked), byte for byte?"""
    out: dict[str, bool] = {}
    async with aiohttp.ClientSession() as s:
        for label, body in (("json", BODY), ("stream", STREAM_BODY)):
            seen = []
            for ep in (direct, hop):
                async with s.post(ep.url, data=body, headers=ep.headers) as r:
                    raw = await r.read()
                    seen.append((r.status, r.headers["content-type"], _masked(raw)))
            out[label] = seen[0] == seen[1]
    return out


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
    paths: list[Endpoint], sim: Simulator, work: Path, args: argparse.Namespace
) -> tuple[dict[str, dict[str, Any]], dict[float, tuple[float, dict[str, float]]]]:
    """Every path measured the same way, one phase after another: latency, throughput, then streams; then
    the raw hop's throughput when it spends a given CPU time on every request (the work sweep)."""
    upstream = psutil.Process(sim.proc.pid)
    r: dict[str, dict[str, Any]] = {ep.name: {} for ep in paths}
    for ep in paths:
        lat = await latencies(ep, args.requests)
        r[ep.name].update(p50=statistics.median(lat), p99=pct(lat, 0.99))
    # Throughput in rounds, every path once per round, so that the machine's drift over a run (it is shared)
    # reaches all paths alike; each figure is the median over rounds, each ratio the median of the
    # rounds' ratios.
    for prefix, measure_once in (("", throughput), ("lean_", lean_throughput)):
        rounds: dict[str, list[tuple[float, dict[str, float]]]] = {ep.name: [] for ep in paths}
        for _ in range(args.rounds):
            for ep in paths:
                rounds[ep.name].append(await measure_once(ep, upstream, concurrency=32, seconds=args.seconds))
        for ep in paths:
            runs = rounds[ep.name]
            r[ep.name][prefix + "rps"] = statistics.median(rps for rps, _ in runs)
            r[ep.name][prefix + "cpu"] = {k: statistics.median(c[k] for _, c in runs) for k in runs[0][1]}
            r[ep.name][prefix + "ratios"] = [
                rps / direct_rps for (rps, _), (direct_rps, _) in zip(runs, rounds["direct"], strict=True)
            ]
    sweep: dict[float, tuple[float, dict[str, float]]] = {}
    for work_us in args.sweep:
        hop, port = start_hop("raw", sim.url, work, "--work-us", str(work_us))
        try:
            ep = Endpoint(
                f"raw+{work_us:g}",
                f"http://127.0.0.1:{port}{paths[0].url.split(sim.url, 1)[1]}",
                paths[0].headers,
                [psutil.Process(hop.proc.pid)],
            )
            await latencies(ep, 50)  # warm up
            sweep[work_us] = await throughput(ep, upstream, concurrency=32, seconds=args.seconds)
        finally:
            hop.stop()
    for ep in paths:
        r[ep.name]["chunks"], r[ep.name]["ttft"] = await stream_rate(ep, concurrency=16, seconds=args.seconds)
    return r, sweep


def start_hop(kind: str, upstream: str, work: Path, *extra: str) -> tuple[Service, int]:
    port = free_port()
    proc = Service(
        [
            sys.executable,
            "-m",
            "evals.passthrough",
            "--kind",
            kind,
            "--port",
            str(port),
            "--upstream",
            upstream,
            *extra,
        ],
        env=dict(os.environ),
        log_path=work / f"passthrough-{kind}{'-'.join(extra)}.log",
    )
    wait_port(port)
    return proc, port


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0, help="per throughput measurement")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (every path once per round)")
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes")
    parser.add_argument(
        "--sweep",
        type=lambda text: [float(v) for v in text.split(",") if v.strip()],
        default=[50.0, 100.0, 200.0, 400.0],
        help="CPU µs per request the raw hop spends in the work sweep, comma separated ('' for none)",
    )
    args = parser.parse_args()
    load_at_start = os.getloadavg()
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
    hops: list[Service] = []
    try:
        key = gw.create_key(name="bench")["key"]
        sim_headers = {"authorization": "Bearer sim-openai-key", "content-type": "application/json"}
        path = "/openai/v1/chat/completions"
        direct = Endpoint("direct", sim.url + path, sim_headers)
        paths = [direct]
        for kind in ("aiohttp", "raw"):
            hop, port = start_hop(kind, sim.url, work)
            hops.append(hop)
            paths.append(
                Endpoint(kind, f"http://127.0.0.1:{port}{path}", sim_headers, [psutil.Process(hop.proc.pid)])
            )
        via = Endpoint(
            "gateway",
            gw.url + "/v1/chat/completions",
            {"authorization": f"Bearer {key}", "content-type": "application/json"},
            [psutil.Process(gw.proc.pid)],
        )
        paths.append(via)
        paths.append(
            Endpoint(
                "gateway-auto",
                via.url,
                via.headers,
                via.procs,
                body=AUTO_BODY,
                stream_body=AUTO_STREAM_BODY,
            )
        )
        import uvloop

        identical = {ep.name: uvloop.run(same_replies(direct, ep)) for ep in paths[1:3]}
        r, sweep = uvloop.run(measure(paths, sim, work, args))
        root = psutil.Process(gw.proc.pid)
        rss_mb = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20
        pending = httpx.get(gw.url + "/readyz").json()["ledger_pending"]
    finally:
        for hop in hops:
            hop.stop()
        gw.stop()
        sim.stop()
        pg.cleanup()
    load_at_end = os.getloadavg()
    text = report(
        r,
        sweep,
        identical,
        args,
        rss_mb=rss_mb,
        ready_s=ready_s,
        pending=pending,
        load=(load_at_start, load_at_end),
    )
    print(text)
    if not args.no_write:
        suffix = "" if args.workers == 1 else f" --workers {args.workers}"
        write_section(f"Gateway overhead (python -m evals.bench_gateway{suffix})", text)
    return 0


def report(
    r: dict[str, dict[str, Any]],
    sweep: dict[float, tuple[float, dict[str, float]]],
    identical: dict[str, dict[str, bool]],
    args: argparse.Namespace,
    *,
    rss_mb: float,
    ready_s: float,
    pending: int,
    load: tuple[tuple[float, ...], tuple[float, ...]],
) -> str:
    d, g = r["direct"], r["gateway"]
    added_p50 = g["p50"] - d["p50"]
    ratio = statistics.median(g["ratios"])
    cores = os.cpu_count() or 1
    workers = f"{args.workers} worker process{'es' if args.workers > 1 else ''}"
    lines = [
        f"Machine: {machine()}. One run; client, gateway ({workers}) and simulated upstream share the "
        f"machine. Load average (1, 5, 15 min) at start {_load(load[0])}, at end {_load(load[1])}.",
        "",
        "| measure | direct upstream | through gateway | gateway vs direct |",
        "|---|---|---|---|",
        f"| latency p50, concurrency 1 (ms) | {d['p50']:.2f} | {g['p50']:.2f} | +{added_p50:.2f} ms |",
        f"| latency p99, concurrency 1 (ms) | {d['p99']:.2f} | {g['p99']:.2f} "
        f"| +{g['p99'] - d['p99']:.2f} ms |",
        f"| throughput, concurrency 32 (req/s; median of {args.rounds} rounds) | {d['rps']:.0f} "
        f"| {g['rps']:.0f} | {ratio:.0%} |",
        f"| streaming, 16 streams (chunks/s) | {d['chunks']:.0f} | {g['chunks']:.0f} | "
        f"{g['chunks'] / d['chunks']:.0%} |",
        f"| time to first chunk, p50 (ms) | {d['ttft']:.2f} | {g['ttft']:.2f} | "
        f"+{g['ttft'] - d['ttft']:.2f} ms |",
        f"| gateway RSS after the run (MB) | | {rss_mb:.0f} | |",
        f"| gateway time to ready (s) | | {ready_s:.2f} | |",
        "",
        f"Throughput, gateway vs direct, in each round ({args.seconds:g} s per path per round, every path "
        f"once per round): {', '.join(f'{x:.0%}' for x in g['ratios'])}; with the lean client below: "
        f"{', '.join(f'{x:.0%}' for x in g['lean_ratios'])}.",
        "",
        "Reference hops, same run (`evals/passthrough.py`): Python processes that forward bytes and",
        "do nothing else (no auth, validation, routing, ledger). *aiohttp*: an aiohttp server forwarding",
        "through an aiohttp client. *raw*: the leanest hop we can write, asyncio Protocols on uvloop with",
        "httptools parsers, no task per request, keep-alive on both sides. CPU per call is measured from",
        "/proc during the throughput phase: the client (this process), the process(es) in the middle, the",
        "simulated upstream, and the rest of the machine (PostgreSQL, kernel, other jobs).",
        "",
        "| path | latency p50 (ms) | throughput, c=32 (req/s) | vs direct | chunks/s, 16 streams | vs direct "
        "| CPU µs per call: client / middle / upstream / rest | cores busy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    names = {
        "direct": "direct upstream",
        "aiohttp": "aiohttp hop",
        "raw": "raw hop",
        "gateway": "gateway",
        "gateway-auto": 'gateway, `"model": "auto"`',
    }
    for name, row in r.items():
        lines.append(
            f"| {names[name]} | {row['p50']:.2f} | {row['rps']:.0f} | {statistics.median(row['ratios']):.0%} "
            f"| {row['chunks']:.0f} | {row['chunks'] / d['chunks']:.0%} "
            f"| {_cpu(row['cpu'], middle=name != 'direct')} | {row['cpu']['cores_busy']:.2f} |"
        )
    best_direct = max(d["rps"], d["lean_rps"])
    lines += [
        "",
        "The same throughput phase with a lean client (`evals/loadgen.py`: keep-alive connections on asyncio",
        "protocols with httptools' parser, no task per call), so that less of the two cores goes to the",
        "client. The upstream serves such a client less efficiently (fewer calls per wake-up), so *direct*",
        "can read lower than with aiohttp; the last column divides by the better of the two direct figures.",
        "For information: the bar below is judged with the aiohttp client, as in every earlier run.",
        "",
        "| path | throughput, lean client, c=32 (req/s) | vs direct, lean | vs best direct "
        "| CPU µs per call: client / middle / upstream / rest | cores busy |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in r.items():
        lines.append(
            f"| {names[name]} | {row['lean_rps']:.0f} | {statistics.median(row['lean_ratios']):.0%} "
            f"| {row['lean_rps'] / best_direct:.0%} "
            f"| {_cpu(row['lean_cpu'], middle=name != 'direct')} | {row['lean_cpu']['cores_busy']:.2f} |"
        )
    # What the bar asks of the middle, given what the client and upstream themselves cost per call.
    need = 0.4 * d["rps"]
    ends = (d["cpu"]["client"] + d["cpu"]["upstream"]) / 1e6
    # The cores other jobs took during the direct phase are not ours to count on.
    ours = cores - d["cpu"]["rest"] * d["rps"] / 1e6
    budget_machine = ours / need - ends
    budget_process = 1 / need
    if sweep:
        lines += [
            "",
            "Work sweep, same run: the raw hop spending a fixed CPU time on every request before forwarding",
            "it (`--work-us`, a stand-in for a gateway's own per-call work: auth, validation, classifying,",
            "routing, ledger), to find how much per-call work still leaves a Python hop at 40 % of direct.",
            "",
            "| CPU spent per request in the hop (µs) | throughput, c=32 (req/s) | vs direct "
            "| CPU µs per call: client / middle / upstream / rest | cores busy |",
            "|---|---|---|---|---|",
            f"| 0 (raw hop above) | {r['raw']['rps']:.0f} | {r['raw']['rps'] / d['rps']:.0%} | "
            f"{_cpu(r['raw']['cpu'])} | {r['raw']['cpu']['cores_busy']:.2f} |",
        ]
        for work_us, (rps, c) in sweep.items():
            lines.append(
                f"| {work_us:g} | {rps:.0f} | {rps / d['rps']:.0%} | {_cpu(c)} | {c['cores_busy']:.2f} |"
            )
    lines += [
        "",
        "Replies byte for byte identical to the direct upstream's for the bench's requests (status, content "
        "type, body; the per-call id and `created` masked): "
        + "; ".join(
            f"{names[k]}: json {'yes' if v['json'] else 'NO'}, stream {'yes' if v['stream'] else 'NO'}"
            for k, v in identical.items()
        )
        + ".",
        "",
        f"What 40 % of direct ({need:.0f} req/s) leaves the middle, at the client's and upstream's direct "
        f"CPU per call: at most {budget_machine * 1e6:.0f} µs per call with the {ours:.2f} of {cores} cores "
        f"that other jobs left us busy, and at most {budget_process * 1e6:.0f} µs per call within one "
        "process. Upper bounds only: a chain of three processes on two cores never keeps both busy (the "
        "cores busy column), so the work sweep is the measured budget.",
        "",
        *(
            [
                f"Other jobs took {cores - ours:.2f} cores during the direct phase: the direct upstream, "
                "which needs both cores, suffers most, so every ratio here reads higher than on a quiet "
                "machine.",
                "",
            ]
            if cores - ours > 0.2
            else []
        ),
        f"Bar (issue 2): added p50 ≤ 1.5 ms → {'met' if added_p50 <= 1.5 else 'NOT met'}; "
        f"throughput ≥ 40 % of direct → {'met' if ratio >= 0.4 else 'NOT met'} (the aiohttp hop reaches "
        f"{statistics.median(r['aiohttp']['ratios']):.0%} of direct, the raw hop "
        f"{statistics.median(r['raw']['ratios']):.0%}). "
        f'Calls routed by `"model": "auto"` (the prompt\'s task and complexity judged as well): '
        f"{statistics.median(r['gateway-auto']['ratios']):.0%} of direct, "
        f"+{r['gateway-auto']['p50'] - d['p50']:.2f} ms p50. Ledger rows still queued at the end: {pending}.",
    ]
    return "\n".join(lines)


def _cpu(c: dict[str, float], *, middle: bool = True) -> str:
    """CPU µs per call: client / middle / upstream / rest ("–" for the middle of a path without one)."""
    between = f"{c['middle']:.0f}" if middle else "–"
    return f"{c['client']:.0f} / {between} / {c['upstream']:.0f} / {c['rest']:.0f}"


def _load(values: tuple[float, ...]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    raise SystemExit(main())
