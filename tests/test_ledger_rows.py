"""Ledger rows go to PostgreSQL by binary COPY: the declared column types must be the table's, every field
must arrive as given, and a count no column can hold must not wrap around or block the queue."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, cast

import psycopg
import pytest

from gateway.accounting.ledger import COLUMN_TYPES, Ledger, LedgerEntry
from gateway.accounting.prices import Price
from gateway.auth.principal import Principal
from gateway.observability.metrics import Metrics
from gateway.providers.base import Usage
from gateway.providers.registry import Target
from gateway.serving.calls import INT4_MAX, CallContext, CallRecorder, estimate_usage
from gateway.storage.db import Database
from tests.calls_support import NoProvider, RowQueue, call_context, ledger_entry

# format_type() of each column → the name binary COPY is told
_PG_NAMES = {
    "timestamp with time zone": "timestamptz",
    "text": "text",
    "integer": "int4",
    "numeric(20,10)": "numeric",
    "double precision": "float8",
    "boolean": "bool",
}


def _rows(url: str, request_id: str) -> list[tuple[Any, ...]]:
    columns = ", ".join(LedgerEntry._fields)
    with psycopg.connect(url) as conn:
        return conn.execute(
            f"SELECT {columns} FROM ledger WHERE request_id = %s ORDER BY attempt", (request_id,)
        ).fetchall()


@asynccontextmanager
async def _database(url: str) -> AsyncIterator[Database]:
    """An open, migrated Database on url, closed after."""
    db = Database(url)
    await db.open()
    try:
        await db.migrate()
        yield db
    finally:
        await db.close()


def _record(url: str, calls: list[tuple[str, Usage, dict[str, Any]]], metrics: Metrics | None = None) -> int:
    """Record each (request id, usage, outcome) through a CallRecorder, then flush; rows written."""

    async def run() -> int:
        async with _database(url) as db:
            ledger = Ledger(db)
            recorder = CallRecorder(ledger=ledger, metrics=metrics or Metrics())
            target = Target(
                name="gpt-4o",
                provider=NoProvider(name="openai", simulated=True),
                upstream_model="gpt-4o-2024-08-06",
                price=Price.per_million(2.5, 10),
                internal=False,
            )
            principal = Principal(
                key_id="key-1", name="n", team="team-ü", scopes=frozenset(), allowed_models=None
            )
            for request_id, usage, outcome in calls:
                ctx = CallContext(
                    request_id=request_id,
                    endpoint="chat",
                    principal=principal,
                    requested_model="gpt-4o\t\\ ünï",
                    target=target,
                    stream=True,
                    messages=[],
                    rule="code→cheap",
                    policy_version=3,
                )
                recorder.record(ctx, usage=usage, **outcome)
            written = await ledger.flush()
            assert ledger.pending == 0
            return written

    return asyncio.run(run())


def test_declared_types_are_the_tables(pg_url: str) -> None:
    asyncio.run(_migrated(pg_url))
    with psycopg.connect(pg_url) as conn:
        found: dict[str, str] = dict(
            conn.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = 'ledger'::regclass AND attnum > 0 AND NOT attisdropped"
            ).fetchall()
        )
    assert list(COLUMN_TYPES) == list(LedgerEntry._fields)
    assert {name: _PG_NAMES[found[name]] for name in COLUMN_TYPES} == COLUMN_TYPES


async def _migrated(url: str) -> None:
    async with _database(url):
        pass


def test_every_field_arrives_as_given(pg_url: str) -> None:
    usage = Usage(prompt_tokens=1200, completion_tokens=345, cached_tokens=0, source="provider")
    outcome = {
        "status": 499,
        "error_code": "client_disconnected",
        "ttft_at": None,
        "client_disconnected": True,
    }
    assert _record(pg_url, [("req-fields", usage, outcome)]) == 1
    (row,) = _rows(pg_url, "req-fields")
    got = dict(zip(LedgerEntry._fields, row, strict=True))
    assert got["ts"].tzinfo is not None
    assert {k: got[k] for k in ("request_id", "attempt", "endpoint", "key_id", "team")} == {
        "request_id": "req-fields",
        "attempt": 0,
        "endpoint": "chat",
        "key_id": "key-1",
        "team": "team-ü",
    }
    assert got["requested_model"] == "gpt-4o\t\\ ünï"
    assert (got["target"], got["provider"], got["upstream_model"]) == (
        "gpt-4o",
        "openai",
        "gpt-4o-2024-08-06",
    )
    assert (got["rule"], got["policy_version"]) == ("code→cheap", 3)
    assert (got["prompt_tokens"], got["completion_tokens"], got["cached_tokens"]) == (1200, 345, 0)
    assert got["usage_source"] == "provider"
    # 1200 × $2.50/M + 345 × $10/M, exactly
    assert got["cost_usd"] == Decimal("0.00645")
    assert got["latency_ms"] >= 0 and got["ttft_ms"] is None
    assert (got["status"], got["error_code"]) == (499, "client_disconnected")
    assert (got["stream"], got["client_disconnected"], got["simulated"]) == (True, True, True)


def test_the_recorder_puts_each_value_in_its_column(pg_url: str) -> None:
    usage = Usage(prompt_tokens=11, completion_tokens=22, cached_tokens=5, source="provider")
    outcome = {"status": 502, "error_code": "upstream_error", "client_disconnected": True}
    assert _record(pg_url, [("req-columns", usage, outcome)]) == 1
    (row,) = _rows(pg_url, "req-columns")
    got = dict(zip(LedgerEntry._fields, row, strict=True))
    assert got["ts"] is not None and got["latency_ms"] >= 0
    del got["ts"], got["latency_ms"]
    assert got == {
        "request_id": "req-columns",
        "attempt": 0,
        "endpoint": "chat",
        "key_id": "key-1",
        "team": "team-ü",
        "requested_model": "gpt-4o\t\\ ünï",
        "target": "gpt-4o",
        "provider": "openai",
        "upstream_model": "gpt-4o-2024-08-06",
        "rule": "code→cheap",
        "policy_version": 3,
        "prompt_tokens": 11,
        "completion_tokens": 22,
        "cached_tokens": 5,
        "usage_source": "provider",
        "cost_usd": Price.per_million(2.5, 10).cost(11, 22, 5),
        "ttft_ms": None,
        "status": 502,
        "error_code": "upstream_error",
        "stream": True,
        "client_disconnected": True,
        "simulated": True,
    }


@pytest.mark.parametrize(
    ("reported", "kept"),
    [
        ((2**40, 7, 0), (INT4_MAX, 7, 0)),  # binary int4 would have wrapped 2**40 around to 0
        ((-5, 2**31, 2**33), (0, INT4_MAX, INT4_MAX)),
    ],
)
def test_counts_no_column_can_hold_are_clamped_not_wrapped(
    pg_url: str, reported: tuple[int, int, int], kept: tuple[int, int, int]
) -> None:
    request_id = f"req-clamp-{reported[0]}"
    usage = Usage(*reported, source="provider")
    good = Usage(prompt_tokens=3, completion_tokens=4, source="provider")
    calls = [(request_id, usage, {"status": 200}), (request_id + "-next", good, {"status": 200})]
    assert _record(pg_url, calls) == 2  # the odd row neither fails nor holds back the one after it
    (row,) = _rows(pg_url, request_id)
    got = dict(zip(LedgerEntry._fields, row, strict=True))
    assert (got["prompt_tokens"], got["completion_tokens"], got["cached_tokens"]) == kept
    assert got["cost_usd"] == Price.per_million(2.5, 10).cost(*kept)
    (next_row,) = _rows(pg_url, request_id + "-next")
    assert next_row[LedgerEntry._fields.index("prompt_tokens")] == 3


class _CommitAcknowledgementLost:
    """A pool whose first connection fails after its transaction committed: the gateway cannot tell that
    batch was written (the acknowledgement of COMMIT was lost with the connection)."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self.failures = 1

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        async with self._pool.connection() as conn:
            yield conn
        if self.failures:
            self.failures -= 1
            raise psycopg.OperationalError("server closed the connection unexpectedly")


def test_a_batch_retried_after_an_unknown_outcome_is_written_once(pg_url: str) -> None:
    async def run() -> None:
        async with _database(pg_url) as db:
            real_pool = db.pool
            db.pool = _CommitAcknowledgementLost(real_pool)  # type: ignore[assignment]
            ledger = Ledger(db)
            for i in range(3):
                ledger.record(ledger_entry(f"req-ack-{i}"))
            assert await ledger.flush() == 0  # failed as far as the gateway can tell...
            assert ledger.pending == 3
            assert len(_rows(pg_url, "req-ack-0")) == 1  # ...but committed
            ledger.record(ledger_entry("req-ack-3"))
            assert await ledger.flush() == 4  # the retry skips what is there and writes the new row
            ledger.record(ledger_entry("req-ack-4"))
            assert await ledger.flush() == 1  # and the next batch goes in as usual
            db.pool = real_pool

    asyncio.run(run())
    for i in range(5):
        assert len(_rows(pg_url, f"req-ack-{i}")) == 1


def test_a_usage_estimate_that_fails_still_leaves_a_usage_to_record(caplog: pytest.LogCaptureFixture) -> None:
    """estimate_usage runs where a call is being recorded (a stream's end): it must not raise, or the
    call would get no ledger row and keep its admission lease."""
    broken = [cast(dict[str, Any], "not a message")]
    ctx = call_context("req-broken-count", price=Price.per_million(2.5, 10), messages=broken, stream=True)
    with caplog.at_level("ERROR", logger="gateway.calls"):
        usage = estimate_usage(ctx, None, "some answer")
    assert usage == Usage() and usage.source == "none"
    assert "req-broken-count" in caplog.text
    # A text part whose text is not a string is skipped by the count, not fatal to it.
    odd_part = [{"role": "user", "content": [{"type": "text", "text": 5}, {"type": "text", "text": "hi"}]}]
    fine = dataclasses.replace(ctx, messages=odd_part)
    counted = estimate_usage(fine, None, "some answer")
    assert counted.source == "estimated" and counted.prompt_tokens > 0 and counted.completion_tokens > 0


def test_a_row_the_table_refuses_is_dropped_alone_not_retried_forever(pg_url: str) -> None:
    """One value PostgreSQL cannot store (here a cost beyond numeric(20, 10)) must not hold the batch."""

    async def run() -> None:
        async with _database(pg_url) as db:
            ledger = Ledger(db)
            ledger.record(ledger_entry("req-poison-0", "0.000001"))
            ledger.record(ledger_entry("req-poison-1", "1e12"))
            ledger.record(ledger_entry("req-poison-2", "0.000002"))
            assert await ledger.flush() == 2
            assert (ledger.pending, ledger.dropped) == (0, 1)
            ledger.record(ledger_entry("req-poison-3", "0.000003"))
            assert await ledger.flush() == 1  # and the next batch goes in the usual way

    asyncio.run(run())
    assert [len(_rows(pg_url, f"req-poison-{i}")) for i in range(4)] == [1, 0, 1, 1]


def test_a_cost_beyond_the_ledger_column_is_recorded_at_its_bound() -> None:
    queue = RowQueue()
    recorder = CallRecorder(ledger=queue, metrics=Metrics())  # type: ignore[arg-type]
    ctx = call_context("req-pricey", price=Price.per_million(1e15, 1e15), name="pricey", upstream_model="m")
    usage = Usage(prompt_tokens=1000, completion_tokens=1000, source="provider")
    recorder.record(ctx, status=200, usage=usage)
    (row,) = queue.rows
    assert row.cost_usd == Decimal("9999999999.9999999999")
