"""The cost ledger: one row per upstream attempt, written in batches off the request path.

Rows wait in memory for at most `flush_interval_s` (0.25 s by default), so a crash loses at most that much;
a graceful shutdown flushes everything. If the database is unreachable, rows stay queued (up to
`max_pending`) and are written when it comes back.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

import psycopg

from gateway.storage.db import Database
from gateway.storage.poller import Poller

log = logging.getLogger("gateway.ledger")


class LedgerEntry(NamedTuple):
    """One ledger row, its fields in the table's column order. A tuple, so a batch is written as it is
    (each row is built on the hot path of every call: a tuple costs least to build and to write)."""

    ts: datetime
    request_id: str
    attempt: int
    endpoint: str
    key_id: str | None
    team: str | None
    requested_model: str | None
    target: str | None
    provider: str | None
    upstream_model: str | None
    rule: str | None
    policy_version: int | None
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    usage_source: str
    cost_usd: Decimal
    latency_ms: float | None
    ttft_ms: float | None
    status: int
    error_code: str | None
    stream: bool
    client_disconnected: bool
    simulated: bool


# Each field's PostgreSQL type, as the ledger table declares it (tests/e2e check the two agree): the rows go
# in by binary COPY, about half the CPU of text COPY per row, and binary data must name its exact types.
COLUMN_TYPES: dict[str, str] = {
    "ts": "timestamptz",
    "request_id": "text",
    "attempt": "int4",
    "endpoint": "text",
    "key_id": "text",
    "team": "text",
    "requested_model": "text",
    "target": "text",
    "provider": "text",
    "upstream_model": "text",
    "rule": "text",
    "policy_version": "int4",
    "prompt_tokens": "int4",
    "completion_tokens": "int4",
    "cached_tokens": "int4",
    "usage_source": "text",
    "cost_usd": "numeric",
    "latency_ms": "float8",
    "ttft_ms": "float8",
    "status": "int4",
    "error_code": "text",
    "stream": "bool",
    "client_disconnected": "bool",
    "simulated": "bool",
}
_COLUMNS = list(LedgerEntry._fields)
_TYPES = [COLUMN_TYPES[c] for c in _COLUMNS]
# A batch goes in by one COPY straight into the ledger. A batch retried after a failed flush may have been
# committed all the same (the acknowledgement of COMMIT lost with the connection): it goes into a
# per-transaction staging table, then one INSERT that skips the rows already there, so no row is written
# twice. The straight COPY costs PostgreSQL about half the CPU per row (measured: 6-8 vs 12-16 µs), and it
# runs on the gateway's machine in the embedded default.
_COPY = f"COPY ledger ({', '.join(_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_STAGE = "CREATE TEMP TABLE ledger_stage (LIKE ledger INCLUDING DEFAULTS) ON COMMIT DROP"
_COPY_STAGE = f"COPY ledger_stage ({', '.join(_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_MOVE = (
    f"INSERT INTO ledger ({', '.join(_COLUMNS)}) SELECT {', '.join(_COLUMNS)} FROM ledger_stage"
    " ON CONFLICT (request_id, attempt) DO NOTHING"
)


class Ledger:
    def __init__(self, db: Database, *, flush_interval_s: float = 0.25, max_pending: int = 200_000) -> None:
        self._db = db
        self._max_pending = max_pending
        self._pending: list[LedgerEntry] = []
        self._poller = Poller("ledger-flush", self.flush, interval_s=flush_interval_s)
        self._lock = asyncio.Lock()
        self._retry = False  # the last flush failed: its rows may be in the table already
        self.dropped = 0
        self.written = 0

    def record(self, entry: LedgerEntry) -> None:
        """Queue a row; never blocks and never raises."""
        if len(self._pending) >= self._max_pending:
            self.dropped += 1
            log.error("ledger queue full (%d rows): dropping a row", self._max_pending)
            return
        self._pending.append(entry)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def start(self) -> None:
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()
        await self.flush()

    async def flush(self) -> int:
        async with self._lock:
            if not self._pending:
                return 0
            batch, self._pending = self._pending, []
            retry = self._retry
            try:
                async with self._db.pool.connection() as conn:
                    async with conn.transaction():
                        async with conn.cursor() as cur:
                            if retry:
                                await cur.execute(_STAGE)
                            async with cur.copy(_COPY_STAGE if retry else _COPY) as copy:
                                copy.set_types(_TYPES)
                                for entry in batch:
                                    await copy.write_row(entry)
                            if retry:
                                await cur.execute(_MOVE)
            except psycopg.DataError as exc:
                # A value the table cannot hold: the batch would fail this way on every retry and hold
                # every row in it. Row by row instead, and only the refused rows are dropped.
                log.error("ledger flush of %d rows refused (%s); writing them one by one", len(batch), exc)
                return await self._write_singly(batch)
            except Exception as exc:  # keep the rows; the next flush tries again, the careful way
                log.warning("ledger flush of %d rows failed (%s); will retry", len(batch), type(exc).__name__)
                self._pending[:0] = batch
                self._retry = True
                return 0
            self._retry = False
            self.written += len(batch)
            return len(batch)

    async def _write_singly(self, batch: list[LedgerEntry]) -> int:
        """Each row in its own transaction, through the staging table (an earlier failed flush may have
        written some). A row the database refuses is dropped and counted; any other failure puts the rows
        not yet written back in the queue."""
        written = 0
        for i, entry in enumerate(batch):
            try:
                async with self._db.pool.connection() as conn:
                    async with conn.transaction():
                        async with conn.cursor() as cur:
                            await cur.execute(_STAGE)
                            async with cur.copy(_COPY_STAGE) as copy:
                                copy.set_types(_TYPES)
                                await copy.write_row(entry)
                            await cur.execute(_MOVE)
            except psycopg.DataError as exc:
                self.dropped += 1
                log.error("ledger row %s/%d refused by the database (%s): dropped", entry.request_id,
                          entry.attempt, exc)  # fmt: skip
                continue
            except Exception as exc:
                log.warning("ledger flush failed (%s); will retry", type(exc).__name__)
                self._pending[:0] = batch[i:]
                self._retry = True
                break
            written += 1
        else:
            self._retry = False  # every row of the batch is in, or refused for good
        self.written += written
        return written
