"""The gateway's own HTTP protocol (gateway/api/protocol.py) on the wire: the per-call routes are served
without the ASGI layer, so what uvicorn's cycle did for them is checked here at the byte level: keep-alive,
pipelining, body limits, HEAD, chunked uploads, Expect: 100-continue, client disconnects."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import orjson
import pytest
import uvicorn

from gateway.api.fastlane import FastLane
from gateway.api.protocol import GatewayHttpProtocol, _find_fast_lane
from tests.e2e.test_ledger_and_faults import ledger_rows
from tests.support import Gateway, Simulator

CHAT = b"/v1/chat/completions"


def chat_body(text: str = "hi", **extra: Any) -> bytes:
    return orjson.dumps(
        {"model": "gpt-4o", "messages": [{"role": "user", "content": text}], "max_tokens": 8, **extra}
    )


def request(
    key: str, body: bytes, *, path: bytes = CHAT, method: bytes = b"POST", extra: bytes = b""
) -> bytes:
    return (
        method + b" " + path + b" HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + key.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n"
        + extra
        + b"\r\n"
        + body
    )


def read_reply(sock: socket.socket, buffer: bytearray) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """One HTTP/1.1 reply (content-length or chunked) from the socket; leftover bytes stay in buffer."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a reply head")
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {k.lower(): v for k, _, v in (line.partition(b": ") for line in lines)}
    buffer[:] = rest
    if b"content-length" in headers:
        size = int(headers[b"content-length"])
        while len(buffer) < size:
            buffer += sock.recv(65536)
        body = bytes(buffer[:size])
        buffer[:] = buffer[size:]
        return status, headers, body
    assert headers.get(b"transfer-encoding") == b"chunked", headers
    body = b""
    while True:
        while b"\r\n" not in buffer:
            buffer += sock.recv(65536)
        size_line, _, _ = bytes(buffer).partition(b"\r\n")
        size = int(size_line, 16)
        while len(buffer) < len(size_line) + 2 + size + 2:
            buffer += sock.recv(65536)
        start = len(size_line) + 2
        body += bytes(buffer[start : start + size])
        buffer[:] = buffer[start + size + 2 :]
        if size == 0:
            return status, headers, body


def connect(gateway: Gateway, timeout_s: float = 10) -> socket.socket:
    return socket.create_connection(("127.0.0.1", gateway.port), timeout=timeout_s)


def test_the_protocol_finds_the_fast_lane_under_uvicorns_wrappers(gateway: Gateway) -> None:
    lane = FastLane(lambda *_: None, state=object(), ids=None)  # type: ignore[arg-type]
    config = uvicorn.Config(lane, proxy_headers=True, http=GatewayHttpProtocol)
    config.load()
    assert config.loaded_app is not lane  # uvicorn wrapped it
    assert _find_fast_lane(config.loaded_app) is lane
    assert config.http_protocol_class is GatewayHttpProtocol


def test_keep_alive_and_pipelined_calls_answer_in_order(gateway: Gateway, user_key: dict[str, Any]) -> None:
    key = user_key["key"]
    with connect(gateway) as sock:
        buffer = bytearray()
        # Three calls in one write: replies come back in order on the same connection.
        sock.sendall(b"".join(request(key, chat_body(f"call {i}")) for i in range(3)))
        ids = []
        for _ in range(3):
            status, headers, body = read_reply(sock, buffer)
            assert status == b"HTTP/1.1 200 OK", body
            assert headers[b"content-type"] == b"application/json"
            assert orjson.loads(body)["object"] == "chat.completion"
            ids.append(headers[b"x-request-id"])
        assert len(set(ids)) == 3
        # Then an admin-API route on the same connection goes through the ASGI app.
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
        status, _, body = read_reply(sock, buffer)
        assert status == b"HTTP/1.1 200 OK" and b"ok" in body
        # And the lane again.
        sock.sendall(request(key, chat_body()))
        assert read_reply(sock, buffer)[0] == b"HTTP/1.1 200 OK"


def test_errors_keep_the_connection_usable(gateway: Gateway, user_key: dict[str, Any]) -> None:
    with connect(gateway) as sock:
        buffer = bytearray()
        sock.sendall(request("sk-wrong", chat_body()))
        status, headers, body = read_reply(sock, buffer)
        assert status.startswith(b"HTTP/1.1 401") and orjson.loads(body)["error"]["code"]
        sock.sendall(request(user_key["key"], b"{not json"))
        status, _, body = read_reply(sock, buffer)
        assert status.startswith(b"HTTP/1.1 400") and orjson.loads(body)["error"]["type"]
        sock.sendall(request(user_key["key"], chat_body()))
        assert read_reply(sock, buffer)[0] == b"HTTP/1.1 200 OK"


def test_head_and_get_on_a_lane_route_are_405_and_head_has_no_body(gateway: Gateway) -> None:
    with connect(gateway) as sock:
        buffer = bytearray()
        sock.sendall(b"HEAD /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n\r\n")
        sock.settimeout(10)
        while b"\r\n\r\n" not in buffer:
            buffer += sock.recv(65536)
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 405") and b"allow: post" in head.lower()
        assert b"content-length: " in head.lower() and rest == b""  # the length, not the body
        buffer.clear()
        sock.sendall(b"GET /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n\r\n")
        status, _, body = read_reply(sock, buffer)
        assert status.startswith(b"HTTP/1.1 405") and orjson.loads(body)["error"]["code"]


def test_declared_body_over_the_limit_is_413_before_it_is_read(
    gateway: Gateway, user_key: dict[str, Any]
) -> None:
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "
        + user_key["key"].encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n"
    )
    with connect(gateway) as sock:
        sock.sendall(head + b"{")  # 50 MB announced, one byte sent
        status, headers, body = read_reply(sock, bytearray())
        assert status.startswith(b"HTTP/1.1 413")
        assert orjson.loads(body)["error"]["code"] == "request_too_large"
        assert headers.get(b"connection") == b"close"  # the unread body must not be parsed as a request
    assert httpx.get(gateway.url + "/healthz").status_code == 200


def test_chunked_upload_is_read_and_an_endless_one_is_cut_at_the_limit(
    gateway: Gateway, user_key: dict[str, Any]
) -> None:
    key = user_key["key"].encode()
    body = chat_body("sent in chunks")
    chunked = b"".join(
        b"%x\r\n%b\r\n" % (len(body[i : i + 7]), body[i : i + 7]) for i in range(0, len(body), 7)
    )
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "
        + key
        + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    with connect(gateway) as sock:
        sock.sendall(head + chunked + b"0\r\n\r\n")
        status, _, reply = read_reply(sock, bytearray())
        assert status == b"HTTP/1.1 200 OK", reply
    with connect(gateway) as sock:
        sock.sendall(head)
        piece = b"x" * 65536
        status = b""
        try:
            for _ in range(100):  # 6.4 MB, over the 4 MB default limit, with no length announced
                sock.sendall(b"%x\r\n%b\r\n" % (len(piece), piece))
        except OSError:
            pass  # the gateway answered and closed while we were still sending
        status, headers, reply = read_reply(sock, bytearray())
        assert status.startswith(b"HTTP/1.1 413"), reply
        assert headers.get(b"connection") == b"close"
    assert httpx.get(gateway.url + "/healthz").status_code == 200


def test_expect_100_continue_still_works(gateway: Gateway, user_key: dict[str, Any]) -> None:
    body = chat_body("after continue")
    with connect(gateway) as sock:
        head = request(user_key["key"], b"", extra=b"Expect: 100-continue\r\n")
        head = head.replace(b"Content-Length: 0", b"Content-Length: " + str(len(body)).encode())
        sock.sendall(head)
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 100"), first
        sock.sendall(body)
        buffer = bytearray(first.partition(b"\r\n\r\n")[2])
        status, _, reply = read_reply(sock, buffer)
        assert status == b"HTTP/1.1 200 OK", reply


def test_stream_is_chunked_sse_and_a_client_leaving_midway_is_recorded(
    gateway: Gateway, user_key: dict[str, Any], pg_url: str, clean_sim: Simulator
) -> None:
    key = user_key["key"]
    with connect(gateway) as sock:
        sock.sendall(request(key, chat_body("Write a long story.", stream=True, max_tokens=50)))
        status, headers, body = read_reply(sock, bytearray())
        assert status == b"HTTP/1.1 200 OK"
        assert headers[b"content-type"] == b"text/event-stream"
        events = [line for line in body.split(b"\n") if line.startswith(b"data: ")]
        assert events[-1] == b"data: [DONE]" and len(events) > 3
    # A slow stream the client abandons after its first chunk: the call is still recorded, as 499.
    clean_sim.configure(tokens_per_second=20, completion_tokens=200)
    try:
        with connect(gateway) as sock:
            sock.sendall(request(key, chat_body("long", stream=True, max_tokens=400)))
            received = b""
            while b"data: {" not in received:
                received += sock.recv(65536)
            head = received.partition(b"\r\n\r\n")[0].lower()
            request_id = head.split(b"x-request-id: ", 1)[1].split(b"\r\n", 1)[0].decode()
        row = ledger_rows(pg_url, request_id, wait_s=8)[0]
    finally:
        clean_sim.configure(tokens_per_second=0, completion_tokens=16)
    assert row["client_disconnected"] and row["status"] == 499
    assert httpx.get(gateway.url + "/healthz").status_code == 200


@pytest.mark.parametrize("path", [b"/v1/messages", b"/v1/embeddings"])
def test_other_lane_routes_answer_on_the_wire(
    gateway: Gateway, user_key: dict[str, Any], path: bytes
) -> None:
    if path == b"/v1/messages":
        body = orjson.dumps(
            {"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
        )
    else:
        body = orjson.dumps({"model": "all-MiniLM-L6-v2", "input": "hello"})
    with connect(gateway, timeout_s=120) as sock:  # the first embedding call loads the model
        sock.sendall(request(user_key["key"], body, path=path))
        status, headers, reply = read_reply(sock, bytearray())
    assert status == b"HTTP/1.1 200 OK", reply
    assert headers[b"content-type"] == b"application/json"
