"""UpstreamClient against real local servers: framing, keep-alive, stale connections, timeouts, errors,
streams (death, cancellation, backpressure), TLS. Runs on the default asyncio loop; one test on uvloop."""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import uvloop

from gateway.providers import wire
from gateway.providers.base import UpstreamError
from gateway.providers.http import UpstreamClient
from tests.providers.rawserver import (
    CHUNKED_HEAD,
    RawServer,
    Request,
    chunk,
    reply_ok,
    response,
)

HEADERS = {"authorization": "Bearer sk-test-secret"}


def client_for(server: RawServer, *, prefix: str = "/v1", read_s: float = 5.0, connect_s: float = 2.0):
    return UpstreamClient(
        server.url + prefix, headers=HEADERS, connect_timeout_s=connect_s, read_timeout_s=read_s
    )


async def serve(handler) -> RawServer:  # type: ignore[no-untyped-def]
    return await RawServer(handler).start()


@asynccontextmanager
async def served(handler: Any, **client_args: Any) -> AsyncIterator[tuple[RawServer, UpstreamClient]]:
    """A scripted server and a client for it, both closed afterwards."""
    server = await serve(handler)
    client = client_for(server, **client_args)
    try:
        yield server, client
    finally:
        await client.close()
        await server.stop()


async def eventually(condition, timeout_s: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


# ---- the request and the three body framings


async def test_content_length_reply_and_the_request_sent() -> None:
    async with served(reply_ok) as (server, client):
        reply = await client.post_json("/chat/completions", {"model": "m", "x": "é"})
        assert reply == {
            "ok": True,
            "path": "/v1/chat/completions",
            "n": len(b'{"model":"m","x":"\xc3\xa9"}'),
        }
        req = server.requests[0]
        assert req.method == "POST"
        assert req.json() == {"model": "m", "x": "é"}
        assert req.headers["host"] == f"127.0.0.1:{server.port}"
        assert req.headers["content-type"] == "application/json"
        assert req.headers["accept-encoding"] == "identity"
        assert req.headers["authorization"] == "Bearer sk-test-secret"
        assert req.headers["content-length"] == str(len(req.body))
        assert await client.get_json("/models") == {"ok": True, "path": "/v1/models", "n": 0}
        assert server.requests[1].method == "GET" and "content-length" not in server.requests[1].headers


async def test_chunked_reply_in_pieces() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        body = b'{"choices": [{"message": {"content": "hello"}}], "pad": "' + b"x" * 5000 + b'"}'
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        for i in range(0, len(body), 700):
            writer.write(chunk(body[i : i + 700]))
            await writer.drain()
            await asyncio.sleep(0.002)
        writer.write(b"0\r\n\r\n")
        return True

    async with served(handler) as (server, client):
        for _ in range(2):
            reply = await client.post_json("/chat/completions", {})
            assert reply["choices"][0]["message"]["content"] == "hello"
            assert len(reply["pad"]) == 5000
        assert server.connections == 1  # a chunked reply leaves the connection reusable


async def test_close_delimited_reply() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n")
        writer.write(b'{"a": ')
        await writer.drain()
        await asyncio.sleep(0.01)
        writer.write(b"1}")
        await writer.drain()
        return False  # the body ends when the connection does

    async with served(handler) as (server, client):
        assert await client.post_json("/x", {}) == {"a": 1}
        assert await client.post_json("/x", {}) == {"a": 1}
        assert server.connections == 2  # never reused after a close-delimited body


async def test_gzip_reply_is_decoded_and_other_encodings_refused() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.path.endswith("/gzip"):
            writer.write(response(gzip.compress(b'{"zipped": true}'), headers={"content-encoding": "gzip"}))
        else:
            writer.write(response(b"\x1b\x00junk", headers={"content-encoding": "br"}))
        return True

    async with served(handler) as (server, client):
        assert await client.post_json("/gzip", {}) == {"zipped": True}
        with pytest.raises(UpstreamError) as err:
            await client.post_json("/br", {})
        assert err.value.kind == "protocol" and "br-encoded" in err.value.message


# ---- keep-alive


async def test_keep_alive_reuses_connections() -> None:
    async with served(reply_ok) as (server, client):
        for _ in range(10):
            await client.post_json("/a", {})
        assert server.connections == 1
        for _ in range(3):
            await asyncio.gather(*(client.post_json("/a", {"i": i}) for i in range(8)))
        assert server.connections <= 8
        assert len(server.requests) == 34


async def test_server_closing_an_idle_connection_then_the_next_call_succeeds_once() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(response({"n": len(server.requests)}))
        await writer.drain()
        return False  # reply with keep-alive, then hang up while idle (as an idle timeout does)

    async with served(handler) as (server, client):
        assert await client.post_json("/a", {}) == {"n": 1}
        await eventually(lambda: server.open_connections == 0)
        await asyncio.sleep(0.05)
        assert await client.post_json("/a", {}) == {"n": 2}
        assert len(server.requests) == 2 and server.connections == 2  # each request sent exactly once


async def test_fin_that_arrived_unseen_is_caught_by_the_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's FIN is in our socket but the loop has not read it yet: the probe still sees it."""
    monkeypatch.setattr(wire, "PROBE_AFTER_IDLE_S", 0.0)
    async with served(reply_ok) as (server, client):
        await client.post_json("/a", {})
        await asyncio.sleep(0.01)
        server.writers[0].transport.abort()  # the server hangs up; its socket closes on the next tick
        await asyncio.sleep(0)
        # no loop iteration has read our end since: the pooled connection still looks alive
        assert client._pool is not None and len(client._pool.idle) == 1 and not client._pool.idle[0].closed
        assert (await client.post_json("/a", {}))["ok"] is True
        assert len(server.requests) == 2 and server.connections == 2


async def test_reused_connection_dying_after_the_request_is_not_resent_for_post() -> None:
    """The stale keep-alive race after we wrote: ambiguous, so a POST fails instead of going out twice."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.index == 0:
            writer.write(response({"first": True}))
            await writer.drain()
            return True
        writer.transport.abort()  # read the request, then die without a byte of reply
        return False

    async with served(handler) as (server, client):
        await client.post_json("/a", {})
        with pytest.raises(UpstreamError) as err:
            await client.post_json("/a", {"second": 1})
        assert err.value.kind == "connect"
        assert len(server.requests) == 2  # the second POST reached the server once and only once
        # An idempotent GET in the same spot is replayed once, on a fresh connection.
        await client.post_json("/a", {})  # conn 2 (index 0) answers
        assert await client.get_json("/m") == {"first": True}  # conn 2 dies; conn 3 answers the replay
        gets = [r for r in server.requests if r.method == "GET"]
        assert len(gets) == 2 and gets[0].conn != gets[1].conn


async def test_keepalive_timeout_closes_idle_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.providers import http

    monkeypatch.setattr(http, "KEEPALIVE_S", 0.2)
    async with served(reply_ok) as (server, client):
        await asyncio.gather(*(client.post_json("/a", {}) for _ in range(3)))
        assert server.open_connections == 3
        await eventually(lambda: server.open_connections == 0)  # the sweeper closed them, unasked
        await client.post_json("/a", {})
        assert server.connections == 4


async def test_pool_learns_a_shorter_server_idle_timeout() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(response({}))
        await writer.drain()
        await asyncio.sleep(1.3)  # this server's idle timeout
        return False

    async with served(handler) as (server, client):
        await client.post_json("/a", {})
        await eventually(lambda: server.open_connections == 0, timeout_s=3)
        await asyncio.sleep(0.05)
        assert client._pool is not None and client._pool.keepalive == pytest.approx(1.0)


async def test_close_closes_every_connection() -> None:
    hold = asyncio.Event()

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.path.endswith("/hold"):
            await hold.wait()
        writer.write(response({}))
        await writer.drain()
        return True

    server = await serve(handler)
    client = client_for(server)
    try:
        await asyncio.gather(*(client.post_json("/a", {}) for _ in range(3)))
        busy = asyncio.create_task(client.post_json("/hold", {}))
        await eventually(lambda: len(server.requests) == 4)
        await client.close()
        with pytest.raises(UpstreamError) as err:
            await busy
        assert err.value.kind == "connect"
        await eventually(lambda: server.closed_by_client == 2)  # the idle ones see EOF at once
        hold.set()  # the held handler answers into a closed connection, then sees EOF too
        await eventually(lambda: server.open_connections == 0)
        assert await client.post_json("/a", {}) == {}  # usable again afterwards, on a new pool
    finally:
        hold.set()
        await client.close()
        await server.stop()


# ---- timeouts


async def test_read_timeout() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(3)  # never answers in time
        return False

    async with served(handler, read_s=0.3) as (server, client):
        started = time.monotonic()
        with pytest.raises(UpstreamError) as err:
            await client.post_json("/a", {})
        assert err.value.kind == "timeout"
        assert 0.25 < time.monotonic() - started < 1.5
        assert len(server.requests) == 1


async def test_read_timeout_is_between_bytes_not_total() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(CHUNKED_HEAD)
        for i in range(6):  # 6 x 0.15 s = 0.9 s in all, never more than 0.15 s without a byte
            writer.write(chunk(b"data: %d\n\n" % i))
            await writer.drain()
            await asyncio.sleep(0.15)
        writer.write(b"0\r\n\r\n")
        return True

    async with served(handler, read_s=0.4) as (server, client):
        lines = [line async for line in client.stream_lines("/s", {})]
        assert [line for line in lines if line] == [b"data: %d" % i for i in range(6)]


async def test_connect_timeout_covers_the_tls_handshake() -> None:
    """A TCP listener that never speaks TLS: connecting takes longer than the connect timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    client = UpstreamClient(
        f"https://127.0.0.1:{port}/v1", headers={}, connect_timeout_s=0.3, read_timeout_s=5
    )
    try:
        started = time.monotonic()
        with pytest.raises(UpstreamError) as err:
            await client.post_json("/a", {})
        assert err.value.kind == "timeout"
        assert 0.25 < time.monotonic() - started < 1.5
    finally:
        await client.close()
        listener.close()


async def test_connection_refused_is_a_connect_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    client = UpstreamClient(f"http://127.0.0.1:{port}", headers={}, connect_timeout_s=1, read_timeout_s=1)
    with pytest.raises(UpstreamError) as err:
        await client.post_json("/a", {})
    assert err.value.kind == "connect"
    await client.close()


async def test_unconfigured_or_broken_settings_fail_the_call_not_the_constructor() -> None:
    for url, headers in [("", {}), ("ftp://x", {}), ("http://h", {"x-api-key": "sk-1\r\nevil: 1"})]:
        client = UpstreamClient(url, headers=headers, connect_timeout_s=1, read_timeout_s=1)
        with pytest.raises(UpstreamError) as err:
            await client.post_json("/a", {})
        assert err.value.kind == "connect"
        assert "sk-1" not in err.value.message  # a key is never echoed


# ---- error replies


async def test_429_with_retry_after_500_and_a_body_that_is_not_json() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.path.endswith("/429"):
            body = {"error": {"message": "slow down", "type": "rate_limit"}}
            writer.write(response(body, 429, headers={"Retry-After": "7"}))
        elif request.path.endswith("/500"):
            writer.write(response({"error": {"message": "boom"}}, 500))
        elif request.path.endswith("/401"):
            writer.write(response({"error": {"message": "bad key"}}, 401))
        else:
            writer.write(
                response(b"<html>gateway timeout</html>", 200, headers={"content-type": "text/html"})
            )
        return True

    async with served(handler) as (server, client):
        with pytest.raises(UpstreamError) as err:
            await client.post_json("/429", {})
        assert (err.value.kind, err.value.status, err.value.retry_after) == ("rate_limited", 429, 7.0)
        assert err.value.message == "slow down"
        with pytest.raises(UpstreamError) as err:
            await client.post_json("/500", {})
        assert (err.value.kind, err.value.status, err.value.message) == ("http_5xx", 500, "boom")
        with pytest.raises(UpstreamError) as err:
            await client.post_json("/401", {})
        assert err.value.kind == "auth"
        with pytest.raises(UpstreamError) as err:
            await client.post_json("/html", {})
        assert (err.value.kind, err.value.status) == ("protocol", 502)
        with pytest.raises(UpstreamError) as err:  # an error reply to a stream: the same mapping
            async for _ in client.stream_lines("/429", {}):
                pass
        assert (err.value.kind, err.value.retry_after) == ("rate_limited", 7.0)
        assert server.connections == 1  # error replies leave the connection reusable


async def test_bytes_beyond_the_response_retire_the_connection() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(response({"n": len(server.requests)}) + response({"unasked": True}))
        return True

    async with served(handler) as (server, client):
        assert await client.post_json("/a", {}) == {"n": 1}
        assert await client.post_json("/a", {}) == {"n": 2}  # not the stray reply: a fresh connection
        assert server.connections == 2


async def test_malformed_http_is_a_protocol_error() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: nope\r\n\r\n{}")
        return True

    async with served(handler) as (server, client):
        with pytest.raises(UpstreamError) as err:
            await client.post_json("/a", {})
        assert err.value.kind == "protocol"


# ---- streams


def sse_handler(  # type: ignore[no-untyped-def]
    lines: int, *, die_after: int | None = None, pause_s: float = 0.0, gate=None, first_free: bool = False
):
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(CHUNKED_HEAD)
        for i in range(lines):
            if die_after is not None and i == die_after:
                writer.transport.abort()
                return False
            if gate is not None and not (first_free and i == 0):
                await gate.wait()
            writer.write(chunk(b'data: {"i": %d}\r\n\r\n' % i))
            await writer.drain()
            if pause_s:
                await asyncio.sleep(pause_s)
        writer.write(chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        await writer.drain()
        return True

    return handler


async def test_stream_yields_lines_as_they_arrive() -> None:
    server = await serve(sse_handler(5, pause_s=0.05))
    client = client_for(server)
    try:
        stamps: list[float] = []
        lines: list[bytes] = []
        async for line in client.stream_lines("/s", {}):
            lines.append(line)
            stamps.append(time.monotonic())
        data = [line for line in lines if line]
        assert data == [b'data: {"i": %d}' % i for i in range(5)] + [b"data: [DONE]"]
        assert stamps[-1] - stamps[0] > 0.15  # they came one by one, not all at the end
        assert client._pool is not None and len(client._pool.idle) == 1  # a finished stream is pooled
    finally:
        await client.close()
        await server.stop()


async def test_stream_that_dies_midway_raises_protocol() -> None:
    server = await serve(sse_handler(10, die_after=3))
    client = client_for(server)
    try:
        got: list[bytes] = []
        with pytest.raises(UpstreamError) as err:
            async for line in client.stream_lines("/s", {}):
                if line:
                    got.append(line)
        assert err.value.kind == "protocol"
        assert got == [b'data: {"i": %d}' % i for i in range(3)]
    finally:
        await client.close()
        await server.stop()


async def test_stopping_a_stream_early_closes_its_connection() -> None:
    release = asyncio.Event()
    server = await serve(sse_handler(50, gate=release, first_free=True))
    client = client_for(server)
    try:
        stream = client.stream_lines("/s", {})
        async for line in stream:
            if line:
                break  # the consumer stops after the first line; the server still owes 49
        await stream.aclose()  # type: ignore[attr-defined]
        assert client._pool is not None and client._pool.idle == []
        await eventually(lambda: server.live() == 0)  # the server sees our end close

        first = asyncio.Event()

        async def consume() -> None:
            async for line in client.stream_lines("/s", {}):
                if line:
                    first.set()

        task = asyncio.create_task(consume())
        await first.wait()
        await asyncio.sleep(0.05)  # the consumer waits for a line the server holds back
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert client._pool.idle == []
        await eventually(lambda: server.live() == 0)  # the server sees our end close

        release.set()
        lines = [line async for line in client.stream_lines("/s", {}) if line]
        assert len(lines) == 51
        assert server.connections == 3  # neither dropped stream's connection came back to be reused
    finally:
        release.set()
        await client.close()
        await server.stop()


async def test_slow_consumer_pauses_reading() -> None:
    line = b"data: " + b"x" * 1000 + b"\n"
    total_lines = 20_000  # ~20 MB: far more than the buffers along the way
    written = 0

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        nonlocal written
        writer.write(CHUNKED_HEAD)
        for _ in range(total_lines // 50):
            writer.write(chunk(line * 50))
            written += len(line) * 50
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    async with served(handler, read_s=1.0) as (server, client):
        stream = client.stream_lines("/s", {})
        assert await anext(stream)  # type: ignore[arg-type]
        await asyncio.sleep(1.5)  # longer than the read timeout: paused reading must not time out
        pool = client._pool
        assert pool is not None
        (conn,) = pool.conns
        assert conn.paused and conn.ex is not None
        assert conn.ex.size <= wire.STREAM_HIGH_WATER + 1024 * 1024  # one read beyond the mark at most
        assert written < 12 * 1024 * 1024  # the server is held back (kernel buffers hold the rest)
        count = 1
        async for _ in stream:  # type: ignore[attr-defined]
            count += 1
        assert count == total_lines
        assert written == total_lines * len(line)


async def test_a_stream_that_stalls_times_out() -> None:
    gate = asyncio.Event()
    server = await serve(sse_handler(5, gate=gate))
    client = client_for(server, read_s=0.3)
    try:
        with pytest.raises(UpstreamError) as err:
            async for _ in client.stream_lines("/s", {}):
                pass
        assert err.value.kind == "timeout"
    finally:
        gate.set()
        await client.close()
        await server.stop()


# ---- TLS


def self_signed(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    try:
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl cannot make a test certificate: {exc}")
    return cert, key


async def test_https_with_a_self_signed_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    server = await RawServer(sse_handler(3), ssl_context=server_ctx).start()
    url = f"https://localhost:{server.port}/v1"
    try:
        # The production default verifies: a self-signed certificate is refused.
        strict = UpstreamClient(url, headers={}, connect_timeout_s=2, read_timeout_s=2)
        with pytest.raises(UpstreamError) as err:
            await strict.post_json("/a", {})
        assert err.value.kind == "connect" and "not trusted" in err.value.message
        await strict.close()
        # Trusting that certificate (test-only hook), with the hostname checked against it.
        trusting = UpstreamClient(url, headers={}, connect_timeout_s=2, read_timeout_s=2)
        ctx = ssl.create_default_context(cafile=str(cert))
        trusting._ssl_context = ctx
        for _ in range(2):
            lines = [line async for line in trusting.stream_lines("/s", {}) if line]
            assert lines[-1] == b"data: [DONE]"
        assert server.connections == 1  # one TLS connection, reused (the refused handshake never got here)
        assert server.requests[-1].headers["host"] == f"localhost:{server.port}"
        await trusting.close()
        # The name must match: the same certificate presented for 127.0.0.1 is refused.
        wrong = UpstreamClient(
            f"https://127.0.0.1:{server.port}", headers={}, connect_timeout_s=2, read_timeout_s=2
        )
        wrong._ssl_context = ctx
        with pytest.raises(UpstreamError) as err:
            await wrong.post_json("/a", {})
        assert err.value.kind == "connect"
        await wrong.close()
    finally:
        await server.stop()


def test_default_ports_and_path_prefix() -> None:
    a = UpstreamClient("https://api.openai.com/v1/", headers={}, connect_timeout_s=1, read_timeout_s=1)
    assert (a._host, a._port, a._https, a._prefix, a.base_url) == (
        "api.openai.com",
        443,
        True,
        "/v1",
        "https://api.openai.com/v1",
    )
    assert b"host: api.openai.com\r\n" in a._head
    b = UpstreamClient("http://[::1]:8000/vllm/v1", headers={}, connect_timeout_s=1, read_timeout_s=1)
    assert (b._host, b._port, b._https, b._prefix) == ("::1", 8000, False, "/vllm/v1")
    assert b"host: [::1]:8000\r\n" in b._head
    c = UpstreamClient("http://sim", headers={}, connect_timeout_s=1, read_timeout_s=1)
    assert (c._port, c._prefix) == (80, "")
    assert c._request(b"POST", "/v1/messages", b"{}").startswith(
        b"POST /v1/messages HTTP/1.1\r\nhost: sim\r\n"
    )


# ---- uvloop (production's loop)


def test_on_uvloop(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)

    async def scenario() -> None:
        server = await serve(reply_ok)
        stream_server = await serve(sse_handler(200))
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(cert, key)
        tls_server = await RawServer(reply_ok, ssl_context=server_ctx).start()
        client = client_for(server)
        streamer = client_for(stream_server)
        tls = UpstreamClient(
            f"https://localhost:{tls_server.port}", headers={}, connect_timeout_s=2, read_timeout_s=2
        )
        tls._ssl_context = ssl.create_default_context(cafile=str(cert))
        try:
            for _ in range(3):
                await asyncio.gather(*(client.post_json("/a", {}) for _ in range(4)))
                await asyncio.gather(*(tls.post_json("/a", {}) for _ in range(4)))
            assert server.connections <= 4 and tls_server.connections <= 4
            for c in (client, tls):  # the stale-connection probe can see uvloop's sockets (TLS too)
                assert c._pool is not None and all(conn.fd >= 0 for conn in c._pool.conns)
            lines: AsyncIterator[bytes] = streamer.stream_lines("/s", {})
            assert len([line async for line in lines if line]) == 201
            stream = streamer.stream_lines("/s", {})
            await anext(stream)  # type: ignore[arg-type]
            await stream.aclose()  # type: ignore[attr-defined]
            await eventually(lambda: stream_server.open_connections == 0)
        finally:
            for c in (client, streamer, tls):
                await c.close()
            for s in (server, stream_server, tls_server):
                await s.stop()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())
