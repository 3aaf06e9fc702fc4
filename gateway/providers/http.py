"""HTTP plumbing every provider shares: one keep-alive pool per upstream, errors mapped to UpstreamError.

The HTTP/1.1 client itself (asyncio Protocols + httptools) and its rule for stale keep-alive connections
are in gateway/providers/wire.py.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from time import time
from typing import Any
from urllib.parse import urlsplit

import orjson

from gateway.errors import GatewayError
from gateway.providers.base import UpstreamError
from gateway.providers.wire import STREAM_LOW_WATER, Exchange, Pool

KEEPALIVE_S = 30.0  # idle connections are closed after this (sooner if the upstream shows a shorter one)
MAX_STREAM_LINE = 16 * 1024 * 1024  # a streamed line longer than this is refused, not buffered
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_PATH = re.compile(r"[\x00-\x20\x7f]")
_USER_AGENT = "llm-gateway"


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
    """A pooled connection to one base URL. The URL and key come from settings, never from a request.

    Keep-alive connections are reused (most recently used first) and closed after KEEPALIVE_S idle; http
    and https (verified with `ssl.create_default_context()`, SNI and hostname check on). Timeouts follow
    aiohttp's: `connect_timeout_s` covers TCP and TLS set-up, `read_timeout_s` is the longest wait for the
    next bytes of a response (not counted while a slow stream consumer holds reading paused). A POST is
    never sent twice; see gateway/providers/wire.py for when a request is replayed.
    """

    def __init__(
        self, base_url: str, *, headers: dict[str, str], connect_timeout_s: float, read_timeout_s: float
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._connect_timeout = connect_timeout_s
        self._read_timeout = read_timeout_s
        self._pool: Pool | None = None
        self._ssl_context: ssl.SSLContext | None = None  # made on first https use; tests may set one
        self._lines: dict[tuple[bytes, str], bytes] = {}
        # A broken setting (no URL, a header with a line break) fails the calls, not the process start:
        # targets that are never used must not stop the gateway.
        self._config_error: str | None = None
        self._host = ""
        self._port = 0
        self._https = False
        self._prefix = ""
        self._head = b""
        try:
            self._configure(self.base_url, headers)
        except ValueError as exc:
            self._config_error = str(exc)

    def _configure(self, base_url: str, headers: dict[str, str]) -> None:
        if not base_url:
            raise ValueError("no upstream base URL is configured")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https"):
            raise ValueError("the upstream base URL is not http(s)")
        if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
            raise ValueError("the upstream base URL has credentials, a query or a fragment")
        host = parts.hostname
        if not host:
            raise ValueError("the upstream base URL has no host")
        self._https = parts.scheme == "https"
        default_port = 443 if self._https else 80
        self._port = parts.port or default_port  # urlsplit raises ValueError on a bad port
        self._host = host
        self._prefix = parts.path.rstrip("/")
        if _BAD_PATH.search(self._prefix):
            raise ValueError("the upstream base URL path has spaces or control characters")
        host_header = f"[{host}]" if ":" in host else host
        if self._port != default_port:
            host_header += f":{self._port}"
        fields = {"host": host_header, "content-type": "application/json", "user-agent": _USER_AGENT}
        for name, value in headers.items():
            if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
                # never echo the value: it may be a key
                raise ValueError(f"the upstream header {name[:40]!r} is not a valid HTTP header")
            fields[name.lower()] = value
        fields["accept-encoding"] = "identity"
        self._head = "".join(f"{name}: {value}\r\n" for name, value in fields.items()).encode("latin-1")

    def _pool_here(self) -> Pool:
        loop = asyncio.get_running_loop()
        pool = self._pool
        if pool is not None and pool.loop is loop:
            return pool
        if self._config_error is not None:
            raise UpstreamError("connect", self._config_error)
        if pool is not None and not pool.loop.is_closed():
            pool.loop.call_soon_threadsafe(pool.close)
        ssl_context = None
        if self._https:
            if self._ssl_context is None:
                self._ssl_context = ssl.create_default_context()
                self._ssl_context.set_alpn_protocols(["http/1.1"])
            ssl_context = self._ssl_context
        pool = Pool(
            loop,
            host=self._host,
            port=self._port,
            ssl_context=ssl_context,
            connect_timeout=self._connect_timeout,
            read_timeout=self._read_timeout,
            keepalive=KEEPALIVE_S,
        )
        self._pool = pool
        return pool

    def _request(self, method: bytes, path: str, body: bytes | None) -> bytes:
        key = (method, path)
        line = self._lines.get(key)
        if line is None:
            if _BAD_PATH.search(path):
                raise ValueError(f"bad upstream path {path[:80]!r}")
            line = method + b" " + (self._prefix + path).encode("ascii") + b" HTTP/1.1\r\n" + self._head
            self._lines[key] = line
        if body is None:
            return line + b"\r\n"
        return b"%scontent-length: %d\r\n\r\n%s" % (line, len(body), body)

    async def _exchange(self, method: bytes, path: str, body: bytes | None, *, stream: bool) -> Exchange:
        """Send one request and wait for its response (for a stream: its head). Raises UpstreamError."""
        pool = self._pool_here()
        request = self._request(method, path, body)
        loop = pool.loop
        replayable = method == b"GET"
        replayed = False
        while True:
            conn = pool.take()
            reused = conn is not None
            if conn is None:
                conn = await pool.connect()
            ex = Exchange(stream, loop.create_future())
            if not conn.start(ex, request):
                if reused:
                    continue  # it was dead before we wrote: nothing was sent, another connection is safe
                raise UpstreamError("connect", "upstream closed the connection before the request was sent")
            try:
                await ex.waiter  # type: ignore[misc]
            except BaseException:
                conn.abandon(ex)  # cancelled mid-exchange: the connection cannot be reused
                raise
            if ex.error is None:
                return ex
            if ex.unanswered and reused and replayable and not replayed:
                replayed = True  # an idempotent request on a stale reused connection: once more, fresh
                continue
            raise ex.error

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
            await asyncio.sleep(0)  # let the transports deliver connection_lost

    async def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        ex = await self._exchange(b"POST", path, _request_body(body), stream=False)
        raw = ex.body()
        if ex.status >= 400:
            raise error_from_response(ex.status, raw, ex.retry_after)
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise UpstreamError("protocol", "upstream sent a body that is not JSON", status=502) from exc
        if not isinstance(data, dict):
            raise UpstreamError("protocol", "upstream sent an unexpected JSON body", status=502)
        return data

    async def get_json(self, path: str) -> dict[str, Any]:
        ex = await self._exchange(b"GET", path, None, stream=False)
        raw = ex.body()
        if ex.status >= 400:
            raise error_from_response(ex.status, raw, ex.retry_after)
        try:
            return orjson.loads(raw)  # type: ignore[no-any-return]
        except orjson.JSONDecodeError as exc:
            raise UpstreamError("protocol", "upstream sent a body that is not JSON", status=502) from exc

    async def stream_lines(self, path: str, body: dict[str, Any]) -> AsyncIterator[bytes]:
        """POST and yield the response's lines (without line endings) as they arrive.

        Reading from the upstream pauses while more than STREAM_HIGH_WATER bytes wait for this consumer.
        A consumer that stops early (aclose, break, cancellation) closes the connection; a stream that
        ends before its framing says it is complete raises UpstreamError("protocol").
        """
        ex = await self._exchange(b"POST", path, _request_body(body), stream=True)
        try:
            if ex.status >= 400:
                while not ex.done and ex.error is None:
                    ex.waiter = asyncio.get_running_loop().create_future()
                    await ex.waiter
                if ex.error is not None:
                    raise ex.error
                raise error_from_response(ex.status, ex.body(), ex.retry_after)
            chunks = ex.chunks
            pending: list[bytes] = []
            pending_size = 0
            loop = asyncio.get_running_loop()
            while True:
                if chunks:
                    piece = chunks.popleft()
                    ex.size -= len(piece)
                    conn = ex.conn
                    if conn is not None and conn.paused and ex.size < STREAM_LOW_WATER:
                        conn.consumed(ex)
                    if b"\n" not in piece:
                        pending.append(piece)
                        pending_size += len(piece)
                        if pending_size > MAX_STREAM_LINE:
                            raise UpstreamError("protocol", "upstream sent an overlong line", status=502)
                        continue
                    if pending:
                        pending.append(piece)
                        piece = b"".join(pending)
                        pending.clear()
                        pending_size = 0
                    *lines, rest = piece.split(b"\n")
                    for line in lines:
                        yield line.rstrip(b"\r")
                    if rest:
                        pending.append(rest)
                        pending_size = len(rest)
                    continue
                if ex.error is not None:
                    raise ex.error
                if ex.done:
                    break
                ex.waiter = loop.create_future()
                await ex.waiter
            if pending:
                yield b"".join(pending).rstrip(b"\r")
        finally:
            conn = ex.conn
            if conn is not None:
                conn.abandon(ex)  # stopped before the response ended: never back into the pool


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


# orjson reads JSON nested up to 1,024 levels but writes at most 254: a request nested deeper (as sent, or
# once translated to another wire format) cannot be forwarded. Found here, where it costs nothing on the way
# of every other request.
MAX_JSON_DEPTH = 254


def _request_body(body: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError as exc:
        message = (
            f"request body is nested more than {MAX_JSON_DEPTH} levels deep"
            if "ecursion" in str(exc)
            else f"request body cannot be forwarded as JSON: {exc}"
        )
        raise GatewayError(400, message, code="invalid_json") from None
