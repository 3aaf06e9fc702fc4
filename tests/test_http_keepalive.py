"""The gateway's HTTP protocol keeps uvicorn's keep-alive rule with one timer per connection (not one per
call): an idle connection closes after the keep-alive timeout, counted from its last reply; one that keeps
sending requests, or is in the middle of one, stays open. Driven in process over a recording transport."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from gateway.api.fastlane import Answer, FastLane
from gateway.api.protocol import GatewayHttpProtocol
from gateway.observability.middleware import RequestIds

BODY = b'{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}'
REQUEST = (
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
)
KEEP_ALIVE_S = 0.3


class RecordingTransport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 40000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class CannedLane(FastLane):
    """The lane with a canned reply: what is under test is the protocol around it."""

    def __init__(self) -> None:
        super().__init__(None, state=None, ids=RequestIds())  # type: ignore[arg-type]

    async def answer(self, path: str, method: str, raw_headers: Any, read_body: Any) -> Answer:
        assert await read_body(None, 1 << 20) == BODY
        return Answer(200, [], b'{"ok":true}')


def connection() -> tuple[GatewayHttpProtocol, RecordingTransport]:
    config = uvicorn.Config(CannedLane(), http=GatewayHttpProtocol, access_log=False)
    config.timeout_keep_alive = KEEP_ALIVE_S  # type: ignore[assignment]  # annotated int; a delay in seconds
    config.load()
    protocol = GatewayHttpProtocol(
        config=config, server_state=ServerState(), app_state={}, _loop=asyncio.get_running_loop()
    )
    transport = RecordingTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport


async def call(protocol: GatewayHttpProtocol, transport: RecordingTransport) -> None:
    before = len(transport.written)
    protocol.data_received(REQUEST)
    for _ in range(50):
        if len(transport.written) > before:
            break
        await asyncio.sleep(0)
    assert len(transport.written) == before + 1
    assert transport.written[-1].startswith(b"HTTP/1.1 200 OK\r\n")


async def test_an_idle_connection_closes_after_the_keep_alive_timeout() -> None:
    protocol, transport = connection()
    await call(protocol, transport)
    await asyncio.sleep(KEEP_ALIVE_S / 2)
    assert not transport.closed
    await asyncio.sleep(KEEP_ALIVE_S)
    assert transport.closed


async def test_the_timeout_counts_from_the_last_reply_not_the_first() -> None:
    protocol, transport = connection()
    loop = asyncio.get_running_loop()
    started = loop.time()
    # Calls every tenth of the timeout for twice the timeout: the timer armed by the first reply fires
    # while the connection is still in use, and must re-arm instead of closing it.
    while loop.time() - started < 2 * KEEP_ALIVE_S:
        await call(protocol, transport)
        assert not transport.closed
        await asyncio.sleep(KEEP_ALIVE_S / 10)
    last_reply = loop.time()
    while not transport.closed:
        await asyncio.sleep(0.01)
        assert loop.time() - last_reply < 3 * KEEP_ALIVE_S, "the idle connection was never closed"
    assert loop.time() - last_reply >= KEEP_ALIVE_S * 0.9


async def test_a_request_in_progress_is_not_cut_by_the_keep_alive_timer() -> None:
    protocol, transport = connection()
    await call(protocol, transport)
    head, _, body = REQUEST.partition(b"\r\n\r\n")
    protocol.data_received(head + b"\r\n\r\n" + body[:10])  # a slow client: half a body, then a pause
    await asyncio.sleep(KEEP_ALIVE_S * 2)
    assert not transport.closed
    protocol.data_received(body[10:])
    for _ in range(50):
        await asyncio.sleep(0)
    assert transport.written[-1].startswith(b"HTTP/1.1 200 OK\r\n")
    await asyncio.sleep(KEEP_ALIVE_S * 1.5)
    assert transport.closed


async def test_a_lost_connection_leaves_no_timer_armed() -> None:
    protocol, transport = connection()
    await call(protocol, transport)
    assert protocol.timeout_keep_alive_task is not None
    protocol.connection_lost(None)
    assert protocol.timeout_keep_alive_task is None
