"""Bad input: each case gets a clear 4xx in the OpenAI error shape, the process keeps serving,
nothing is written half, and no upstream is called."""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import orjson
import psycopg
import pytest

from tests.support import Gateway, Simulator

CHAT = "/v1/chat/completions"
OK_MESSAGES = [{"role": "user", "content": "hi"}]


def post(
    gateway: Gateway,
    key: dict[str, Any],
    body: Any = None,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    h = {"Authorization": f"Bearer {key['key']}", "content-type": "application/json", **(headers or {})}
    if content is None and body is not None:
        return httpx.post(gateway.url + CHAT, json=body, headers=h, timeout=30)
    return httpx.post(gateway.url + CHAT, content=content or b"", headers=h, timeout=30)


def assert_error(
    r: httpx.Response, status: int, *, param: str | None = None, code: str | None = None
) -> None:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "code", "param"}
    assert err["message"]
    if param is not None:
        assert err["param"] == param
    if code is not None:
        assert err["code"] == code
    assert r.headers["x-request-id"]


CASES: list[tuple[str, Any, bytes | None, int, str | None]] = [
    ("malformed json", None, b'{"model": "gpt-4o", "messages": [', 400, None),
    ("empty body", None, b"", 400, None),
    ("json array", [1, 2], None, 400, None),
    (
        "invalid utf-8",
        None,
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "\xff\xfe"}]}',
        400,
        None,
    ),
    ("missing messages", {"model": "gpt-4o"}, None, 400, "messages"),
    ("messages wrong type", {"model": "gpt-4o", "messages": "hello"}, None, 400, "messages"),
    ("empty messages", {"model": "gpt-4o", "messages": []}, None, 400, "messages"),
    (
        "bad role",
        {"model": "gpt-4o", "messages": [{"role": "wizard", "content": "x"}]},
        None,
        400,
        "messages.0.role",
    ),
    ("model wrong type", {"model": 42, "messages": OK_MESSAGES}, None, 400, "model"),
    ("n huge", {"model": "gpt-4o", "messages": OK_MESSAGES, "n": 1_000_000}, None, 400, "n"),
    ("n zero", {"model": "gpt-4o", "messages": OK_MESSAGES, "n": 0}, None, 400, "n"),
    (
        "max_tokens negative",
        {"model": "gpt-4o", "messages": OK_MESSAGES, "max_tokens": -1},
        None,
        400,
        "max_tokens",
    ),
    (
        "max_tokens string",
        {"model": "gpt-4o", "messages": OK_MESSAGES, "max_tokens": "10"},
        None,
        400,
        "max_tokens",
    ),
    (
        "temperature high",
        {"model": "gpt-4o", "messages": OK_MESSAGES, "temperature": 9},
        None,
        400,
        "temperature",
    ),
    ("stream not bool", {"model": "gpt-4o", "messages": OK_MESSAGES, "stream": "yes"}, None, 400, "stream"),
    (
        "too many stops",
        {"model": "gpt-4o", "messages": OK_MESSAGES, "stop": ["a", "b", "c", "d", "e"]},
        None,
        400,
        "stop",
    ),
    (
        "api_base smuggled",
        {"model": "gpt-4o", "messages": OK_MESSAGES, "api_base": "http://evil"},
        None,
        400,
        "api_base",
    ),
    (
        "base_url smuggled",
        {"model": "gpt-4o", "messages": OK_MESSAGES, "base_url": "http://evil"},
        None,
        400,
        "base_url",
    ),
    (
        "api_key smuggled",
        {"model": "gpt-4o", "messages": OK_MESSAGES, "api_key": "sk-x"},
        None,
        400,
        "api_key",
    ),
    ("unknown model", {"model": "gpt-99", "messages": OK_MESSAGES}, None, 404, "model"),
    (
        "text part whose text is a number",
        {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
        None,
        400,
        "messages.0.content",
    ),
    (
        "text part without text",
        {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "text"}]}]},
        None,
        400,
        "messages.0.content",
    ),
    (
        "temperature as a string",
        {"model": "gpt-4o", "messages": OK_MESSAGES, "temperature": "1"},
        None,
        400,
        "temperature",
    ),
    (
        "temperature as a bool",
        {"model": "gpt-4o", "messages": OK_MESSAGES, "temperature": True},
        None,
        400,
        "temperature",
    ),
    ("top_p as a string", {"model": "gpt-4o", "messages": OK_MESSAGES, "top_p": "0.5"}, None, 400, "top_p"),
    (
        "presence_penalty as a string",
        {"model": "gpt-4o", "messages": OK_MESSAGES, "presence_penalty": "1"},
        None,
        400,
        "presence_penalty",
    ),
    (
        "frequency_penalty as a bool",
        {"model": "gpt-4o", "messages": OK_MESSAGES, "frequency_penalty": False},
        None,
        400,
        "frequency_penalty",
    ),
    (
        "logit_bias value as a string",
        {"model": "gpt-4o", "messages": OK_MESSAGES, "logit_bias": {"50256": "5"}},
        None,
        400,
        "logit_bias",
    ),
    (
        "legacy functions (would be answered without the call)",
        {"model": "gpt-4o", "messages": OK_MESSAGES, "functions": [{"name": "f", "parameters": {}}]},
        None,
        400,
        "functions",
    ),
    (
        "legacy function_call",
        {"model": "gpt-4o", "messages": OK_MESSAGES, "function_call": {"name": "f"}},
        None,
        400,
        "function_call",
    ),
]


@pytest.mark.parametrize(("name", "body", "raw", "status", "param"), CASES, ids=[c[0] for c in CASES])
def test_bad_request_is_a_clear_error(
    gateway: Gateway,
    user_key: dict[str, Any],
    clean_sim: Simulator,
    name: str,
    body: Any,
    raw: bytes | None,
    status: int,
    param: str | None,
) -> None:
    r = post(gateway, user_key, body, content=raw)
    assert_error(r, status, param=param)
    assert clean_sim.requests() == [], "a rejected request must never reach an upstream"
    # The process keeps serving.
    ok = post(gateway, user_key, {"model": "gpt-4o", "messages": OK_MESSAGES})
    assert ok.status_code == 200


def test_ten_megabyte_body_is_413(gateway: Gateway, user_key: dict[str, Any]) -> None:
    big = (
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "'
        + b"a" * (10 * 1024 * 1024)
        + b'"}]}'
    )
    r = post(gateway, user_key, content=big)
    assert_error(r, 413, code="request_too_large")


def test_auth_errors(gateway: Gateway, user_key: dict[str, Any]) -> None:
    url = gateway.url + CHAT
    body = {"model": "gpt-4o", "messages": OK_MESSAGES}
    assert_error(httpx.post(url, json=body), 401, code="missing_api_key")
    assert_error(httpx.post(url, json=body, headers={"Authorization": "Bearer sk-gw-nope"}), 401)
    assert_error(httpx.post(url, json=body, headers={"Authorization": "Basic abc"}), 401)
    mixed = {"Authorization": f"Bearer {user_key['key']}", "x-api-key": "sk-gw-other"}
    assert_error(httpx.post(url, json=body, headers=mixed), 401)
    # 401 comes before any body parsing: a bad key learns nothing about the body.
    assert_error(httpx.post(url, content=b"not json", headers={"Authorization": "Bearer x"}), 401)


def test_error_bodies_never_echo_the_key(gateway: Gateway) -> None:
    secret = "sk-gw-thisisnotarealkeybutlookslikeone"
    r = httpx.post(gateway.url + CHAT, json={}, headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401 and secret not in r.text


def test_admin_routes_need_an_admin_key(gateway: Gateway, user_key: dict[str, Any]) -> None:
    h = {"Authorization": f"Bearer {user_key['key']}"}
    assert_error(httpx.get(gateway.url + "/admin/keys", headers=h), 403)
    assert_error(
        httpx.post(gateway.url + "/admin/keys", json={"name": "x", "is_admin": True}, headers=h), 403
    )
    assert_error(httpx.delete(gateway.url + f"/admin/keys/{user_key['id']}", headers=h), 403)


def test_request_ids_are_ours_and_client_ids_are_echoed_only_when_well_formed(
    gateway: Gateway, user_key: dict[str, Any]
) -> None:
    first = httpx.get(gateway.url + "/healthz", headers={"x-request-id": "forged-id"})
    second = httpx.get(gateway.url + "/healthz")
    assert first.headers["x-request-id"].startswith("req_")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    bad = httpx.get(gateway.url + "/healthz", headers={"x-client-request-id": "abc: def; Set-Cookie=x"})
    assert "x-client-request-id" not in bad.headers and "set-cookie" not in bad.headers
    good = post(
        gateway,
        user_key,
        {"model": "gpt-4o", "messages": OK_MESSAGES},
        headers={"x-client-request-id": "client-id-123"},
    )
    assert good.headers["x-client-request-id"] == "client-id-123"
    assert good.headers["x-request-id"].startswith("req_")


def test_raw_crlf_header_injection_is_rejected_and_server_keeps_serving(gateway: Gateway) -> None:
    raw = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\rInjected: 1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as s:
        s.sendall(raw)
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400") or reply == b""
    assert b"Injected" not in reply
    assert httpx.get(gateway.url + "/healthz").status_code == 200


@pytest.mark.parametrize(
    "head",
    [
        b"Content-Length: 5\r\nContent-Length: 6\r\n",
        b"Content-Length: -1\r\n",
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n",
        b"Bad Header : x\r\n",
    ],
    ids=["two lengths", "negative length", "length and chunked", "bad chunk size", "space before colon"],
)
def test_a_request_the_http_parser_refuses_gets_the_error_shape(gateway: Gateway, head: bytes) -> None:
    raw = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + head + b"\r\nhello"
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as s:
        s.sendall(raw)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    status_and_headers, _, body = reply.partition(b"\r\n\r\n")
    lines = status_and_headers.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 400 Bad Request", reply
    headers = dict(line.lower().split(b": ", 1) for line in lines[1:])
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"x-request-id"].startswith(b"req_")
    assert headers[b"connection"] == b"close"
    error = orjson.loads(body)["error"]
    assert error["code"] == "invalid_http" and set(error) == {"message", "type", "code", "param"}
    assert httpx.get(gateway.url + "/healthz").status_code == 200


def test_unknown_route_and_method_use_error_shape(gateway: Gateway) -> None:
    assert_error(httpx.get(gateway.url + "/v1/nope"), 404)
    assert_error(httpx.get(gateway.url + CHAT), 405)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/files/file%00x", None),
        ("GET", "/v1/files?after=%00", None),
        ("GET", "/v1/vector_stores/vs_%00", None),
        ("POST", "/v1/vector_stores", {"name": "a\u0000b"}),
        ("POST", "/v1/vector_stores", {"name": "ok", "metadata": {"k": "\u0000"}}),
    ],
)
def test_a_nul_character_is_a_clear_400_and_the_connection_stays_usable(
    gateway: Gateway, user_key: dict[str, Any], method: str, path: str, body: Any
) -> None:
    """PostgreSQL text cannot hold NUL: that is the caller's input, not an internal error."""
    headers = {"Authorization": f"Bearer {user_key['key']}"}
    with httpx.Client(base_url=gateway.url, headers=headers, timeout=30) as client:
        r = client.request(method, path, json=body)
        assert_error(r, 400, code="invalid_value")
        assert "NUL" in r.json()["error"]["message"]
        assert client.get("/v1/files").status_code == 200  # same keep-alive connection
        assert client.get("/v1/vector_stores").status_code == 200


def test_a_vector_store_id_with_a_nul_character_is_refused_before_retrieval(
    gateway: Gateway, user_key: dict[str, Any], clean_sim: Simulator
) -> None:
    r = post(
        gateway, user_key, {"model": "gpt-4o", "messages": OK_MESSAGES, "vector_store_ids": ["vs_\u0000"]}
    )
    assert_error(r, 400, param="vector_store_ids.0")
    assert clean_sim.requests() == []


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            CHAT,
            b'{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],'
            b'"tools":[{"type":"function","function":{"name":"f","parameters":' + _nested(300) + b"}}]}",
        ),
        (
            CHAT,
            b'{"model":"gpt-4o","messages":[{"role":"user","content":"x","extra":' + _nested(1000) + b"}]}",
        ),
        (
            "/v1/messages",
            b'{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"x"}],'
            b'"tools":[{"name":"f","input_schema":{"type":"object","properties":' + _nested(300) + b"}}]}",
        ),
        (  # 254 levels as sent; the OpenAI form nests the schema one level deeper (function.parameters)
            "/v1/messages",
            b'{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"x"}],'
            b'"tools":[{"name":"f","input_schema":{"type":"object","properties":' + _nested(250) + b"}}]}",
        ),
    ],
    ids=[
        "chat tool schema 300 deep",
        "chat message 1000 deep",
        "messages tool schema 300 deep",
        "messages 254 deep, 255 translated",
    ],
)
def test_json_nested_deeper_than_the_gateway_can_forward_is_a_400(
    gateway: Gateway, user_key: dict[str, Any], clean_sim: Simulator, pg_url: str, path: str, body: bytes
) -> None:
    """orjson reads 1,024 levels but writes 254; a request is written again to go upstream. Refused there,
    before any byte is sent: a 400, and the call's row says so (a call refused before any attempt)."""
    h = {"Authorization": f"Bearer {user_key['key']}", "content-type": "application/json"}
    r = httpx.post(gateway.url + path, content=body, headers=h, timeout=30)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert "nested more than 254 levels" in error["message"]
    assert clean_sim.requests() == []
    ok = post(gateway, user_key, {"model": "gpt-4o", "messages": OK_MESSAGES})
    assert ok.status_code == 200
    with psycopg.connect(pg_url, autocommit=True) as conn:
        deadline = time.monotonic() + 5
        while True:
            rows = conn.execute(
                "SELECT status, error_code, prompt_tokens, cost_usd FROM ledger WHERE request_id = %s",
                (r.headers["x-request-id"],),
            ).fetchall()
            if rows or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert rows == [(400, "invalid_json", 0, 0)]


def test_json_nested_254_deep_is_still_served(gateway: Gateway, user_key: dict[str, Any]) -> None:
    parameters = _nested(250)  # body -> tools -> tool -> function -> parameters: 254 levels in all
    body = (
        b'{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],'
        b'"tools":[{"type":"function","function":{"name":"f","parameters":' + parameters + b"}}]}"
    )
    h = {"Authorization": f"Bearer {user_key['key']}", "content-type": "application/json"}
    r = httpx.post(gateway.url + CHAT, content=body, headers=h, timeout=30)
    assert r.status_code == 200, r.text
