"""The gateway's HTTP/1.1 protocol: uvicorn's httptools protocol, with the per-call routes served directly.

Under load the ASGI layer between uvicorn's parser and the fast lane cost more CPU per call than the fast
lane's own serving code: a scope, a task-shared Event and a message dict per receive/send, a header check
per header, and two writes per reply. For the fast-lane routes (chat completions, messages, embeddings)
this protocol hands the parsed request to `FastLane.answer` and writes each JSON reply with one write;
streams are written as chunked SSE with uvicorn's flow control. Everything else (admin API, console,
health, upgrades, `Expect: 100-continue`) goes through uvicorn's ASGI cycle unchanged.

It is uvicorn's own protocol class, so pipelining, limits, timeouts, graceful shutdown and `--workers`
behave exactly as there. The overrides: which cycle serves a request, the ASGI scope built only for requests
that go to the ASGI app, and the keep-alive timeout kept by one timer per connection instead of one per call
(same rule: a connection idle that long after its last reply is closed; tests/test_http_keepalive.py).
Select it with `uvicorn.Config(http=GatewayHttpProtocol)`; uvicorn is pinned (constraints.txt) because this
reaches into its RequestResponseCycle, and tests/e2e covers every path through it.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any

import httptools
import orjson
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

from gateway.api.common import ClientGone, too_large
from gateway.api.fastlane import JSON_HEADER, ROUTES, SSE_HEADERS, Answer, FastLane, relay_until_gone
from gateway.errors import GatewayError
from gateway.serving.streaming import close_quietly

_INTERNAL_ERROR = orjson.dumps(GatewayError.internal().body())


def _find_fast_lane(app: Any) -> FastLane | None:
    """The FastLane under uvicorn's wrappers (its proxy-headers middleware wraps the app it loads)."""
    for _ in range(8):
        if isinstance(app, FastLane):
            return app
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


class GatewayHttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fast_lane = _find_fast_lane(self.app)
        # Keep-alive: uvicorn arms a timer after every reply and cancels it when the next request's bytes
        # arrive (a timer handle made and dropped per call). Here one timer per connection stays armed
        # while it may be idle; when it fires it closes the connection if it has been idle (no byte since
        # its last reply) for the keep-alive timeout, or re-arms for the time left. Same rule, no churn.
        self._idle_since: float | None = None  # when the last reply ended; None while a request is open

    # ---- keep-alive without a timer per call
    def _unset_keepalive_if_required(self) -> None:
        # uvicorn calls this when bytes arrive (and on connection loss): the connection is busy again.
        self._idle_since = None

    def connection_lost(self, exc: Exception | None) -> None:
        timer, self.timeout_keep_alive_task = self.timeout_keep_alive_task, None
        if timer is not None:
            timer.cancel()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        # uvicorn's, with the keep-alive timer left armed across calls.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._idle_since = None
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        now = self.loop.time()
        self._idle_since = now
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_at(
                now + self.timeout_keep_alive, self._keep_alive_due
            )

    def _keep_alive_due(self) -> None:
        self.timeout_keep_alive_task = None
        idle_since = self._idle_since
        if idle_since is None:
            return  # a request is open: the reply that ends it arms the timer again
        due = idle_since + self.timeout_keep_alive
        if self.loop.time() >= due:
            self.timeout_keep_alive_handler()
        else:
            self.timeout_keep_alive_task = self.loop.call_at(due, self._keep_alive_due)

    def send_400_response(self, msg: str) -> None:
        """A request the HTTP parser refuses (bad framing, bad header syntax): uvicorn's reply, in the API's
        error shape and with a request id; the connection is closed, as its stream cannot be trusted."""
        if self.fast_lane is None:
            super().send_400_response(msg)
            return
        error = GatewayError(
            400, "malformed HTTP request (its framing or header syntax)", code="invalid_http"
        )
        body = orjson.dumps(error.body())
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend((name, b": ", value, b"\r\n"))
        content.extend(
            (
                b"content-type: application/json\r\n",
                b"x-request-id: %s\r\n" % self.fast_lane.ids.next().encode(),
                b"content-length: %d\r\n" % len(body),
                b"connection: close\r\n\r\n",
                body,
            )
        )
        self.transport.write(b"".join(content))
        self.transport.close()

    # ---- requests
    def on_message_begin(self) -> None:
        # The ASGI scope is built only for requests that go to the ASGI app (_asgi_scope); a fast-lane
        # request needs four of its fields.
        self.url = b""
        self.expect_100_continue = False
        self.headers = []

    def _asgi_scope(self) -> None:
        self.scope = {  # as uvicorn's on_message_begin builds it
            "type": "http",
            "asgi": {"version": self.asgi_version, "spec_version": "2.3"},
            "http_version": "1.1",
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,  # type: ignore[typeddict-item]
            "root_path": self.root_path,
            "headers": self.headers,
            "state": self.app_state.copy(),
        }

    def on_headers_complete(self) -> None:
        lane = self.fast_lane
        if lane is None or self.expect_100_continue or self.parser.should_upgrade():
            self._asgi_scope()
            super().on_headers_complete()
            return
        parsed_url = httptools.parse_url(self.url)
        raw_path = parsed_url.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        if self.root_path or path not in ROUTES:
            self._asgi_scope()
            super().on_headers_complete()
            return
        # From here as uvicorn's on_headers_complete, with a FastCycle for the request.
        http_version = self.parser.get_http_version()
        scope: Any = {
            "type": "http",
            "http_version": http_version,
            "method": self.parser.get_method().decode("ascii"),
            "path": path,
            "raw_path": raw_path,
            "query_string": parsed_url.query or b"",
            "headers": self.headers,
            "client": self.client,
        }
        self.scope = scope
        over_limit = self.limit_concurrency is not None and (
            len(self.connections) >= self.limit_concurrency or len(self.tasks) >= self.limit_concurrency
        )
        existing_cycle = self.cycle
        cycle_type = RequestResponseCycle if over_limit else FastCycle
        self.cycle = cycle_type(
            scope=scope,
            transport=self.transport,
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=self.access_log,
            default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=False,
            keep_alive=http_version != "1.0" and self.parser.should_keep_alive(),
            on_response=self.on_response_complete,
        )
        app: Any = service_unavailable if over_limit else lane
        if existing_cycle is None or existing_cycle.response_complete:
            self._start_asgi_task(self.cycle, app)
        else:
            # Pipelined requests wait for the one before them, as in uvicorn.
            self.flow.pause_reading()
            self.pipeline.appendleft((self.cycle, app))


class FastCycle(RequestResponseCycle):
    """One fast-lane request: the body is read straight from the cycle, the reply written without ASGI."""

    async def run_asgi(self, app: Any) -> None:  # app: the FastLane (the protocol passes it)
        lane: FastLane = app
        scope = self.scope
        try:
            answer = await lane.answer(scope["path"], scope["method"], scope["headers"], self._body)
            if answer is None:
                return  # the client left before its body arrived
            if answer.stream is None:
                if not self.disconnected:
                    self._write_whole(answer)
                return
            try:
                if not self.disconnected:
                    await self._write_stream(answer)
            finally:
                # Whatever happened, the relay is closed here: the upstream is released, the call recorded.
                await close_quietly(answer.stream.body)
                lane.done()
        except Exception as exc:
            self.logger.error("Exception in the fast lane", exc_info=exc)
            if not self.response_started:
                self._write_whole(Answer(500, [], _INTERNAL_ERROR))
            else:
                self.transport.close()
        finally:
            self.on_response = lambda: None

    async def _body(self, declared_length: str | None, max_bytes: int) -> bytes:
        """The whole body, as uvicorn's parser callbacks collect it into the cycle."""
        if declared_length is not None:
            try:
                declared = int(declared_length)
            except ValueError:
                self.keep_alive = False  # the rest of the body would be read as the next request
                raise GatewayError(400, "invalid Content-Length header", code="invalid_request") from None
            if declared > max_bytes:
                self.keep_alive = False
                raise too_large(max_bytes)
        while self.more_body:
            if self.disconnected:
                raise ClientGone()
            if len(self.body) > max_bytes:
                self.keep_alive = False
                raise too_large(max_bytes)
            self.flow.resume_reading()
            await self.message_event.wait()
            self.message_event.clear()
        if self.disconnected:
            raise ClientGone()
        if len(self.body) > max_bytes:
            raise too_large(max_bytes)
        body = bytes(self.body)
        self.body = bytearray()
        return body

    def _head(self, status: int, headers: list[tuple[bytes, bytes]]) -> list[bytes]:
        content = [STATUS_LINE[status]]
        for name, value in self.default_headers:
            content.extend((name, b": ", value, b"\r\n"))
        for name, value in headers:
            content.extend((name, b": ", value, b"\r\n"))
        if not self.keep_alive:
            content.append(b"connection: close\r\n")
        return content

    def _write_whole(self, answer: Answer) -> None:
        self.response_started = True
        body = answer.body
        content = self._head(answer.status, [JSON_HEADER, *answer.headers])
        content.extend((b"content-length: ", str(len(body)).encode(), b"\r\n\r\n"))
        if self.scope["method"] != "HEAD":  # a reply to HEAD has no body, only its length
            content.append(body)
        self.transport.write(b"".join(content))
        self._complete()

    async def _write_stream(self, answer: Answer) -> None:
        """Relay an SSE stream as chunked transfer; when the client goes away the stream is cancelled (the
        upstream is closed, the call recorded), as in the ASGI lane."""
        assert answer.stream is not None
        self.response_started = True
        head = self._head(answer.status, [*SSE_HEADERS, *answer.headers])
        head.append(b"transfer-encoding: chunked\r\n\r\n")
        self.transport.write(b"".join(head))

        async def pump() -> None:
            assert answer.stream is not None
            async for chunk in answer.stream.body:
                if self.flow.write_paused:
                    await self.flow.drain()
                if self.disconnected:
                    return
                if chunk:
                    self.transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            self.transport.write(b"0\r\n\r\n")
            self._complete()

        async def client_gone() -> None:
            while not self.disconnected:
                await self.message_event.wait()
                self.message_event.clear()

        try:
            await relay_until_gone(pump(), client_gone())
        finally:
            if not self.response_complete:
                self.transport.close()  # ended mid-stream: the client must not wait for more

    def _complete(self) -> None:
        self.response_complete = True
        self.message_event.set()
        if not self.keep_alive:
            self.transport.close()
        self.on_response()
