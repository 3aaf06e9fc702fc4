"""Every call writes one ledger row (streams and disconnects too); upstream faults map to the right status."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import psycopg
import pytest
from psycopg.rows import dict_row

from tests.support import Gateway, Simulator, gateway_env


def ledger_rows(
    pg_url: str, request_id: str, *, wait_s: float = 5.0, expect: int = 1
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + wait_s
    rows: list[dict[str, Any]] = []
    with psycopg.connect(pg_url, autocommit=True, row_factory=dict_row) as conn:
        while time.monotonic() < deadline:
            rows = conn.execute(
                "SELECT * FROM ledger WHERE request_id = %s ORDER BY attempt", (request_id,)
            ).fetchall()
            if len(rows) >= expect:
                return rows
            time.sleep(0.1)
    return rows


def chat(gateway: Gateway, key: dict[str, Any], content: str, **extra: Any) -> httpx.Response:
    return httpx.post(
        gateway.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key['key']}"},
        json={
            "model": extra.pop("model", "gpt-4o"),
            "messages": [{"role": "user", "content": content}],
            **extra,
        },
        timeout=30,
    )


def test_non_streaming_call_writes_one_exact_row(
    gateway: Gateway, user_key: dict[str, Any], pg_url: str
) -> None:
    r = chat(gateway, user_key, "Count the cost of this")
    assert r.status_code == 200
    usage = r.json()["usage"]
    rows = ledger_rows(pg_url, r.headers["x-request-id"])
    assert len(rows) == 1
    row = rows[0]
    assert row["key_id"] == user_key["id"] and row["team"] == "team-a"
    assert (row["requested_model"], row["target"], row["provider"]) == ("gpt-4o", "gpt-4o", "openai")
    assert row["prompt_tokens"] == usage["prompt_tokens"]
    assert row["completion_tokens"] == usage["completion_tokens"]
    assert row["usage_source"] == "provider" and row["status"] == 200 and not row["stream"]
    # gpt-4o list price from litellm's bundled map: $2.50 / $10.00 per million tokens.
    expected = Decimal(usage["prompt_tokens"]) * Decimal("0.0000025") + Decimal(
        usage["completion_tokens"]
    ) * Decimal("0.00001")
    assert row["cost_usd"] == expected
    assert row["latency_ms"] > 0


def test_streamed_call_writes_one_row_with_ttft(
    gateway: Gateway, user_key: dict[str, Any], pg_url: str
) -> None:
    with httpx.stream(
        "POST",
        gateway.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {user_key['key']}"},
        json={
            "model": "claude-sonnet-4-5",
            "messages": [{"role": "user", "content": "stream"}],
            "stream": True,
        },
    ) as r:
        body = r.read().decode()
        request_id = r.headers["x-request-id"]
    assert body.rstrip().endswith("data: [DONE]")
    row = ledger_rows(pg_url, request_id)[0]
    assert row["stream"] and row["status"] == 200 and not row["client_disconnected"]
    assert row["usage_source"] == "provider" and row["completion_tokens"] > 0
    assert row["ttft_ms"] is not None and row["ttft_ms"] <= row["latency_ms"]


@pytest.mark.parametrize("model", ["gpt-4o", "claude-sonnet-4-5"])
def test_client_disconnect_mid_stream_is_recorded(
    gateway: Gateway, user_key: dict[str, Any], pg_url: str, clean_sim: Simulator, model: str
) -> None:
    """One 499 row, counted by us from what was sent (Claude's message_start says output_tokens 1, a
    placeholder that was once recorded as the provider's count)."""
    clean_sim.configure(tokens_per_second=40, completion_tokens=400)
    try:
        with httpx.stream(
            "POST",
            gateway.url + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {user_key['key']}"},
            json={"model": model, "messages": [{"role": "user", "content": "long"}], "stream": True},
        ) as r:
            request_id = r.headers["x-request-id"]
            sent = 0
            for line in r.iter_lines():
                sent += line.startswith("data: ")
                if sent >= 30:
                    break
        # Leaving the block closes the connection mid-stream.
        row = ledger_rows(pg_url, request_id, wait_s=8)[0]
    finally:
        clean_sim.configure(tokens_per_second=0, completion_tokens=16)
    assert row["client_disconnected"] and row["status"] == 499 and row["target"] == model
    assert row["usage_source"] == "estimated" and row["prompt_tokens"] > 0
    assert row["completion_tokens"] >= 25, row


@pytest.mark.parametrize(
    ("path", "model"),
    [("/v1/chat/completions", "gpt-4o"), ("/v1/messages", "claude-sonnet-4-5")],
)
def test_a_client_that_leaves_before_the_first_chunk_is_recorded_and_settled(
    gateway: Gateway, pg_url: str, clean_sim: Simulator, path: str, model: str
) -> None:
    """The client is gone by the time the stream could start: the call still gets its one 499 row, and its
    concurrency slot comes back (it was held until the lease expired, 15 minutes)."""
    key = gateway.create_key(name=f"leaves-early-{model}", limits={"max_concurrency": 1})
    body = orjson.dumps(
        {"model": model, "stream": True, "max_tokens": 50, "messages": [{"role": "user", "content": "go"}]}
    )
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key['key']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    clean_sim.configure(latency_ms=1500)
    try:
        with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as s:
            s.sendall(head + body)
            time.sleep(0.5)  # gone before the upstream's first byte
        # The call is settled when its row is written: wait for the row, however slow the machine.
        query = "SELECT status, client_disconnected, stream FROM ledger WHERE key_id = %s ORDER BY ts"
        deadline = time.monotonic() + 10
        with psycopg.connect(pg_url, autocommit=True, row_factory=dict_row) as conn:
            while not (rows := conn.execute(query, (key["id"],)).fetchall()) and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        clean_sim.configure(latency_ms=0)
    assert rows == [{"status": 499, "client_disconnected": True, "stream": True}]
    again = chat(gateway, key, "hello again", model=model)
    if again.status_code == 429:  # the row can be flushed a moment before the settle that follows it
        time.sleep(0.5)
        again = chat(gateway, key, "hello again", model=model)
    assert again.status_code == 200, again.text  # the slot came back (it was held for 15 minutes)


@pytest.mark.parametrize(
    ("marker", "status", "code"),
    [
        ("[[sim:429]]", 429, "upstream_rate_limited"),
        ("[[sim:500]]", 502, "upstream_error"),
        ("[[sim:timeout]]", 504, "upstream_timeout"),
    ],
)
def test_upstream_faults_map_to_statuses_and_are_recorded(
    gateway: Gateway, user_key: dict[str, Any], pg_url: str, marker: str, status: int, code: str
) -> None:
    r = chat(gateway, user_key, f"please fail {marker}")
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    if status == 429:
        assert int(r.headers["retry-after"]) >= 1
    row = ledger_rows(pg_url, r.headers["x-request-id"])[0]
    assert row["status"] == status and row["error_code"] and row["cost_usd"] == 0
    assert httpx.get(gateway.url + "/healthz").status_code == 200


def test_stream_that_dies_midway_ends_with_in_band_error_and_no_done(
    gateway: Gateway, user_key: dict[str, Any], pg_url: str
) -> None:
    with httpx.stream(
        "POST",
        gateway.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {user_key['key']}"},
        json={
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "go [[sim:drop_midstream]]"}],
            "stream": True,
        },
    ) as r:
        assert r.status_code == 200
        body = r.read().decode()
        request_id = r.headers["x-request-id"]
    assert '"error"' in body and "[DONE]" not in body
    with pytest.raises(openai.APIError):
        c = openai.OpenAI(base_url=gateway.url + "/v1", api_key=user_key["key"], max_retries=0)
        list(
            c.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "[[sim:drop_midstream]]"}], stream=True
            )
        )
    row = ledger_rows(pg_url, request_id)[0]
    assert row["status"] == 502 and row["stream"]


def test_metrics_expose_requests_tokens_and_cost_without_secrets(
    gateway: Gateway, user_key: dict[str, Any]
) -> None:
    chat(gateway, user_key, "metrics please")
    text = httpx.get(gateway.url + "/metrics").text
    assert 'gateway_requests_total{endpoint="chat",status="200",target="gpt-4o"}' in text
    assert "gateway_request_latency_seconds_bucket" in text
    assert 'gateway_tokens_total{kind="prompt",rule="explicit-model",target="gpt-4o"}' in text
    assert 'gateway_cost_usd_total{rule="explicit-model",target="gpt-4o"}' in text
    assert user_key["key"] not in text and gateway.admin_key not in text


def test_gateway_log_never_contains_keys(gateway: Gateway, user_key: dict[str, Any]) -> None:
    chat(gateway, user_key, "log check")
    log = gateway.log()
    assert user_key["key"] not in log and gateway.admin_key not in log


def test_drift_report_and_metric(gateway: Gateway, user_key: dict[str, Any]) -> None:
    chat(gateway, user_key, "drift sample")
    with gateway.admin() as admin:
        report = admin.get("/admin/drift").json()
    assert set(report["features"]) == {
        "task",
        "domain",
        "complexity_tier",
        "sensitivity_level",
        "prompt_length",
    }
    recent = report["features"]["prompt_length"]["recent"]
    assert sum(recent.values()) >= 1  # the call above was counted (the baseline needs hours of traffic)
    assert (
        httpx.get(
            gateway.url + "/admin/drift", headers={"Authorization": f"Bearer {user_key['key']}"}
        ).status_code
        == 403
    )


class _OddUpstream(BaseHTTPRequestHandler):
    """An OpenAI-compatible upstream with two faults real ones have: a model that breaks its tool call's
    JSON arguments (a prompt containing BROKEN), and a server that reports no usage (NO-USAGE) or counts
    that are not numbers (BAD-USAGE)."""

    def do_POST(self) -> None:
        request = orjson.loads(self.rfile.read(int(self.headers["content-length"])))
        prompt = str(request["messages"][-1]["content"])
        message: dict[str, Any] = {"role": "assistant", "content": "Oslo is cloudy today."}
        if "BROKEN" in prompt:
            call = {
                "id": "call_1",
                "type": "function",
                "function": {"name": "f", "arguments": '{"city": "Os'},
            }
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
        reply: dict[str, Any] = {
            "id": "chatcmpl-odd",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        }
        if "BAD-USAGE" in prompt:
            reply["usage"] = {"prompt_tokens": "n/a", "completion_tokens": 500}
        elif "NO-USAGE" not in prompt:
            reply["usage"] = {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500}
        body = orjson.dumps(reply)
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def odd_gateway(pg_url: str, sim: Simulator, workdir: Path) -> Iterator[Gateway]:
    """A gateway whose OpenAI provider is _OddUpstream (the others stay on the simulator)."""
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _OddUpstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    env = gateway_env(
        database_url=pg_url,
        master_key="sk-gw-admin-odd",
        sim=sim,
        data_dir=workdir / "data-odd",
        OPENAI_BASE_URL=f"http://127.0.0.1:{upstream.server_address[1]}/v1",
    )
    gw = Gateway(env, workdir)
    yield gw
    gw.stop()
    upstream.shutdown()


def messages_call(gw: Gateway, key: dict[str, Any], content: str, **extra: Any) -> httpx.Response:
    return httpx.post(
        gw.url + "/v1/messages",
        headers={"x-api-key": key["key"]},
        json={
            "model": "gpt-4o",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": content}],
            **extra,
        },
        timeout=30,
    )


def test_a_reply_that_cannot_be_translated_is_still_metered(odd_gateway: Gateway, pg_url: str) -> None:
    """An Anthropic client, an OpenAI target whose model broke its tool arguments: the client gets a 502,
    and the ledger still has the attempt with the tokens the upstream billed."""
    key = odd_gateway.create_key(name="broken-tools")
    tools = [{"name": "f", "input_schema": {"type": "object"}}]
    r = messages_call(odd_gateway, key, "Weather in Oslo? BROKEN", tools=tools)
    assert r.status_code == 502, r.text
    assert r.json()["error"]["type"] == "api_error"
    rows = ledger_rows(pg_url, r.headers["x-request-id"])
    assert len(rows) == 1
    row = rows[0]
    assert (row["status"], row["error_code"], row["target"]) == (502, "upstream_bad_tool_call", "gpt-4o")
    assert (row["prompt_tokens"], row["completion_tokens"]) == (1000, 500)
    assert row["usage_source"] == "provider" and row["cost_usd"] > 0


def test_a_messages_reply_without_usage_is_counted_by_us(odd_gateway: Gateway, pg_url: str) -> None:
    """As for chat completions: no usage from the upstream, our tiktoken count (never 0 tokens, $0)."""
    key = odd_gateway.create_key(name="no-usage")
    r = messages_call(odd_gateway, key, "Weather in Oslo? NO-USAGE")
    assert r.status_code == 200, r.text
    row = ledger_rows(pg_url, r.headers["x-request-id"])[0]
    assert row["usage_source"] == "estimated" and row["status"] == 200
    assert row["prompt_tokens"] > 0 and row["completion_tokens"] > 0 and row["cost_usd"] > 0
    chat = httpx.post(
        odd_gateway.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key['key']}"},
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "Weather in Oslo? NO-USAGE"}]},
        timeout=30,
    )
    same = ledger_rows(pg_url, chat.headers["x-request-id"])[0]
    assert same["usage_source"] == "estimated"
    assert same["completion_tokens"] == row["completion_tokens"]  # the same reply, counted the same way
    # Counts that are not numbers: as if none were sent (it was a 500 with no row, the call never settled).
    bad = httpx.post(
        odd_gateway.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key['key']}"},
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "Weather in Oslo? BAD-USAGE"}]},
        timeout=30,
    )
    assert bad.status_code == 200, bad.text
    assert ledger_rows(pg_url, bad.headers["x-request-id"])[0]["usage_source"] == "estimated"


def test_calls_refused_before_any_attempt_write_one_row_each(gateway: Gateway, pg_url: str) -> None:
    """docs/API-costs.md: a call refused before any attempt writes a row too (no tokens, no cost); a
    refusal by routing has no target, one by a limit has the target routing chose."""
    key = gateway.create_key(name="refusals", limits={"rpm": 1}, allowed_models=["gpt-4o", "llama-3.1-8b"])
    assert chat(gateway, key, "first").status_code == 200
    limited = chat(gateway, key, "second")
    unknown = chat(gateway, key, "third", model="no-such-model")
    assert (limited.status_code, unknown.status_code) == (429, 404)
    other = gateway.create_key(name="refusals-2", allowed_models=["llama-3.1-8b"])
    forbidden = chat(gateway, other, "fourth", model="gpt-4o")
    assert forbidden.status_code == 403
    for reply, status, target in ((limited, 429, "gpt-4o"), (unknown, 404, None), (forbidden, 403, None)):
        (row,) = ledger_rows(pg_url, reply.headers["x-request-id"])
        assert (row["status"], row["target"], row["error_code"]) == (
            status,
            target,
            reply.json()["error"]["code"],
        )
        assert (row["prompt_tokens"], row["completion_tokens"], row["cost_usd"]) == (0, 0, Decimal(0))
        assert row["usage_source"] == "none" and row["key_id"] in (key["id"], other["id"])
    assert unknown.json()["error"]["code"] == "model_not_found"
    (row,) = ledger_rows(pg_url, unknown.headers["x-request-id"])
    assert row["requested_model"] == "no-such-model"
    # Embeddings likewise; and a request the chosen target's wire format cannot carry (n=2 for Claude),
    # refused on our side within the attempt.
    roomy = gateway.create_key(name="refusals-3")
    embed = httpx.post(
        gateway.url + "/v1/embeddings",
        headers={"Authorization": f"Bearer {roomy['key']}"},
        json={"model": "no-such-embedder", "input": "x"},
        timeout=30,
    )
    two = chat(gateway, roomy, "two answers please", model="claude-sonnet-4-5", n=2)
    assert (embed.status_code, two.status_code) == (404, 400)
    (row,) = ledger_rows(pg_url, embed.headers["x-request-id"])
    assert (row["endpoint"], row["status"], row["target"]) == ("embeddings", 404, None)
    (row,) = ledger_rows(pg_url, two.headers["x-request-id"])
    assert (row["status"], row["target"], row["cost_usd"]) == (400, "claude-sonnet-4-5", Decimal(0))
