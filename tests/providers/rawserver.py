"""A scripted HTTP/1.1 server for the upstream client's tests: real sockets, every byte chosen by the test."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson


@dataclass
class Request:
    conn: int  # which accepted connection carried it (0, 1, ...)
    index: int  # its position on that connection
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return orjson.loads(self.body)


# A handler writes the response (or not) and returns False to close the connection afterwards.
Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[bool]]


@dataclass
class RawServer:
    handler: Handler
    ssl_context: ssl.SSLContext | None = None
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    open_connections: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    readers: list[asyncio.StreamReader] = field(default_factory=list)
    server: asyncio.Server | None = None
    port: int = 0
    closed_by_client: int = 0

    async def start(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        await self.server.wait_closed()

    def live(self) -> int:
        """Connections the client has not closed (seen even while a handler is busy elsewhere)."""
        return sum(
            not (r.at_eof() or r.exception() is not None or w.transport.is_closing())
            for r, w in zip(self.readers, self.writers, strict=True)
        )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = self.connections
        self.connections += 1
        self.open_connections += 1
        self.writers.append(writer)
        self.readers.append(reader)
        index = 0
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    self.closed_by_client += 1
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if line:
                        name, value = line.split(":", 1)
                        assert name.lower() not in headers, f"duplicate header {name}"
                        headers[name.lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Request(conn, index, method, path, headers, body)
                self.requests.append(request)
                index += 1
                if not await self.handler(request, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            self.closed_by_client += 1
        finally:
            self.open_connections -= 1
            writer.close()


def response(
    body: bytes | dict | list,
    status: int = 200,
    *,
    headers: dict[str, str] | None = None,
    reason: str = "X",
) -> bytes:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    fields = {"content-type": "application/json", "content-length": str(len(raw)), **(headers or {})}
    head = "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    return f"HTTP/1.1 {status} {reason}\r\n{head}\r\n".encode() + raw


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


async def reply_ok(request: Request, writer: asyncio.StreamWriter) -> bool:
    writer.write(response({"ok": True, "path": request.path, "n": len(request.body)}))
    await writer.drain()
    return True
