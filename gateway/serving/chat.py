"""POST /v1/chat/completions: validate, resolve the target, call it, relay, record."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.api.common import validate
from gateway.auth.principal import Principal
from gateway.errors import GatewayError
from gateway.protocol.openai import FORWARDED_CHAT_FIELDS, ChatCompletionRequest
from gateway.providers.base import StreamState, UpstreamError, Usage
from gateway.providers.registry import Target
from gateway.serving.calls import (
    CallContext,
    CallRecorder,
    estimate_usage,
    resolve_target,
    upstream_to_gateway_error,
)

log = logging.getLogger("gateway.chat")

DONE = b"data: [DONE]\n\n"


@dataclass(slots=True)
class StreamReply:
    """A stream whose first upstream chunk has arrived: the HTTP status is settled as 200."""

    body: AsyncIterator[bytes]
    target: Target


@dataclass(slots=True)
class JsonReply:
    body: dict[str, Any]
    target: Target


def sse(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


class ChatService:
    def __init__(self, *, targets: dict[str, Target], recorder: CallRecorder, max_n: int) -> None:
        self._targets = targets
        self._recorder = recorder
        self._max_n = max_n

    def prepare(
        self, principal: Principal, body: dict[str, Any], *, request_id: str, endpoint: str
    ) -> tuple[CallContext, dict[str, Any], ChatCompletionRequest]:
        req = validate(ChatCompletionRequest, body)
        if req.n is not None and req.n > self._max_n:
            raise GatewayError(400, f"'n' must be at most {self._max_n}", param="n", code="invalid_value")
        if req.stream_options is not None and not req.stream:
            raise GatewayError(
                400, "'stream_options' is only allowed with stream: true", param="stream_options"
            )
        target = resolve_target(self._targets, principal, req.model)
        forwarded = {k: v for k, v in body.items() if k in FORWARDED_CHAT_FIELDS}
        ctx = CallContext(
            request_id=request_id,
            endpoint=endpoint,
            principal=principal,
            requested_model=req.model,
            target=target,
            stream=bool(req.stream),
            messages=body["messages"],
        )
        return ctx, forwarded, req

    async def complete(
        self, principal: Principal, body: dict[str, Any], *, request_id: str
    ) -> JsonReply | StreamReply:
        ctx, forwarded, req = self.prepare(principal, body, request_id=request_id, endpoint="chat")
        if ctx.stream:
            include_usage = bool(req.stream_options and req.stream_options.include_usage)
            return await self.open_stream(ctx, forwarded, include_usage=include_usage)
        return JsonReply(await self.call_once(ctx, forwarded), ctx.target)

    async def call_once(self, ctx: CallContext, forwarded: dict[str, Any]) -> dict[str, Any]:
        target = ctx.target
        try:
            response = await target.provider.chat(forwarded, upstream_model=target.upstream_model)
        except UpstreamError as exc:
            error = upstream_to_gateway_error(exc, target)
            self._recorder.record(ctx, status=error.status, usage=None, error_code=exc.kind)
            raise error from None
        usage = Usage.from_openai(response.get("usage"))
        if usage is None:
            text = "".join(
                str((c.get("message") or {}).get("content") or "") for c in response.get("choices") or ()
            )
            usage = estimate_usage(ctx, None, text)
        self._recorder.record(ctx, status=200, usage=usage)
        return response

    async def open_stream(
        self, ctx: CallContext, forwarded: dict[str, Any], *, include_usage: bool
    ) -> StreamReply:
        target = ctx.target
        state = StreamState()
        upstream = target.provider.chat_stream(forwarded, upstream_model=target.upstream_model, state=state)
        try:
            first = await anext(upstream, None)
        except UpstreamError as exc:
            error = upstream_to_gateway_error(exc, target)
            self._recorder.record(ctx, status=error.status, usage=None, error_code=exc.kind)
            raise error from None
        return StreamReply(self._relay(ctx, upstream, first, state, include_usage), target)

    async def _relay(
        self,
        ctx: CallContext,
        upstream: AsyncIterator[dict[str, Any]],
        first: dict[str, Any] | None,
        state: StreamState,
        include_usage: bool,
    ) -> AsyncIterator[bytes]:
        error_code: str | None = None
        delivered = False
        try:
            if first is not None:
                if _wanted(first, include_usage):
                    yield sse(first)
                async for chunk in upstream:
                    if _wanted(chunk, include_usage):
                        yield sse(chunk)
            if state.finished:
                yield DONE
                delivered = True
            else:
                error_code = "stream_incomplete"
                yield sse(_stream_error("the upstream stream ended before it finished", "upstream_error"))
        except UpstreamError as exc:
            # Headers are sent: report in band, and no [DONE], so clients know the answer is incomplete.
            error_code = exc.kind
            yield sse(_stream_error(f"{ctx.target.name} failed mid-stream: {exc.message}", "upstream_error"))
        finally:
            await _close(upstream)
            usage = state.usage if state.usage is not None else estimate_usage(ctx, state)
            if state.usage is not None and not state.finished and state.usage.completion_tokens == 0:
                usage = estimate_usage(ctx, state)
            disconnected = not delivered and error_code is None
            self._recorder.record(
                ctx,
                status=499 if disconnected else (200 if delivered else 502),
                usage=usage,
                error_code=error_code,
                ttft_at=state.first_chunk_at,
                client_disconnected=disconnected,
            )


def _wanted(chunk: dict[str, Any], include_usage: bool) -> bool:
    if include_usage:
        return True
    # The gateway always asks upstream for usage; hide the usage-only chunk from clients that did not.
    if not chunk.get("choices") and chunk.get("usage"):
        return False
    if chunk.get("usage") is not None:
        chunk.pop("usage", None)
    return True


def _stream_error(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "upstream_error", "code": code, "param": None}}


async def _close(agen: AsyncIterator[Any]) -> None:
    aclose = getattr(agen, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception as exc:  # closing a broken upstream must not mask the outcome
            log.debug("closing upstream stream failed: %s", type(exc).__name__)
