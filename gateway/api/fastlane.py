"""The per-call endpoints as plain ASGI, in front of the FastAPI app.

Chat completions, messages and embeddings are the calls that carry production traffic, and the gateway's
promise is to add about a millisecond to each. Measured on this machine type, FastAPI's routing, dependency
and middleware layers took about 40 % of the gateway's CPU per call, so these three routes are served here
directly: headers read once from the ASGI scope, body read with a hard limit, the same services as
everywhere, replies sent without wrappers. Every other route goes to the FastAPI app unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api.common import ClientGone, parse_json_object, read_asgi_body
from gateway.auth.principal import Principal
from gateway.errors import GatewayError
from gateway.observability.middleware import RequestIds, reply_id_headers
from gateway.serving.chat import JsonReply, StreamReply

log = logging.getLogger("gateway.api")

Handler = Callable[[Any, Principal, dict[str, Any], str], Awaitable[Any]]

_JSON = (b"content-type", b"application/json")
_SSE = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


async def _chat(state: Any, principal: Principal, body: dict[str, Any], request_id: str) -> Any:
    return await state.chat.complete(principal, body, request_id=request_id)


async def _messages(state: Any, principal: Principal, body: dict[str, Any], request_id: str) -> Any:
    return await state.messages.create(principal, body, request_id=request_id)


async def _embeddings(state: Any, principal: Principal, body: dict[str, Any], request_id: str) -> Any:
    return await state.embeddings.create(principal, body, request_id=request_id)


# path -> (handler, scope the key needs)
ROUTES: dict[str, tuple[Handler, str]] = {
    "/v1/chat/completions": (_chat, "chat"),
    "/v1/messages": (_messages, "chat"),
    "/v1/embeddings": (_embeddings, "embeddings"),
}


class FastLane:
    def __init__(self, app: ASGIApp, *, state: Any, ids: RequestIds) -> None:
        self.app = app
        self.state = state
        self.ids = ids

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = ROUTES.get(scope["path"]) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        request_id = self.ids.next()
        id_headers = reply_id_headers(request_id, scope["headers"])
        if scope["method"] != "POST":
            error = GatewayError(405, "method not allowed: use POST", code="method_not_allowed")
            await _send_json(send, 405, orjson.dumps(error.body()), [*id_headers, (b"allow", b"POST")])
            return
        anthropic_shape = scope["path"] == "/v1/messages"
        in_flight = self.state.metrics.in_flight
        in_flight.inc()
        try:
            try:
                reply = await self._handle(route, scope, receive, request_id)
            except GatewayError as error:
                body = error.anthropic_body() if anthropic_shape else error.body()
                extra = [(k.encode(), v.encode()) for k, v in error.headers.items()]
                await _send_json(send, error.status, orjson.dumps(body), [*id_headers, *extra])
                return
            except ClientGone:
                return
            except Exception:
                log.exception("unhandled error on %s", scope["path"])
                internal = GatewayError(500, "internal error", code="internal_error")
                await _send_json(
                    send,
                    500,
                    orjson.dumps(internal.anthropic_body() if anthropic_shape else internal.body()),
                    id_headers,
                )
                return
            if isinstance(reply, StreamReply):
                await _send_stream(send, receive, reply, id_headers)
            elif isinstance(reply, JsonReply):
                await _send_json(send, 200, orjson.dumps(reply.body), [*id_headers, *_target_headers(reply)])
            else:
                await _send_json(send, 200, orjson.dumps(reply), id_headers)
        finally:
            in_flight.dec()

    async def _handle(
        self, route: tuple[Handler, str], scope: Scope, receive: Receive, request_id: str
    ) -> Any:
        handler, needed_scope = route
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        state = self.state
        principal: Principal = state.auth.authenticate_sync(headers)
        if not principal.is_admin and needed_scope not in principal.scopes:
            raise GatewayError(403, f"this key lacks the '{needed_scope}' scope", code="missing_scope")
        raw = await read_asgi_body(receive, headers.get("content-length"), state.settings.max_request_bytes)
        return await handler(state, principal, parse_json_object(raw), request_id)


def _target_headers(reply: JsonReply | StreamReply) -> list[tuple[bytes, bytes]]:
    target = reply.target
    out = [
        (b"x-gateway-target", target.name.encode()),
        (b"x-gateway-provider", target.provider.name.encode()),
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
            "headers": [_JSON, (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _send_stream(
    send: Send, receive: Receive, reply: StreamReply, id_headers: list[tuple[bytes, bytes]]
) -> None:
    """Relay the stream; when the client goes away, cancel it: the upstream is closed, the call recorded."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [*_SSE, *id_headers, *_target_headers(reply)],
        }
    )

    async def pump(body: AsyncIterator[bytes]) -> None:
        async for chunk in body:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def client_gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    streaming = asyncio.ensure_future(pump(reply.body))
    watcher = asyncio.ensure_future(client_gone())
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
