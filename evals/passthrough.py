"""Reference hops for evals/bench_gateway.py: Python processes that forward each request to an upstream,
untouched, and do nothing else (no auth, no parsing of the JSON, no ledger).

They measure what one Python process in the middle costs on this machine, in the same run as the gateway:

- `--kind aiohttp`: an aiohttp server whose handler forwards through an aiohttp client session, the way
  a gateway built on the usual asyncio HTTP libraries would.
- `--kind raw`: the leanest Python hop we can write: asyncio Protocols on uvloop with `httptools` parsers,
  callbacks only (no task or coroutine per request), HTTP/1.1 keep-alive towards the client and a small
  pool of keep-alive connections towards the upstream. Request bodies are read whole (Content-Length or
  chunked) and forwarded with a Content-Length; response bodies are passed through as they arrive, with
  the upstream's Content-Length, or re-chunked when the upstream sends chunks (SSE streams). The ceiling
  for any Python gateway on this machine. `--work-us N` makes it spend N µs of CPU on every request before
  forwarding it (a stand-in for a gateway's own per-call work), to find how much work the bar leaves room for.

    python -m evals.passthrough --port 8091 --upstream http://127.0.0.1:8090 [--kind raw|aiohttp]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

import aiohttp
import httptools
from aiohttp import web

_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


def build(upstream: str) -> web.Application:
    app = web.Application()

    async def start(app: web.Application) -> None:
        app["client"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def stop(app: web.Application) -> None:
        await app["client"].close()

    async def forward(request: web.Request) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        async with app["client"].post(
            upstream + request.path, data=await request.read(), headers=headers
        ) as up:
            reply = web.StreamResponse(status=up.status, headers={"content-type": up.headers["content-type"]})
            await reply.prepare(request)
            async for piece in up.content.iter_any():
                await reply.write(piece)
            await reply.write_eof()
            return reply

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_post("/{tail:.*}", forward)
    return app


# ---------------------------------------------------------------------------------------------------------
# The raw hop: asyncio Protocols + httptools, no per-request task.

# Headers that belong to one connection, not to the message (RFC 9110 §7.6.1), plus the framing we redo.
_CONNECTION_HEADERS = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"content-length",
        b"host",
    }
)
_BAD_GATEWAY = (
    b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\ncontent-length: 15\r\n\r\nupstream failed"
)
_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_NOT_ALLOWED = b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\nallow: GET, POST\r\n\r\n"


class _Upstream(asyncio.Protocol):
    """One keep-alive connection to the upstream, carrying one exchange at a time for a `_Downstream`."""

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.sink: _Downstream | None = None
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.closed = False

    # asyncio
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._broken()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.discard(self)
        sink, self.sink = self.sink, None
        if sink is not None:
            sink.upstream_failed()

    # the exchange
    def send(self, sink: _Downstream, request: bytes) -> None:
        self.sink = sink
        self.reason = b""
        self.headers = []
        assert self.transport is not None
        self.transport.write(request)

    def _broken(self) -> None:
        if self.transport is not None:
            self.transport.close()  # connection_lost tells the sink

    # httptools
    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.sink is not None:
            self.sink.upstream_head(self.parser.get_status_code(), self.reason, self.headers)

    def on_body(self, body: bytes) -> None:
        if self.sink is not None:
            self.sink.upstream_body(body)

    def on_message_complete(self) -> None:
        sink, self.sink = self.sink, None
        if self.parser.should_keep_alive():
            self.pool.release(self)
        else:
            self._broken()
        if sink is not None:
            sink.upstream_done()


Acquired = Callable[["_Upstream | None"], None]


class _Pool:
    """Keep-alive connections to one host: reuse an idle one, else open one (up to `size`), else queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop, host: str, port: int, size: int) -> None:
        self.loop = loop
        self.host = host
        self.port = port
        self.size = size
        self.open = 0
        self.idle: list[_Upstream] = []
        self.waiters: deque[Acquired] = deque()

    def acquire(self, callback: Acquired) -> None:
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed:
                callback(conn)
                return
        if self.open < self.size:
            self._connect(callback)
        else:
            self.waiters.append(callback)

    def release(self, conn: _Upstream) -> None:
        if self.waiters:
            self.waiters.popleft()(conn)
        else:
            self.idle.append(conn)

    def discard(self, conn: _Upstream) -> None:
        self.open -= 1
        if conn in self.idle:
            self.idle.remove(conn)
        if self.waiters and self.open < self.size:
            self._connect(self.waiters.popleft())

    def _connect(self, callback: Acquired) -> None:
        self.open += 1
        task = self.loop.create_task(
            self.loop.create_connection(lambda: _Upstream(self), self.host, self.port)
        )

        def connected(task: asyncio.Task[tuple[asyncio.BaseTransport, _Upstream]]) -> None:
            if task.cancelled() or task.exception() is not None:
                self.open -= 1
                callback(None)
            else:
                callback(task.result()[1])

        task.add_done_callback(connected)


class _Downstream(asyncio.Protocol):
    """One client connection: HTTP/1.1 keep-alive, requests answered in order (pipelining is queued)."""

    def __init__(self, pool: _Pool, prefix: bytes, host: bytes, work_s: float = 0.0) -> None:
        self.pool = pool
        self.work_s = work_s
        self.prefix = prefix
        self.host_line = b"host: " + host + b"\r\n"
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.queue: deque[tuple[bytes, bool]] = deque()  # (upstream request bytes, keep-alive)
        self.busy = False
        self.gone = False
        self.keep_alive = True
        self.chunked = False
        self.upstream: _Upstream | None = None
        self.head_sent = False
        # the request being parsed
        self.url = b""
        self.headers: list[bytes] = []
        self.body: list[bytes] = []

    # asyncio
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None and not self.busy:
                self.transport.write(_BAD_REQUEST)
            self._close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        self.queue.clear()

    def pause_writing(self) -> None:  # the client reads slower than the upstream sends
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.resume_reading()

    # httptools
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() not in _CONNECTION_HEADERS:
            self.headers.append(name + b": " + value + b"\r\n")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.work_s:
            _spend_cpu(self.work_s)
        method = self.parser.get_method()
        keep_alive = self.parser.should_keep_alive()
        if method == b"HEAD":  # its reply has a Content-Length and no body: not worth the special case
            self.queue.append((b"", keep_alive))
        else:
            body = b"".join(self.body)
            request = b"".join(
                (
                    method,
                    b" ",
                    self.prefix,
                    self.url,
                    b" HTTP/1.1\r\n",
                    self.host_line,
                    *self.headers,
                    b"content-length: %d\r\n\r\n" % len(body),
                    body,
                )
            )
            self.queue.append((request, keep_alive))
        if not self.busy:
            self._next()

    # forwarding
    def _next(self) -> None:
        if self.gone or not self.queue:
            self.busy = False
            return
        self.busy = True
        request, self.keep_alive = self.queue.popleft()
        if not request:
            self._write(_NOT_ALLOWED)
            self._finished()
            return
        self.head_sent = False

        def acquired(conn: _Upstream | None) -> None:
            if conn is None:
                self.upstream_failed()
            else:
                self.upstream = conn
                conn.send(self, request)

        self.pool.acquire(acquired)

    def upstream_head(self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        out = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
        length = None
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"content-length":
                length = value
            elif lowered not in _CONNECTION_HEADERS:
                out.append(name + b": " + value + b"\r\n")
        if length is not None:
            out.append(b"content-length: " + length + b"\r\n")
            self.chunked = False
        else:
            out.append(b"transfer-encoding: chunked\r\n")
            self.chunked = True
        if not self.keep_alive:
            out.append(b"connection: close\r\n")
        out.append(b"\r\n")
        self.head_sent = True
        self._write(b"".join(out))

    def upstream_body(self, body: bytes) -> None:
        if self.chunked:
            self._write(b"%x\r\n%s\r\n" % (len(body), body))
        else:
            self._write(body)

    def upstream_done(self) -> None:
        if self.chunked:
            self._write(b"0\r\n\r\n")
        self._finished()

    def upstream_failed(self) -> None:
        self.upstream = None
        if self.head_sent:
            self._close()  # the body is cut short: only closing the connection can say so
            return
        self._write(_BAD_GATEWAY)
        self.keep_alive = False
        self._finished()

    def _finished(self) -> None:
        self.upstream = None
        if not self.keep_alive:
            self._close()
            return
        self._next()

    def _write(self, data: bytes) -> None:
        if not self.gone and self.transport is not None:
            self.transport.write(data)

    def _close(self) -> None:
        self.gone = True
        if self.transport is not None:
            self.transport.close()


def _spend_cpu(seconds: float) -> None:
    """Busy for `seconds` of this thread's CPU time (not wall time: a preempted spin still costs it all)."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def serve_raw(
    host: str, port: int, upstream: str, *, pool_size: int = 64, work_us: float = 0.0
) -> asyncio.AbstractServer:
    url = urlsplit(upstream)
    up_host = url.hostname or "127.0.0.1"
    up_port = url.port or 80
    host_header = url.netloc.encode()
    prefix = url.path.rstrip("/").encode()
    loop = asyncio.get_running_loop()
    pool = _Pool(loop, up_host, up_port, pool_size)
    return await loop.create_server(
        lambda: _Downstream(pool, prefix, host_header, work_us / 1e6), host, port, backlog=1024
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--kind", choices=("aiohttp", "raw"), default="aiohttp")
    parser.add_argument("--pool", type=int, default=64, help="raw: most upstream connections")
    parser.add_argument("--work-us", type=float, default=0.0, help="raw: CPU µs spent per request")
    args = parser.parse_args()
    import uvloop

    if args.kind == "raw":

        async def run() -> None:
            server = await serve_raw(
                "127.0.0.1", args.port, args.upstream, pool_size=args.pool, work_us=args.work_us
            )
            async with server:
                await server.serve_forever()

        uvloop.run(run())
        return
    uvloop.install()
    web.run_app(
        build(args.upstream.rstrip("/")), host="127.0.0.1", port=args.port, access_log=None, print=None
    )


if __name__ == "__main__":
    main()
