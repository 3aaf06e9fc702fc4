"""Real calls through the gateway under a fresh team, and the ledger rows they wrote."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from tests.support import Gateway


@dataclass
class Traffic:
    """Calls made by `good` (all answered) and `faulty` (upstream errors), both in `team`."""

    team: str
    good: dict[str, Any]
    faulty: dict[str, Any]
    start: datetime
    end: datetime
    usages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (target, usage) per good call
    request_ids: list[str] = field(default_factory=list)

    def params(self, **extra: Any) -> dict[str, Any]:
        return {"start": iso(self.start), "end": iso(self.end), **extra}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def chat(gateway: Gateway, key: dict[str, Any], model: str, content: str) -> httpx.Response:
    return httpx.post(
        gateway.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key['key']}"},
        json={"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": 40},
        timeout=30,
    )


def make_traffic(gateway: Gateway, pg_url: str) -> Traffic:
    team = "costs-" + secrets.token_hex(4)
    start = datetime.now(UTC) - timedelta(seconds=5)
    traffic = Traffic(
        team=team,
        good=gateway.create_key(name="costs-good", team=team),
        faulty=gateway.create_key(name="costs-faulty", team=team),
        start=start,
        end=start + timedelta(minutes=30),
    )
    for model, content in [
        ("gpt-4o", "Summarise the quarterly cost report in two sentences."),
        ("gpt-4o", "What is 17 times 23?"),
        ("claude-sonnet-4-5", "Write a haiku about invoices."),
        ("llama-3.1-8b", "Translate 'good morning' into French."),
    ]:
        reply = chat(gateway, traffic.good, model, content)
        assert reply.status_code == 200, reply.text
        # the hand-computed costs assume the named target served the call
        assert reply.headers["x-gateway-rule"] == "explicit-model", reply.headers
        traffic.usages.append((model, reply.json()["usage"]))
        traffic.request_ids.append(reply.headers["x-request-id"])
    reply = chat(gateway, traffic.faulty, "gpt-4o", "fail please [[sim:500]]")
    assert reply.status_code >= 500, reply.text
    traffic.request_ids.append(reply.headers["x-request-id"])
    wait_for_ledger(pg_url, traffic.request_ids)
    return traffic


def wait_for_ledger(pg_url: str, request_ids: list[str], timeout_s: float = 10.0) -> None:
    """Until every call has its ledger row (the ledger flushes every 0.25 s)."""
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(pg_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(DISTINCT request_id) FROM ledger WHERE request_id = ANY(%s)", (request_ids,)
            ).fetchone()
            if row is not None and row[0] == len(request_ids):
                time.sleep(0.3)  # a retried call's later attempts flush with the next batch
                return
            time.sleep(0.05)
    raise TimeoutError("ledger rows did not appear")


def ledger(pg_url: str, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with psycopg.connect(pg_url, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]
