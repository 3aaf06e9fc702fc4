"""A lean HTTP/1.1 client for the upstream hop: asyncio Protocols, the `httptools` response parser and a
keep-alive pool per upstream. `UpstreamClient` (gateway/providers/http.py) is its only user.

Why not aiohttp: under load its client cost about 100-150 µs of CPU per call here (request and response
objects, multidicts, a StreamReader, timer handles, several tasks and coroutines); this one does one
`transport.write`, feeds the bytes it gets to the C parser from `data_received`, and wakes the caller once.

One connection carries one exchange at a time (no pipelining). Framing: Content-Length, chunked, or
read-until-close. Bodies are decoded when the upstream gzips them despite `accept-encoding: identity`.

Stale keep-alive connections. A server may close an idle connection at any time (uvicorn, which vLLM
runs, does so after 5 s), and its FIN can cross our next request on the wire. The rule here:

1. A connection is not handed out if it is known to be dead: the loop already saw its EOF or an error,
   it got bytes while idle, it sat idle longer than the pool's keep-alive timeout, or (after more than
   `PROBE_AFTER_IDLE_S` idle) its socket polls readable, which on an idle HTTP/1.1 connection can only be
   the peer's FIN or junk. This is urllib3's `is_connection_dropped` check (a zero-timeout poll).
2. If the transport turns out to be closed when we write, nothing was written: the request goes out on
   another connection. Certain: no byte of it left this process.
3. Once the request was written, a connection that closes before the first response byte is ambiguous:
   the server may have read and acted on the request before dying. A request is then replayed only if it
   is idempotent (GET), went out on a reused connection, and has not been replayed before; a POST (every
   LLM call) is never sent twice by this client: the caller gets UpstreamError("connect").
   This is Go's net/http `persistConn.shouldRetryRequest` (only a reused connection; a non-replayable
   request only on `nothingWrittenError`) and aiohttp's `retry_persistent_connection` (only methods in
   IDEMPOTENT_METHODS, after RFC 9112 §9.3.1).
4. To make (3) rare, the pool learns the upstream's idle timeout: when a server closes a connection that
   sat idle for `a` seconds (a >= 1), the pool's keep-alive timeout drops to `max(1, a - 1)`, so later
   connections are retired by us before the server would close them.
"""

from __future__ import annotations

import asyncio
import select
import ssl
import zlib
from collections import deque
from typing import Any, cast

import httptools

from gateway.providers.base import UpstreamError

PROBE_AFTER_IDLE_S = 1.0  # idle connections older than this get a zero-timeout readability poll before reuse
STREAM_HIGH_WATER = 256 * 1024  # a streamed body buffered beyond this pauses reading from the upstream
STREAM_LOW_WATER = 64 * 1024  # ...and reading resumes once the consumer has drained it below this
_LEARN_MIN_IDLE_S = 1.0


class Exchange:
    """One request and its response, as the connection fills it in."""

    __slots__ = (
        "stream",
        "waiter",
        "status",
        "retry_after",
        "encoding",
        "framed",
        "chunks",
        "size",
        "done",
        "error",
        "unanswered",
        "decoder",
        "interim",
        "conn",
    )

    def __init__(self, stream: bool, waiter: asyncio.Future[None]) -> None:
        self.stream = stream  # hand the head over as soon as it is in (for a status < 400)
        self.waiter: asyncio.Future[None] | None = waiter
        self.status = 0
        self.retry_after: str | None = None
        self.encoding: bytes | None = None
        self.framed = False  # Content-Length or chunked: the end of the body is known without EOF
        self.chunks: deque[bytes] = deque()
        self.size = 0
        self.done = False  # the whole response is in
        self.error: UpstreamError | None = None
        self.unanswered = False  # the connection closed before any byte of a response
        self.decoder: Any = None
        self.interim = False  # parsing a 1xx response, which is skipped
        self.conn: Connection | None = None  # while the connection still owes bytes of this response

    def body(self) -> bytes:
        chunks = self.chunks
        if len(chunks) == 1:
            return chunks[0]
        return b"".join(chunks)

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class Connection(asyncio.Protocol):
    """One keep-alive connection to the upstream; carries one Exchange at a time."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.ex: Exchange | None = None
        self.closed = False  # lost, or closing: never handed out again
        self.closing_by_us = False
        self.idle_since = 0.0
        self.last_read = 0.0
        self.received = False  # any byte of the current exchange's response
        self.paused = False
        self.timer: asyncio.TimerHandle | None = None
        self.fd = -1

    # ---- asyncio
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it
        sock = transport.get_extra_info("socket")
        try:
            self.fd = sock.fileno() if sock is not None else -1
        except (OSError, ValueError):
            self.fd = -1
        self.pool.conns.add(self)

    def data_received(self, data: bytes) -> None:
        ex = self.ex
        if ex is None:  # bytes nobody asked for, on an idle connection: it cannot be trusted
            self.shut()
            return
        self.last_read = self.loop.time()
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.fail(ex, UpstreamError("protocol", "upstream switched protocols", status=502))
        except httptools.HttpParserError:
            if self.ex is ex:
                self.fail(ex, UpstreamError("protocol", "upstream sent malformed HTTP", status=502))

    def eof_received(self) -> bool | None:
        return False  # close our side too; connection_lost settles the exchange

    def connection_lost(self, exc: Exception | None) -> None:
        was_idle = not self.closed and self.ex is None
        self.closed = True
        self._stop_timer()
        pool = self.pool
        pool.conns.discard(self)
        pool.forget_idle(self)
        if was_idle and not self.closing_by_us:
            pool.learn_idle_close(self.loop.time() - self.idle_since)
        ex = self.ex
        if ex is None:
            return
        self.ex = None
        ex.conn = None
        if ex.error is not None:
            pass  # already failed (a scheduled fail() is on its way)
        elif not self.received:
            ex.unanswered = True
            ex.error = UpstreamError(
                "connect", "upstream closed the connection before answering (the request was not resent)"
            )
        elif ex.status and not ex.framed and not ex.interim:
            self._finish(ex)  # a body delimited by the connection closing: EOF is its end
            return
        else:
            ex.error = UpstreamError("protocol", "upstream connection closed mid-response", status=502)
        ex.wake()

    # ---- the exchange
    def start(self, ex: Exchange, request: bytes) -> bool:
        """Send the request; False if the connection was found dead first (then nothing was written)."""
        transport = self.transport
        if self.closed or transport is None or transport.is_closing():
            self.closed = True
            return False
        self.ex = ex
        ex.conn = self
        self.received = False
        now = self.loop.time()
        self.last_read = now
        if self.timer is None:
            # One timer per connection, kept across exchanges: a pending one fires no later than this
            # exchange's deadline and re-arms itself from `last_read` (no timer churn per call).
            self.timer = self.loop.call_at(now + self.pool.read_timeout, self._check_timeout)
        transport.write(request)
        if transport.is_closing() and not self.received:
            # write() failed at once (the socket had been reset): send() took no byte of the request.
            self.ex = None
            ex.conn = None
            self.closed = True
            self._stop_timer()
            return False
        return True

    def fail(self, ex: Exchange, error: UpstreamError) -> None:
        """End the exchange with an error; the connection is dropped, never reused mid-response."""
        if ex.error is None and not ex.done:
            ex.error = error
        if self.ex is ex:
            self.ex = None
            ex.conn = None
        self.abort()
        ex.wake()

    def abandon(self, ex: Exchange) -> None:
        """The caller went away (cancelled, stopped iterating) before the response ended."""
        if self.ex is ex:
            self.ex = None
            ex.conn = None
            self.abort()

    def consumed(self, ex: Exchange) -> None:
        """A stream consumer drained its buffer below the low-water mark."""
        if self.paused and self.ex is ex:
            self.paused = False
            self.last_read = self.loop.time()  # the read timeout restarts: we were not waiting
            if self.transport is not None:
                self.transport.resume_reading()

    def abort(self) -> None:
        self.closed = True
        self.closing_by_us = True
        self._stop_timer()
        if self.transport is not None:
            self.transport.abort()

    def shut(self) -> None:
        """Close an idle connection politely."""
        self.closed = True
        self.closing_by_us = True
        self._stop_timer()
        self.pool.forget_idle(self)
        if self.transport is not None:
            self.transport.close()

    def probably_dropped(self) -> bool:
        """A zero-timeout poll: an idle HTTP/1.1 connection that is readable has EOF (or junk) waiting."""
        if self.fd < 0:
            return False
        try:
            readable, _, _ = select.select([self.fd], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _stop_timer(self) -> None:
        timer = self.timer
        if timer is not None:
            timer.cancel()
            self.timer = None

    def _check_timeout(self) -> None:
        self.timer = None
        ex = self.ex
        if ex is None:
            return
        read_timeout = self.pool.read_timeout
        if self.paused:  # the consumer is slow, not the upstream: no timeout while we hold back
            self.timer = self.loop.call_later(read_timeout, self._check_timeout)
            return
        left = self.last_read + read_timeout - self.loop.time()
        if left > 0.001:
            self.timer = self.loop.call_later(left, self._check_timeout)
            return
        self.fail(ex, UpstreamError("timeout", "upstream timed out"))

    def _finish(self, ex: Exchange) -> None:
        decoder = ex.decoder
        if decoder is not None:
            tail = decoder.flush()
            if tail:
                ex.chunks.append(tail)
                ex.size += len(tail)
        ex.done = True
        ex.wake()

    # ---- httptools callbacks
    def on_message_begin(self) -> None:
        if self.ex is None:  # more bytes after the response we asked for: the connection is not sound
            self.shut()

    def on_header(self, name: bytes, value: bytes) -> None:
        ex = self.ex
        if ex is None:
            return
        name = name.lower()
        if name == b"content-length":
            ex.framed = True
        elif name == b"transfer-encoding":
            ex.framed = ex.framed or b"chunked" in value.lower()
        elif name == b"retry-after":
            ex.retry_after = value.decode("latin-1")
        elif name == b"content-encoding":
            ex.encoding = value.strip().lower()

    def on_headers_complete(self) -> None:
        ex = self.ex
        if ex is None:
            return
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            ex.interim = True  # 100 Continue, 103 Early Hints: the real response follows
            return
        ex.status = status
        if status in (204, 304):
            ex.framed = True
        encoding = ex.encoding
        if encoding and encoding != b"identity":
            if encoding in (b"gzip", b"x-gzip", b"deflate"):
                ex.decoder = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib wrapper, detected
            else:
                name = encoding.decode("latin-1")[:40]
                ex.error = UpstreamError(
                    "protocol", f"upstream sent a {name}-encoded body, which this client does not decode"
                )
                # failing from inside the parser: drop the connection once feed_data returns
                self.loop.call_soon(self.fail, ex, ex.error)
                return
        if ex.stream and status < 400:
            ex.wake()

    def on_body(self, body: bytes) -> None:
        ex = self.ex
        if ex is None or ex.error is not None:
            return
        decoder = ex.decoder
        if decoder is not None:
            try:
                body = decoder.decompress(body)
            except zlib.error:
                ex.error = UpstreamError("protocol", "upstream sent a corrupt compressed body", status=502)
                self.loop.call_soon(self.fail, ex, ex.error)
                return
            if not body:
                return
        ex.chunks.append(body)
        if ex.stream and ex.status < 400:
            ex.size += len(body)
            if ex.size > STREAM_HIGH_WATER and not self.paused and self.transport is not None:
                self.paused = True
                self.transport.pause_reading()
            ex.wake()

    def on_message_complete(self) -> None:
        ex = self.ex
        if ex is None:
            return
        if ex.interim:
            ex.interim = False
            ex.retry_after = None
            ex.encoding = None
            ex.framed = False
            return
        if ex.error is not None:
            return  # fail() is scheduled
        keep_alive = self.parser.should_keep_alive()
        self.ex = None
        ex.conn = None
        if self.paused:
            self.paused = False
            if self.transport is not None:
                self.transport.resume_reading()
        if keep_alive and not self.closed:
            self.pool.release(self)
        else:
            self.shut()
        self._finish(ex)


class Pool:
    """Keep-alive connections to one upstream host, bound to one event loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None,
        connect_timeout: float,
        read_timeout: float,
        keepalive: float,
    ) -> None:
        self.loop = loop
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.keepalive = keepalive
        self.idle: list[Connection] = []  # most recently used last: reused first
        self.conns: set[Connection] = set()
        self._sweeper: asyncio.TimerHandle | None = None

    def take(self) -> Connection | None:
        idle = self.idle
        if not idle:
            return None
        now = self.loop.time()
        while idle:
            conn = idle.pop()
            if conn.closed:
                continue
            age = now - conn.idle_since
            if age >= self.keepalive or (age > PROBE_AFTER_IDLE_S and conn.probably_dropped()):
                conn.shut()
                continue
            return conn
        return None

    async def connect(self) -> Connection:
        ssl_context = self.ssl_context
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, conn = await self.loop.create_connection(
                    lambda: Connection(self),
                    self.host,
                    self.port,
                    ssl=ssl_context,
                    server_hostname=self.host if ssl_context is not None else None,
                )
        except TimeoutError as exc:
            raise UpstreamError("timeout", "upstream connect timed out") from exc
        except ssl.SSLCertVerificationError as exc:
            raise UpstreamError("connect", "upstream TLS certificate was not trusted") from exc
        except (OSError, ssl.SSLError) as exc:
            raise UpstreamError("connect", f"upstream connection failed: {type(exc).__name__}") from exc
        return conn

    def release(self, conn: Connection) -> None:
        conn.idle_since = self.loop.time()
        self.idle.append(conn)
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(self.keepalive, self._sweep)

    def forget_idle(self, conn: Connection) -> None:
        try:
            self.idle.remove(conn)
        except ValueError:
            pass

    def learn_idle_close(self, idle_for: float) -> None:
        if idle_for >= _LEARN_MIN_IDLE_S:
            self.keepalive = max(1.0, min(self.keepalive, idle_for - 1.0))

    def _sweep(self) -> None:
        self._sweeper = None
        now = self.loop.time()
        for conn in [c for c in self.idle if now - c.idle_since >= self.keepalive]:
            conn.shut()
        if self.idle:
            oldest = min(c.idle_since for c in self.idle)
            self._sweeper = self.loop.call_later(max(0.05, oldest + self.keepalive - now), self._sweep)

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        self.idle.clear()
        for conn in list(self.conns):
            ex = conn.ex
            if ex is not None:
                conn.fail(ex, UpstreamError("connect", "upstream client closed"))
            else:
                conn.abort()
        self.conns.clear()
