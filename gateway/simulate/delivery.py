"""Sending a planned answer: latency, stream pacing, and the faults that corrupt or withhold it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiohttp import web

from gateway.simulate.config import Fault, Provider
from gateway.simulate.errors import SimRequestError, error_body

logger = logging.getLogger("gateway.simulate")

JSON_HEADERS = {"Content-Type": "application/json"}
SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
_MALFORMED_SSE = {
    "anthropic": b'event: content_block_delta\ndata: {"type": "content_block_delta", "delta": {\n\n',
    "openai": b'data: {"id": "chatcmpl-simulated", "object": "chat.completion.chunk", "choices": [{\n\n',
}
_FAULT_ERRORS = {
    "429": (429, "Rate limit reached (simulated).", "rate_limit_exceeded"),
    "500": (500, "The server had an error while processing your request (simulated).", "server_error"),
    "503": (503, "The engine is currently overloaded (simulated).", "service_unavailable"),
    "529": (529, "Overloaded (simulated).", "overloaded"),
}


@dataclass(frozen=True, slots=True)
class PlannedAnswer:
    """A complete answer before delivery: a JSON body, or SSE events for a stream."""

    body: bytes | None
    events: list[bytes] | None
    tokens: int


def request_id_header(provider: Provider) -> str:
    return "request-id" if provider == "anthropic" else "x-request-id"


def error_response(error: SimRequestError, provider: Provider, request_id: str) -> web.Response:
    """An error in the provider's own shape, with its request id header."""
    headers = {**JSON_HEADERS, **error.headers, request_id_header(provider): request_id}
    return web.Response(status=error.status, body=error_body(error, provider, request_id), headers=headers)


async def deliver(
    request: web.Request,
    answer: PlannedAnswer,
    *,
    provider: Provider,
    request_id: str,
    fault: Fault | None,
    latency_ms: float,
    tokens_per_second: float,
    timeout_hold_s: float,
    closing: asyncio.Event,
) -> web.StreamResponse:
    """Wait the latency, then answer normally (paced at tokens_per_second) or as the fault dictates."""
    if fault is not None:
        logger.info("SIMULATED fault %s on %s %s", fault.kind, provider, request.path)
    if latency_ms > 0:
        await asyncio.sleep(latency_ms / 1000)
    if fault is not None and fault.kind in _FAULT_ERRORS:
        return error_response(_fault_error(fault), provider, request_id)
    if fault is not None and fault.kind == "timeout":
        await _hold(closing, timeout_hold_s)
        return _abort(request, web.Response())
    kind = fault.kind if fault is not None else None
    headers = {request_id_header(provider): request_id}
    if answer.events is None:
        assert answer.body is not None
        if tokens_per_second > 0:
            await asyncio.sleep(answer.tokens / tokens_per_second)
        return await _send_body(request, answer.body, headers, kind)
    return await _send_events(request, answer.events, headers, provider, tokens_per_second, kind, fault)


def _fault_error(fault: Fault) -> SimRequestError:
    status, message, code = _FAULT_ERRORS[fault.kind]
    headers = {"Retry-After": str(fault.retry_after_s)} if fault.kind == "429" else None
    return SimRequestError(status, message, code=code, headers=headers)


async def _send_body(
    request: web.Request, body: bytes, headers: dict[str, str], kind: str | None
) -> web.StreamResponse:
    if kind == "malformed":
        return web.Response(body=body[: len(body) // 2], headers={**JSON_HEADERS, **headers})
    if kind == "drop_midstream":
        response = web.StreamResponse(headers={**JSON_HEADERS, **headers})
        response.content_length = len(body)
        await response.prepare(request)
        # Half the promised body, then the connection closes: the client sees a short read.
        await response.write(body[: len(body) // 2])
        return _abort(request, response)
    return web.Response(body=body, headers={**JSON_HEADERS, **headers})


async def _send_events(
    request: web.Request,
    events: list[bytes],
    headers: dict[str, str],
    provider: Provider,
    tokens_per_second: float,
    kind: str | None,
    fault: Fault | None,
) -> web.StreamResponse:
    if kind == "malformed":
        at = min(1, len(events) - 1)
        events = [
            *events[:at],
            _MALFORMED_SSE["anthropic" if provider == "anthropic" else "openai"],
            *events[at:],
        ]
    if kind == "drop_midstream":
        assert fault is not None
        events = events[: min(fault.after_chunks, len(events) - 1)]
    response = web.StreamResponse(headers={**SSE_HEADERS, **headers})
    await response.prepare(request)
    if tokens_per_second > 0:
        pause = 1 / tokens_per_second
        for i, event in enumerate(events):
            if i:
                await asyncio.sleep(pause)
            await response.write(event)
    elif events:
        # As fast as possible: one write; clients must split events themselves anyway.
        await response.write(b"".join(events))
    if kind == "drop_midstream":
        return _abort(request, response)
    await response.write_eof()
    return response


async def _hold(closing: asyncio.Event, seconds: float) -> None:
    """Keep the request open; a client disconnect cancels this, and so does the server closing."""
    try:
        await asyncio.wait_for(closing.wait(), timeout=seconds)
    except TimeoutError:
        pass


def _abort(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Close the connection; aiohttp then fails to finish `response` and quietly drops it."""
    transport = request.transport
    if transport is not None:
        transport.close()
    return response
