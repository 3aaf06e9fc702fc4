"""HTTP plumbing every provider shares: one aiohttp session per upstream, errors mapped to UpstreamError."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from time import time
from typing import Any

import aiohttp
import orjson

from gateway.providers.base import UpstreamError


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time())
        except (TypeError, ValueError):
            return None


class UpstreamClient:
    """A pooled connection to one base URL. The URL and key come from settings, never from a request."""

    def __init__(
        self, base_url: str, *, headers: dict[str, str], connect_timeout_s: float, read_timeout_s: float
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"content-type": "application/json", **headers}
        self._timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout_s, sock_read=read_timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, headers=self._headers, auto_decompress=True
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self.session().post(self.base_url + path, data=orjson.dumps(body)) as resp:
                raw = await resp.read()
                if resp.status >= 400:
                    raise error_from_response(resp.status, raw, resp.headers.get("retry-after"))
        except TimeoutError as exc:
            raise UpstreamError("timeout", "upstream timed out") from exc
        except aiohttp.ClientConnectionError as exc:
            raise UpstreamError("connect", f"upstream connection failed: {type(exc).__name__}") from exc
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise UpstreamError("protocol", "upstream sent a body that is not JSON", status=502) from exc
        if not isinstance(data, dict):
            raise UpstreamError("protocol", "upstream sent an unexpected JSON body", status=502)
        return data

    async def get_json(self, path: str) -> dict[str, Any]:
        try:
            async with self.session().get(self.base_url + path) as resp:
                raw = await resp.read()
                if resp.status >= 400:
                    raise error_from_response(resp.status, raw, resp.headers.get("retry-after"))
                return orjson.loads(raw)  # type: ignore[no-any-return]
        except TimeoutError as exc:
            raise UpstreamError("timeout", "upstream timed out") from exc
        except aiohttp.ClientConnectionError as exc:
            raise UpstreamError("connect", f"upstream connection failed: {type(exc).__name__}") from exc

    async def stream_lines(self, path: str, body: dict[str, Any]) -> AsyncIterator[bytes]:
        """POST and yield the response's lines (without line endings) as they arrive."""
        try:
            async with self.session().post(self.base_url + path, data=orjson.dumps(body)) as resp:
                if resp.status >= 400:
                    raw = await resp.read()
                    raise error_from_response(resp.status, raw, resp.headers.get("retry-after"))
                buffer = b""
                async for piece in resp.content.iter_any():
                    buffer += piece
                    if b"\n" not in piece:
                        continue
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        yield line.rstrip(b"\r")
                if buffer:
                    yield buffer.rstrip(b"\r")
        except TimeoutError as exc:
            raise UpstreamError("timeout", "upstream timed out") from exc
        except aiohttp.ClientPayloadError as exc:
            raise UpstreamError("protocol", "upstream stream ended abruptly") from exc
        except aiohttp.ClientConnectionError as exc:
            raise UpstreamError("connect", f"upstream connection failed: {type(exc).__name__}") from exc


def error_from_response(status: int, raw: bytes, retry_after: str | None) -> UpstreamError:
    message = f"upstream returned HTTP {status}"
    body: dict[str, Any] | None = None
    try:
        parsed = orjson.loads(raw)
        if isinstance(parsed, dict):
            body = parsed
            err = parsed.get("error")
            if isinstance(err, dict) and isinstance(err.get("message"), str):
                message = err["message"]
    except orjson.JSONDecodeError:
        pass
    if status == 429:
        return UpstreamError(
            "rate_limited", message, status=status, retry_after=parse_retry_after(retry_after), body=body
        )
    if status in (401, 403):
        # The gateway's own upstream credentials were refused: the caller cannot fix that.
        return UpstreamError("auth", "the gateway's credentials were refused upstream", status=status)
    if status >= 500:
        return UpstreamError("http_5xx", message, status=status, body=body)
    return UpstreamError("http_4xx", message, status=status, body=body)
