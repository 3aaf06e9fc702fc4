"""The per-call endpoints, in front of the FastAPI app.

Chat completions, messages and embeddings are the calls that carry production traffic, and the gateway's
promise is to add about a millisecond to each. Measured on this machine type, FastAPI's routing, dependency
and middleware layers took about 40 % of the gateway's CPU per call, so these three routes are served here
directly: headers read once, body read with a hard limit, the same services as everywhere, replies sent
without wrappers. `FastLane.answer` is the lane; `gateway serve` calls it from its HTTP protocol
(gateway/api/protocol.py) and any other ASGI server through `FastLane.__call__`. Every other route goes
to the FastAPI app unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api.common import ClientGone, parse_json_object, read_asgi_body
from gateway.auth.principal import Principal
from gateway.errors import GatewayError
from gateway.observability.middleware import RequestIds, reply_id_headers
from gateway.serving.chat import JsonReply, StreamReply
from gateway.serving.streaming import close_quietly

log = logging.getLogger("gateway.api")

Handler = Callable[[Any, Principal, dict[str, Any], str], Awaitable[Any]]

JSON_HEADER = (b"content-type", b"application/json")
# The request headers the lane reads: the key (either way of sending it) and the body's declared length.
LANE_HEADERS = frozenset({b"authorization", b"x-api-key", b"content-length"})
SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


# Each handler returns the service's coroutine itself (no coroutine of its own around it: one frame less
# to create and to resume on every call).
def _chat(state: Any, principal: Principal, body: dict[str, Any], request_id: str) -> Awaitable[Any]:
    return state.chat.complete(principal, body, request_id=request_id)


def _messages(state: Any, principal: Principal, body: dict[str, Any], request_id: str) -> Awaitable[Any]:
    return state.messages.create(principal, body, request_id=request_id)


def _embeddings(state: Any, principal: Principal, body: dict[str, Any], request_id: str) -> Awaitable[Any]:
    return state.embeddings.create(principal, body, request_id=request_id)


# path -> (handler, scope the key needs)
ROUTES: dict[str, tuple[Handler, str]] = {
    "/v1/chat/completions": (_chat, "chat"),
    "/v1/messages": (_messages, "chat"),
    "/v1/embeddings": (_embeddings, "embeddings"),
}


@dataclass(slots=True)
class Answer:
    """What a fast-lane call answers: a whole JSON reply, or the head of a stream and its body."""

    status: int
    headers: list[tuple[bytes, bytes]]  # besides content-type and content-length
    body: bytes = b""
    stream: StreamReply | None = None


# Reads the whole request body given its declared length and the size limit; raises GatewayError (413, 400)
# or ClientGone. The ASGI adapter reads through `receive`; the gateway's own HTTP protocol has it in hand.
BodyReader = Callable[[str | None, int], Awaitable[bytes]]


class FastLane:
    """The per-call routes, in front of the FastAPI app. `answer` is the lane itself, whatever serves HTTP:
    as an ASGI app (`__call__`) it runs under any ASGI server; `gateway serve` runs it under its own
    protocol (gateway/api/protocol.py), which skips the ASGI messages for these routes."""

    def __init__(self, app: ASGIApp, *, state: Any, ids: RequestIds) -> None:
        self.app = app
        self.state = state
        self.ids = ids

    async def answer(
        self, path: str, method: str, raw_headers: Iterable[tuple[bytes, bytes]], read_body: BodyReader
    ) -> Answer | None:
        """The reply to one call on a fast-lane route; None when the client left before its body arrived.
        While the returned stream (if any) is being relayed the call counts as in flight: the sender
        calls `done()` when it ends."""
        route = ROUTES[path]
        request_id = self.ids.next()
        id_headers = reply_id_headers(request_id, raw_headers)
        if path == "/v1/messages":
            # Anthropic's name for it: the anthropic SDK reads request-id (Message._request_id, errors).
            id_headers.append((b"request-id", id_headers[0][1]))
        if method != "POST":
            error = GatewayError(405, "method not allowed: use POST", code="method_not_allowed")
            return Answer(405, [*id_headers, (b"allow", b"POST")], orjson.dumps(error.body()))
        self.state.metrics.in_flight.inc()
        streaming = False
        try:
            try:
                reply = await self._handle(route, raw_headers, read_body, request_id)
            except GatewayError as error:
                extra = [(k.encode(), v.encode()) for k, v in error.headers.items()]
                return Answer(error.status, [*id_headers, *extra], orjson.dumps(error.body_for(path)))
            except ClientGone:
                return None
            except Exception:
                log.exception("unhandled error on %s", path)
                return Answer(500, id_headers, orjson.dumps(GatewayError.internal().body_for(path)))
            if isinstance(reply, StreamReply):
                streaming = True
                return Answer(200, [*id_headers, *_target_headers(reply)], stream=reply)
            if isinstance(reply, JsonReply):
                return Answer(200, [*id_headers, *_target_headers(reply)], orjson.dumps(reply.body))
            return Answer(200, id_headers, orjson.dumps(reply))
        finally:
            if not streaming:
                self.state.metrics.in_flight.dec()

    def done(self) -> None:
        """A stream answered by `answer` has ended (relayed, failed or abandoned)."""
        self.state.metrics.in_flight.dec()

    async def _handle(
        self,
        route: tuple[Handler, str],
        raw_headers: Iterable[tuple[bytes, bytes]],
        read_body: BodyReader,
        request_id: str,
    ) -> Any:
        handler, needed_scope = route
        # Only what the lane reads (the client's request id is read by reply_id_headers).
        headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in raw_headers
            if name in LANE_HEADERS
        }
        state = self.state
        principal: Principal = state.auth.authenticate_sync(headers)
        if not principal.is_admin and needed_scope not in principal.scopes:
            raise GatewayError(403, f"this key lacks the '{needed_scope}' scope", code="missing_scope")
        raw = await read_body(headers.get("content-length"), state.settings.max_request_bytes)
        return await handler(state, principal, parse_json_object(raw), request_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in ROUTES:
            await self.app(scope, receive, send)
            return

        def read_body(declared: str | None, limit: int) -> Awaitable[bytes]:
            return read_asgi_body(receive, declared, limit)

        answer = await self.answer(scope["path"], scope["method"], scope["headers"], read_body)
        if answer is None:
            return
        if answer.stream is None:
            await _send_json(send, answer.status, answer.body, answer.headers)
            return
        try:
            await _send_stream(send, receive, answer.stream, answer.headers)
        finally:
            self.done()


def _target_headers(reply: JsonReply | StreamReply) -> list[tuple[bytes, bytes]]:
    target = reply.target
    out = [
        (b"x-gateway-target", target.name.encode()),
        (b"x-gateway-provider", target.provider.name.encode() if target.provider is not None else b"local"),
    ]
    if target.simulated:
        out.append((b"x-gateway-simulated", b"true"))
    for name, value in reply.headers.items():
        out.append((name.encode(), value.encode()))
    return out


async def _send_json(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [JSON_HEADER, (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _send_stream(
    send: Send, receive: Receive, reply: StreamReply, headers: list[tuple[bytes, bytes]]
) -> None:
    """Relay the stream; when the client goes away, cancel it: the upstream is closed, the call recorded."""
    await send({"type": "http.response.start", "status": 200, "headers": [*SSE_HEADERS, *headers]})

    async def pump(body: AsyncIterator[bytes]) -> None:
        async for chunk in body:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def client_gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await relay_until_gone(pump(reply.body), client_gone())
    finally:
        await close_quietly(reply.body)  # the upstream released and the call recorded, whatever happened


async def relay_until_gone(pump: Awaitable[None], client_gone: Awaitable[None]) -> None:
    """Run a stream's pump until it ends or the client goes away, whichever is first; the other is
    cancelled and awaited (a cancelled pump stops reading the upstream)."""
    streaming = asyncio.ensure_future(pump)
    watcher = asyncio.ensure_future(client_gone)
    try:
        await asyncio.wait((streaming, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (streaming, watcher):
            if not task.done():
                task.cancel()
        for task in (streaming, watcher):
            try:
                await task
            except (asyncio.CancelledError, OSError):
                pass
