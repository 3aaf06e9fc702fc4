"""Console calls to the admin API, made in-process with the gateway's master key.

The browser never holds an admin key: it holds a session cookie, and the console turns its checked calls
into ordinary admin API requests through the ASGI app itself (no socket), so every admin route keeps its
own validation, ETags and error shapes.
"""

from __future__ import annotations

import re

import httpx
from fastapi import Request
from fastapi.responses import Response
from starlette.types import ASGIApp

from gateway.errors import GatewayError

# Admin sub-paths the console may reach: plain segments, no dot-segments, no encoded slashes.
_ADMIN_PATH = re.compile(r"^(?:[A-Za-z0-9_\-.:@+]+/)*[A-Za-z0-9_\-.:@+]+$")
_PASSED_REQUEST_HEADERS = ("content-type", "accept", "if-match", "if-none-match")
_PASSED_REPLY_HEADERS = (
    "content-type",
    "content-disposition",
    "etag",
    "x-policy-version",
    "x-policy-sha256",
    "retry-after",
    "x-request-id",
)
MAX_BODY_BYTES = 2 * 1024 * 1024


class AdminForwarder:
    """Sends console calls to the app's own admin routes as the master key."""

    def __init__(self, *, app: ASGIApp, master_key: str) -> None:
        self._app = app
        self._master_key = master_key

    async def call(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        transport = httpx.ASGITransport(app=self._app, client=("127.0.0.1", 0))
        sent = {k: v for k, v in (headers or {}).items() if v is not None}
        sent["authorization"] = f"Bearer {self._master_key}"
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.internal") as client:
            url = path + (f"?{query}" if query else "")
            return await client.request(method, url, content=body, headers=sent, timeout=60)

    async def forward_admin(self, request: Request, sub_path: str, body: bytes) -> Response:
        """The admin API's reply to `/admin/<sub_path>`, with the caller's query and relevant headers."""
        if not _ADMIN_PATH.match(sub_path) or any(part in ("", ".", "..") for part in sub_path.split("/")):
            raise GatewayError(404, "no such console route", code="not_found")
        headers = {h: request.headers[h] for h in _PASSED_REQUEST_HEADERS if h in request.headers}
        reply = await self.call(
            request.method, "/admin/" + sub_path, query=request.url.query, body=body, headers=headers
        )
        passed = {h: reply.headers[h] for h in _PASSED_REPLY_HEADERS if h in reply.headers}
        return Response(reply.content, status_code=reply.status_code, headers=passed)
