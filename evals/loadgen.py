"""A lean HTTP/1.1 load generator for the benchmarks: keep-alive connections that each send the same
request again as soon as the previous reply has been read (a closed loop, like wrk's).

Why not aiohttp: the client shares this 2-core machine with the upstream and the process under test, so
every microsecond the client spends per call is taken from them. aiohttp spends 70–85 µs of CPU per call;
this loop (asyncio protocols on uvloop, httptools' C parser, no task or future per call) about a third of
that, so the throughput measured depends less on the client and more on what is measured.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import httptools


@dataclass
class LoadResult:
    completed: int = 0  # replies read, whatever their status
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)  # connections lost or refused, with why
    elapsed_s: float = 0.0

    @property
    def ok(self) -> int:
        return self.statuses[200]


def build_request(url: str, headers: dict[str, str], body: bytes) -> tuple[str, int, bytes]:
    """(host, port, the request's bytes) for a keep-alive POST of body to url."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None:
        raise ValueError(f"plain http URLs only: {url}")
    port = parts.port or 80
    lines = [f"POST {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1"]
    lines.append(f"host: {parts.hostname}:{port}")
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "content-length"]
    lines.append(f"content-length: {len(body)}")
    return parts.hostname, port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Connection(asyncio.Protocol):
    def __init__(self, run: _Run) -> None:
        self.run = run
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it
        self.transport.write(self.run.request)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.run.fail(self, f"bad reply: {exc}")

    def on_message_complete(self) -> None:
        run = self.run
        result = run.result
        result.completed += 1
        result.statuses[self.parser.get_status_code()] += 1
        assert self.transport is not None
        if time.perf_counter() < run.stop_at and not self.parser.should_keep_alive():
            run.fail(self, "the server closed a kept-alive connection")
        elif time.perf_counter() < run.stop_at:
            self.transport.write(run.request)
        else:
            run.finish(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.run.fail(self, f"connection lost: {exc!r}")


class _Run:
    def __init__(self, request: bytes, stop_at: float, connections: int) -> None:
        self.request = request
        self.stop_at = stop_at
        self.result = LoadResult()
        self.open = connections
        self.all_done = asyncio.get_running_loop().create_future()
        self._finished: set[_Connection] = set()

    def finish(self, conn: _Connection) -> None:
        if conn in self._finished:
            return
        self._finished.add(conn)
        if conn.transport is not None:
            conn.transport.close()
        self.open -= 1
        if self.open == 0 and not self.all_done.done():
            self.all_done.set_result(None)

    def fail(self, conn: _Connection, why: str) -> None:
        if conn in self._finished:
            return  # closed by us after its last reply
        self.result.errors.append(why)
        self.finish(conn)


async def closed_loop(
    url: str, headers: dict[str, str], body: bytes, *, concurrency: int, seconds: float
) -> LoadResult:
    """`concurrency` connections, each sending the request again as soon as its reply is read, for
    `seconds`; every reply read is counted (by status), every connection that failed is reported."""
    host, port, request = build_request(url, headers, body)
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    run = _Run(request, start + seconds, concurrency)
    for _ in range(concurrency):
        try:
            await loop.create_connection(lambda: _Connection(run), host, port)
        except OSError as exc:
            run.result.errors.append(f"connect: {exc!r}")
            run.open -= 1
    if run.open > 0:
        try:
            await asyncio.wait_for(asyncio.shield(run.all_done), seconds + 30)
        except TimeoutError:
            run.result.errors.append(f"{run.open} connections still waiting for a reply 30 s after the end")
    run.result.elapsed_s = time.perf_counter() - start
    return run.result
