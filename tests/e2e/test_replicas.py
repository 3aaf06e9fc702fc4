"""Two replicas sharing PostgreSQL and Redis: budgets hold for the fleet, and SIGTERM to one in the
middle of streams finishes its streams while the other keeps serving, with no ledger row lost."""

from __future__ import annotations

import signal
import time
from decimal import Decimal
from typing import Any

import httpx

from tests.e2e.test_ledger_and_faults import ledger_rows
from tests.support import Gateway, Simulator, StreamsInFlight

BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 50}


def call(gw: Gateway, key: str, body: dict[str, Any] = BODY) -> httpx.Response:
    return httpx.post(
        gw.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body, timeout=30
    )


def wait_known(gw: Gateway, key: str) -> None:
    deadline = time.monotonic() + 3
    while httpx.get(gw.url + "/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code == 401:
        assert time.monotonic() < deadline, "the replica never learnt the key"
        time.sleep(0.05)


def test_budget_holds_across_replicas(two_replicas: tuple[Gateway, Gateway], pg_url: str) -> None:
    one, two = two_replicas
    budget = Decimal("0.002")
    created = one.create_key(
        name="fleet-budget", limits={"budgets": [{"period": "day", "usd": float(budget)}]}
    )
    wait_known(two, created["key"])
    statuses, ids = [], []
    for i in range(40):
        r = call(one if i % 2 else two, created["key"])
        statuses.append(r.status_code)
        ids.append(r.headers["x-request-id"])
        if r.status_code == 429:
            assert r.json()["error"]["code"] == "budget_exceeded"
    assert statuses[0] == 200 and 429 in statuses
    served = [i for i, s in zip(ids, statuses, strict=True) if s == 200]
    spent = sum(ledger_rows(pg_url, rid)[0]["cost_usd"] for rid in served)
    worst_call = Decimal(60) * Decimal("0.0000025") + Decimal(50) * Decimal("0.00001")  # prompt + max_tokens
    assert spent <= budget + worst_call


def test_sigterm_on_one_replica_mid_stream(
    two_replicas: tuple[Gateway, Gateway], sim: Simulator, pg_url: str
) -> None:
    one, two = two_replicas
    key = one.create_key(name="fleet-drain")["key"]
    wait_known(two, key)
    sim.configure(tokens_per_second=25, completion_tokens=50)
    try:
        streams = StreamsInFlight(one.url, key, 2)
        streams.start()
        one.signal(signal.SIGTERM)
        # While the first replica drains, the second serves new calls.
        served_by_two = [call(two, key, {**BODY, "model": "llama-3.1-8b"}) for _ in range(3)]
        streams.join()
        one.proc.wait(timeout=30)
    finally:
        sim.configure(tokens_per_second=0, completion_tokens=16)
    assert all(r.status_code == 200 for r in served_by_two)
    assert len(streams.results) == 2
    for request_id, body in streams.results.values():
        assert body.rstrip().endswith("data: [DONE]")
        assert ledger_rows(pg_url, request_id)[0]["status"] == 200
    for r in served_by_two:
        assert ledger_rows(pg_url, r.headers["x-request-id"])[0]["status"] == 200
