"""Hand-written ledger rows for the report tests, inserted straight into PostgreSQL."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg


@dataclass
class Row:
    ts: datetime
    cost: str = "0"
    model: str | None = "gpt-4o"
    target: str | None = "gpt-4o"
    provider: str | None = "openai"
    key_id: str | None = "key-a"
    team: str | None = "team-a"
    rule: str | None = None
    prompt: int = 0
    completion: int = 0
    cached: int = 0
    status: int = 200
    endpoint: str = "chat"


def insert(pg_url: str, rows: list[Row]) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO ledger (ts, request_id, attempt, endpoint, key_id, team, requested_model, target,"
            " provider, rule, prompt_tokens, completion_tokens, cached_tokens, cost_usd, status)"
            " VALUES (%s, %s, 0, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    r.ts,
                    "test-" + secrets.token_hex(8),
                    r.endpoint,
                    r.key_id,
                    r.team,
                    r.model,
                    r.target,
                    r.provider,
                    r.rule,
                    r.prompt,
                    r.completion,
                    r.cached,
                    Decimal(r.cost),
                    r.status,
                )
                for r in rows
            ],
        )


def ledger_sum(pg_url: str, start: datetime, end: datetime, **equal: Any) -> tuple[int, Decimal]:
    """(rows, sum(cost_usd)) straight from the ledger over [start, end), the figure reports must match."""
    where = "".join(f" AND {column} = %({column})s" for column in equal)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*), coalesce(sum(cost_usd), 0) FROM ledger WHERE ts >= %(start)s AND ts < %(end)s"
            + where,
            {"start": start, "end": end, **equal},
        ).fetchone()
    assert row is not None
    return int(row[0]), Decimal(row[1])
