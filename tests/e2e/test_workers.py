"""`gateway serve` with GATEWAY_WORKERS=2: several processes on one port, each serving the full API."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support import Gateway, Simulator, gateway_env


def test_two_workers_serve_chat_on_one_port(
    pg_url: str, sim: Simulator, gateway: Gateway, workdir: Path
) -> None:
    env = gateway_env(
        database_url=pg_url,
        master_key=gateway.admin_key,
        sim=sim,
        data_dir=workdir / "workers",
        GATEWAY_WORKERS="2",
    )
    key = gateway.create_key(name="workers")["key"]  # before the workers start: each loads it at start
    gw = Gateway(env, workdir)
    try:
        with httpx.Client(base_url=gw.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            for _ in range(6):  # new connections each time: the kernel hands them to either worker
                reply = client.post(
                    "/v1/chat/completions",
                    json={"model": "llama-3.1-8b", "messages": [{"role": "user", "content": "hi"}]},
                    headers={"connection": "close"},
                )
                assert reply.status_code == 200, reply.text
                assert reply.json()["choices"][0]["message"]["role"] == "assistant"
                assert reply.headers["x-request-id"]
    finally:
        gw.stop()
