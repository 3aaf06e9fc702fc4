"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task and a copy per request)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_VALID_ID = re.compile(rb"^[A-Za-z0-9._\-]{1,128}$")


class RequestIdMiddleware:
    """Gives every request an id (the caller's x-request-id if well formed) and echoes it on the reply."""

    def __init__(self, app: ASGIApp, *, metrics: Any = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                if _VALID_ID.match(value):
                    request_id = value.decode()
                break
        if request_id is None:
            request_id = "req_" + secrets.token_hex(12)
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        in_flight = self.metrics.in_flight if self.metrics is not None else None
        if in_flight is not None:
            in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if in_flight is not None:
                in_flight.dec()
