"""The report SQL on a real PostgreSQL with hand-written ledger rows: boundaries, groups, filters, sums."""

from __future__ import annotations

import csv
import io
import itertools
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from gateway.accounting.prices import Price
from gateway.accounting.reports import GROUPS, CostReports, Filters, reference_cost
from gateway.storage.db import Database
from tests.costs.ledger_rows import Row, insert, ledger_sum

MICRO = timedelta(microseconds=1)


@pytest.fixture()
async def reports(pg_url: str) -> AsyncIterator[CostReports]:
    db = Database(pg_url, min_size=1, max_size=2)
    await db.open()
    await db.migrate()
    yield CostReports(db)
    await db.close()


@pytest.fixture()
def window() -> tuple[datetime, datetime]:
    """A 30-day range of its own, far from any real traffic, so only this test's rows fall in it. Each test
    takes the next slot (random slots collided now and then: two tests' rows in one report)."""
    start = datetime(2200, 1, 1, tzinfo=UTC) + timedelta(days=40 * next(_WINDOW_SLOTS))
    return start, start + timedelta(days=30)


# Slots of 40 days from 2200 on, from a random start (a database kept between runs still gets fresh ones).
_WINDOW_SLOTS = itertools.count(secrets.randbelow(500) * 100)  # the last slot starts before 7800


async def test_start_is_inclusive_and_end_exclusive(
    reports: CostReports, pg_url: str, window: tuple[datetime, datetime]
) -> None:
    start, end = window
    insert(
        pg_url,
        [
            Row(start - MICRO, cost="100"),
            Row(start, cost="1.5"),
            Row(end - MICRO, cost="0.25"),
            Row(end, cost="1000"),
        ],
    )
    report = await reports.report(group_by="model", start=start, end=end)
    assert report.totals.requests == 2
    assert report.totals.cost_usd == Decimal("1.75")
    assert (report.totals.requests, report.totals.cost_usd) == ledger_sum(pg_url, start, end)
    assert [(r.group, r.requests, r.cost_usd) for r in report.rows] == [("gpt-4o", 2, Decimal("1.75"))]


async def test_sums_are_exact_where_floats_drift(
    reports: CostReports, pg_url: str, window: tuple[datetime, datetime]
) -> None:
    start, end = window
    # 0.1 three times is 0.30000000000000004 in floats; a thousand ten-billionths must all count.
    rows = [Row(start + timedelta(minutes=i), cost="0.1") for i in range(3)]
    rows += [Row(start + timedelta(hours=1, seconds=i), cost="0.0000000001") for i in range(1000)]
    insert(pg_url, rows)
    report = await reports.report(group_by="day", start=start, end=end)
    assert report.to_json()["totals"]["cost_usd"] == "0.3000001000"
    assert report.totals.cost_usd == ledger_sum(pg_url, start, end)[1]


@pytest.mark.parametrize("group_by", sorted(GROUPS))
async def test_every_group_by_matches_a_direct_group_by(
    group_by: str, reports: CostReports, pg_url: str, window: tuple[datetime, datetime]
) -> None:
    start, end = window
    insert(
        pg_url,
        [
            Row(start + timedelta(hours=1), cost="0.0123456789", prompt=100, completion=20, cached=10),
            Row(
                start + timedelta(days=1),
                cost="2",
                model="auto",
                target="claude-sonnet-4-5",
                provider="anthropic",
                key_id="key-b",
                team="team-b",
                rule="long-context",
                prompt=5000,
            ),
            Row(
                start + timedelta(days=2),
                cost="0.5",
                model="auto",
                target="llama-3.1-8b",
                provider="vllm",
                key_id="key-b",
                team="team-b",
                rule="private",
                completion=7,
            ),
            Row(
                start + timedelta(days=2, hours=3),
                status=502,
                target="llama-3.1-8b",
                provider="vllm",
                rule="private",
            ),
            Row(start + timedelta(days=3), status=401, model=None, target=None, provider=None, key_id=None),
        ],
    )
    report = await reports.report(group_by=group_by, start=start, end=end)
    column = {"model": "requested_model", "key": "key_id"}.get(group_by, group_by)
    by_group: dict[str | None, tuple[int, int, Decimal]] = {}
    for row in rows_in(pg_url, start, end):
        group = row["ts"].astimezone(UTC).strftime("%Y-%m-%d") if group_by == "day" else row[column]
        n, errors, cost = by_group.get(group, (0, 0, Decimal(0)))
        by_group[group] = (n + 1, errors + (row["status"] >= 400), cost + row["cost_usd"])
    assert {r.group: (r.requests, r.errors, r.cost_usd) for r in report.rows} == by_group
    assert report.totals.requests == 5 and report.totals.errors == 2
    assert report.totals.prompt_tokens == 5100 and report.totals.completion_tokens == 27
    assert report.totals.cached_tokens == 10
    assert report.totals.cost_usd == Decimal("2.5123456789") == ledger_sum(pg_url, start, end)[1]
    assert sum((r.cost_usd for r in report.rows), Decimal(0)) == report.totals.cost_usd
    if group_by == "day":
        assert [r.group for r in report.rows] == sorted(r.group or "" for r in report.rows)
    else:
        assert [r.cost_usd for r in report.rows] == sorted((r.cost_usd for r in report.rows), reverse=True)


async def test_days_are_utc_days(
    reports: CostReports, pg_url: str, window: tuple[datetime, datetime]
) -> None:
    start, end = window
    # 01:30 on day 2 in UTC+02:00 is 23:30 UTC on day 1.
    local = (start + timedelta(days=1, hours=1, minutes=30)).replace(tzinfo=timezone(timedelta(hours=2)))
    insert(pg_url, [Row(local, cost="1"), Row(start + timedelta(days=1), cost="2")])
    report = await reports.report(group_by="day", start=start, end=end)
    assert [(r.group, r.cost_usd) for r in report.rows] == [
        (start.strftime("%Y-%m-%d"), Decimal("1")),
        ((start + timedelta(days=1)).strftime("%Y-%m-%d"), Decimal("2")),
    ]


async def test_filters_narrow_rows_and_totals(
    reports: CostReports, pg_url: str, window: tuple[datetime, datetime]
) -> None:
    start, end = window
    at = start + timedelta(hours=5)
    insert(
        pg_url,
        [
            Row(at, cost="1", key_id="k1", team="t1", target="gpt-4o"),
            Row(at, cost="2", key_id="k2", team="t1", target="llama-3.1-8b"),
            Row(at, cost="4", key_id="k3", team="t2", target="gpt-4o"),
        ],
    )
    cases = [
        (Filters(team="t1"), Decimal(3), 2),
        (Filters(key_id="k3"), Decimal(4), 1),
        (Filters(target="gpt-4o"), Decimal(5), 2),
        (Filters(team="t1", target="gpt-4o"), Decimal(1), 1),
        (Filters(team="t2", key_id="k1"), Decimal(0), 0),
    ]
    for filters, cost, requests in cases:
        report = await reports.report(group_by="key", start=start, end=end, filters=filters)
        assert (report.totals.cost_usd, report.totals.requests) == (cost, requests), filters
        equal = {
            k: v
            for k, v in (("key_id", filters.key_id), ("team", filters.team), ("target", filters.target))
            if v
        }
        assert (report.totals.requests, report.totals.cost_usd) == ledger_sum(pg_url, start, end, **equal)


async def test_a_row_written_late_counts_in_the_next_report(
    reports: CostReports, pg_url: str, window: tuple[datetime, datetime]
) -> None:
    start, end = window
    insert(pg_url, [Row(start + timedelta(days=2), cost="1")])
    before = await reports.report(group_by="day", start=start, end=end)
    # A replica that was cut off from the database flushes an old row afterwards.
    insert(pg_url, [Row(start + timedelta(days=1), cost="0.0000000007")])
    after = await reports.report(group_by="day", start=start, end=end)
    assert before.totals.cost_usd == Decimal(1)
    assert after.totals.cost_usd == Decimal("1.0000000007") == ledger_sum(pg_url, start, end)[1]
    assert len(after.rows) == 2


async def test_an_empty_range_has_no_rows_and_zero_totals(
    reports: CostReports, window: tuple[datetime, datetime]
) -> None:
    report = await reports.report(group_by="team", start=window[0], end=window[1])
    body = report.to_json()
    assert body["rows"] == []
    assert body["totals"] == {
        "requests": 0,
        "errors": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cached_tokens": 0,
        "cost_usd": "0",
    }


async def test_csv_has_a_header_rows_and_a_total_line(
    reports: CostReports, pg_url: str, window: tuple[datetime, datetime]
) -> None:
    start, end = window
    insert(
        pg_url,
        [
            Row(start, cost="0.0000000100", model='=HYPERLINK("http://x")', prompt=3),
            Row(start, cost="1.2", model="gpt-4o, mini", completion=4),
            Row(start, cost="0", model=None, status=400),
        ],
    )
    report = await reports.report(group_by="model", start=start, end=end)
    lines = list(csv.reader(io.StringIO(report.to_csv())))
    assert lines[0] == [
        "group",
        "requests",
        "errors",
        "prompt_tokens",
        "completion_tokens",
        "cached_tokens",
        "cost_usd",
    ]
    assert lines[1] == ["gpt-4o, mini", "1", "0", "0", "4", "0", "1.2000000000"]
    # A client-chosen model name must not become a spreadsheet formula.
    assert lines[2] == ['\'=HYPERLINK("http://x")', "1", "0", "3", "0", "0", "0.0000000100"]
    assert lines[3] == ["", "1", "1", "0", "0", "0", "0.0000000000"]
    assert lines[-1] == ["TOTAL", "3", "1", "3", "4", "0", "1.2000000100"]
    assert len(lines) == 5


async def test_savings_price_the_same_tokens_at_the_reference(
    reports: CostReports, pg_url: str, window: tuple[datetime, datetime]
) -> None:
    start, end = window
    at = start + timedelta(hours=2)
    insert(
        pg_url,
        [
            Row(at, cost="0.0100000000", target="gpt-4o", prompt=1000, completion=750),
            Row(at, cost="0.0000150000", target="llama-3.1-8b", prompt=100, completion=100),
            # more cached than prompt tokens: only the prompt's tokens can be billed as cached
            Row(at, cost="0.0002000000", target="llama-3.1-8b", prompt=200, completion=0, cached=500),
            Row(at, cost="0.0010000000", target="claude-sonnet-4-5", prompt=300, completion=10, cached=100),
            # embeddings are not routed chat traffic
            Row(at, cost="0.5", target="text-embedding-3-small", endpoint="embeddings", prompt=10**6),
        ],
    )
    price = Price(Decimal("0.0000025"), Decimal("0.00001"), Decimal("0.00000125"))
    view = await reports.savings(reference="gpt-4o", price=price, start=start, end=end)
    by_target = {r.target: r for r in view.rows}
    assert set(by_target) == {"gpt-4o", "llama-3.1-8b", "claude-sonnet-4-5"}
    # gpt-4o: 1000 x 2.5e-6 + 750 x 1e-5 = 0.0025 + 0.0075
    assert by_target["gpt-4o"].reference_cost_usd == Decimal("0.0100000000")
    assert by_target["gpt-4o"].saving_usd == 0 and by_target["gpt-4o"].saving_percent == 0
    # llama: 100 x 2.5e-6 + 100 x 1e-5 = 0.00125; then 200 cached x 1.25e-6 = 0.00025
    llama = by_target["llama-3.1-8b"]
    assert llama.reference_cost_usd == Decimal("0.0015000000")
    assert llama.cost_usd == Decimal("0.0002150000")
    assert llama.saving_usd == Decimal("0.0012850000")
    assert llama.saving_percent == Decimal("85.67")
    # claude: 200 x 2.5e-6 + 100 x 1.25e-6 + 10 x 1e-5 = 0.0005 + 0.000125 + 0.0001
    assert by_target["claude-sonnet-4-5"].reference_cost_usd == Decimal("0.0007250000")
    assert by_target["claude-sonnet-4-5"].saving_usd == Decimal("-0.0002750000")
    totals = view.totals
    assert totals.cost_usd == Decimal("0.0112150000")
    assert totals.reference_cost_usd == Decimal("0.0122250000")
    assert totals.saving_usd == Decimal("0.0010100000")
    assert totals.saving_percent == Decimal("8.26")
    body = view.to_json()
    assert body["totals"]["saving_percent"] == "8.26"
    assert body["reference_price_per_million"] == {"input": "2.5", "output": "10", "cached_input": "1.25"}


async def test_savings_without_a_cached_price_bill_cached_tokens_as_input(
    reports: CostReports, pg_url: str, window: tuple[datetime, datetime]
) -> None:
    start, end = window
    insert(pg_url, [Row(start, cost="0", target="llama-3.1-8b", prompt=400, cached=300)])
    view = await reports.savings(
        reference="x", price=Price(Decimal("0.000001"), Decimal("0.000002")), start=start, end=end
    )
    assert view.totals.reference_cost_usd == Decimal("0.0004000000")
    assert view.totals.saving_percent == Decimal("100.00")
    assert reference_cost(Price(Decimal(0), Decimal(0)), 5, 5, 0) == 0
    empty = await reports.savings(
        reference="x", price=Price(Decimal(1), Decimal(1)), start=end, end=end + MICRO
    )
    assert empty.totals.saving_percent is None and empty.to_json()["totals"]["saving_percent"] is None


def rows_in(pg_url: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(pg_url, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute("SELECT * FROM ledger WHERE ts >= %s AND ts < %s", (start, end)).fetchall()


def test_the_day_statistics_describe_the_expression_reports_group_on(pg_url: str) -> None:
    """The planner uses the statistics (and a parallel plan) only if the expressions are identical."""
    import psycopg

    expression = GROUPS["day"].as_string()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_get_statisticsobjdef_expressions(oid) FROM pg_statistic_ext"
            " WHERE stxname = 'ledger_utc_day'"
        ).fetchone()
        assert row is not None, "migration 0300 creates the statistics"
        with conn.transaction():
            conn.execute(f"CREATE TEMP VIEW day_expression AS SELECT {expression} AS day FROM ledger")
            view = conn.execute("SELECT pg_get_viewdef('day_expression')").fetchone()
            conn.execute("DROP VIEW day_expression")
    assert view is not None
    assert f"{row[0][0]} AS day" in view[0]
