"""The benchmark's lean load generator counts what it gets: every reply by status, every failed connection."""

from __future__ import annotations

import asyncio

import pytest

from evals.loadgen import build_request, closed_loop


async def _server(reply: bytes, *, close_after: int | None = None) -> tuple[asyncio.Server, int, list[bytes]]:
    """A keep-alive server answering each request with `reply`; it closes a connection after `close_after`
    replies if given. Returns the server, its port and every request head it read."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(
                    next(
                        line.split(b":")[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    )
                )
                await reader.readexactly(length)
                seen.append(head)
                writer.write(reply)
                served += 1
                if close_after is not None and served >= close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen


OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
FAIL = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 2\r\n\r\n{}"


def test_request_bytes() -> None:
    host, port, request = build_request(
        "http://127.0.0.1:8080/v1/x?a=1", {"authorization": "Bearer k"}, b"{}"
    )
    assert (host, port) == ("127.0.0.1", 8080)
    assert request == (
        b"POST /v1/x?a=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\n"
        b"authorization: Bearer k\r\ncontent-length: 2\r\n\r\n{}"
    )
    with pytest.raises(ValueError):
        build_request("https://example.com/", {}, b"")


@pytest.mark.parametrize("reply", [OK, FAIL])
def test_replies_are_counted_by_status_over_kept_connections(reply: bytes) -> None:
    async def run() -> None:
        server, port, seen = await _server(reply)
        async with server:
            result = await closed_loop(
                f"http://127.0.0.1:{port}/v1/chat", {"x-k": "v"}, b'{"a":1}', concurrency=4, seconds=0.3
            )
        status = int(reply.split()[1])
        assert result.errors == []
        assert result.completed == len(seen) > 20
        assert dict(result.statuses) == {status: result.completed}
        assert result.ok == (result.completed if status == 200 else 0)
        assert 0.3 <= result.elapsed_s < 5

    asyncio.run(run())


def test_a_connection_the_server_drops_is_reported() -> None:
    async def run() -> None:
        server, port, _ = await _server(OK, close_after=3)
        async with server:
            result = await closed_loop(f"http://127.0.0.1:{port}/", {}, b"", concurrency=2, seconds=2)
        assert result.ok == 6  # three replies on each connection, then it was closed under the client
        assert len(result.errors) == 2 and all("connection lost" in e for e in result.errors)
        assert result.elapsed_s < 2  # the run ends when no connection is left, not at its deadline

    asyncio.run(run())


def test_nothing_listening_is_an_error_not_a_hang() -> None:
    async def run() -> None:
        server, port, _ = await _server(OK)
        server.close()
        await server.wait_closed()
        result = await closed_loop(f"http://127.0.0.1:{port}/", {}, b"", concurrency=3, seconds=5)
        assert result.completed == 0
        assert len(result.errors) == 3 and all(e.startswith("connect:") for e in result.errors)

    asyncio.run(run())
