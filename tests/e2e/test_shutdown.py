"""SIGTERM: stop accepting, let in-flight streams finish, flush the ledger, exit — nothing lost."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_ledger_and_faults import ledger_rows
from tests.support import Gateway, Simulator, StreamsInFlight, gateway_env


def test_sigterm_lets_streams_finish_and_loses_no_ledger_row(
    pg_url: str, sim: Simulator, gateway: Gateway, workdir: Path
) -> None:
    env = gateway_env(
        database_url=pg_url,
        master_key=gateway.admin_key,
        sim=sim,
        data_dir=workdir / "drain",
        GATEWAY_LEDGER_FLUSH_S="5",
        GATEWAY_LOG_LEVEL="info",
    )  # only the shutdown flush saves rows
    gw = Gateway(env, workdir)
    key = gateway.create_key(name="drain")["key"]
    sim.configure(tokens_per_second=25, completion_tokens=50)  # ~2 s per stream
    try:
        deadline = time.monotonic() + 3
        while httpx.get(gw.url + "/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        streams = StreamsInFlight(gw.url, key, 3)
        streams.start()
        gw.signal(signal.SIGTERM)
        time.sleep(0.3)
        with pytest.raises(httpx.HTTPError):
            httpx.get(gw.url + "/healthz", timeout=2)  # no longer accepting
        streams.join()
        # uvicorn re-raises the signal once its graceful shutdown is complete: -SIGTERM is a clean exit.
        assert gw.proc.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        sim.configure(tokens_per_second=0, completion_tokens=16)
        gw.stop()
    assert "Application shutdown complete" in gw.log()
    assert len(streams.results) == 3
    for request_id, body in streams.results.values():
        assert body.rstrip().endswith("data: [DONE]"), body[-200:]
        rows = ledger_rows(pg_url, request_id, wait_s=2)
        assert len(rows) == 1 and rows[0]["status"] == 200 and rows[0]["completion_tokens"] > 0
