"""Request ids, and the pure ASGI middleware that gives one to every reply of the FastAPI routes.

The gateway always makes its own id (unique across replicas: a random per-process prefix and a counter),
so a ledger row can never collide with another; a caller's well-formed `x-client-request-id` is echoed.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
from collections.abc import Iterable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import GatewayError

log = logging.getLogger("gateway.api")

_VALID_CLIENT_ID = re.compile(rb"^[A-Za-z0-9._\-]{1,128}$")


class RequestIds:
    def __init__(self) -> None:
        self._prefix = "req_" + secrets.token_hex(8)
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter):08x}"


def reply_id_headers(
    request_id: str, raw_headers: Iterable[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """The id headers for a reply: ours, plus the caller's client id when it is well formed."""
    out = [(b"x-request-id", request_id.encode())]
    for name, value in raw_headers:
        if name == b"x-client-request-id":
            if _VALID_CLIENT_ID.match(value):
                out.append((b"x-client-request-id", value))
            break
    return out


class RequestIdMiddleware:
    """Pure ASGI (BaseHTTPMiddleware costs a task and a copy per request)."""

    def __init__(self, app: ASGIApp, *, ids: RequestIds) -> None:
        self.app = app
        self.ids = ids

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self.ids.next()
        scope.setdefault("state", {})["request_id"] = request_id
        id_headers = reply_id_headers(request_id, scope["headers"])

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *id_headers]
            await send(message)

        await self.app(scope, receive, send_with_id)


class UnhandledErrorMiddleware:
    """A FastAPI route that raises what no handler knows gets a 500 in the error shape from here, inside
    RequestIdMiddleware: so the reply carries its request id, and the connection stays usable (Starlette's
    own last-resort handler answers and then re-raises, and the server then drops the connection)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if started:
                raise  # the reply is under way: nothing sound can be said now
            log.exception("unhandled error on %s", scope.get("path"))
            body = orjson.dumps(GatewayError.internal().body_for(scope.get("path", "")))
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": body})
