"""POST /v1/chat/completions: validate, resolve the target, call it, relay, record."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.accounting.tokens import count_prompt
from gateway.api.common import validate
from gateway.auth.principal import Principal
from gateway.errors import GatewayError
from gateway.protocol.openai import FORWARDED_CHAT_FIELDS, ChatCompletionRequest
from gateway.providers.base import StreamState, UpstreamError, Usage
from gateway.providers.registry import Target
from gateway.serving.admission import Admissions
from gateway.serving.calls import (
    CallContext,
    CallRecorder,
    estimate_usage,
    resolve_target,
    upstream_to_gateway_error,
)
from gateway.serving.streaming import OpenAIEncoder, StreamEncoder, relay


@dataclass(slots=True)
class StreamReply:
    """A stream whose first upstream chunk has arrived: the HTTP status is settled as 200."""

    body: AsyncIterator[bytes]
    target: Target
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class JsonReply:
    body: dict[str, Any]
    target: Target
    headers: dict[str, str] = field(default_factory=dict)


class ChatService:
    def __init__(
        self, *, targets: dict[str, Target], recorder: CallRecorder, admissions: Admissions, max_n: int
    ) -> None:
        self.targets = targets
        self.recorder = recorder
        self.admissions = admissions
        self._max_n = max_n

    def prepare(
        self, principal: Principal, body: dict[str, Any], *, request_id: str
    ) -> tuple[CallContext, dict[str, Any], ChatCompletionRequest]:
        req = validate(ChatCompletionRequest, body)
        if req.n is not None and req.n > self._max_n:
            raise GatewayError(400, f"'n' must be at most {self._max_n}", param="n", code="invalid_value")
        if req.stream_options is not None and not req.stream:
            raise GatewayError(
                400, "'stream_options' is only allowed with stream: true", param="stream_options"
            )
        target = resolve_target(self.targets, principal, req.model)
        forwarded = {k: v for k, v in body.items() if k in FORWARDED_CHAT_FIELDS}
        ctx = CallContext(
            request_id=request_id,
            endpoint="chat",
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
        ctx, forwarded, req = self.prepare(principal, body, request_id=request_id)
        await self.admit(ctx, max_output_tokens=req.max_completion_tokens or req.max_tokens)
        if ctx.stream:
            include_usage = bool(req.stream_options and req.stream_options.include_usage)
            return await self.open_stream(ctx, forwarded, OpenAIEncoder(include_usage=include_usage))
        return JsonReply(await self.call_once(ctx, forwarded), ctx.target, ctx.reply_headers)

    async def admit(self, ctx: CallContext, *, max_output_tokens: int | None) -> None:
        model = ctx.target.upstream_model
        await self.admissions.admit(
            ctx, prompt_tokens=lambda: count_prompt(ctx.messages, model), max_output_tokens=max_output_tokens
        )

    async def call_once(self, ctx: CallContext, forwarded: dict[str, Any]) -> dict[str, Any]:
        target = ctx.target
        try:
            response = await target.provider.chat(forwarded, upstream_model=target.upstream_model)
        except UpstreamError as exc:
            raise await self.failed(ctx, exc) from None
        except BaseException:
            # Cancelled (client gone) or a bug: the attempt is still recorded and its reservation released.
            await self.recorder.finish(ctx, status=499, usage=None, client_disconnected=True)
            raise
        usage = Usage.from_openai(response.get("usage"))
        if usage is None:
            text = "".join(
                str((c.get("message") or {}).get("content") or "") for c in response.get("choices") or ()
            )
            usage = estimate_usage(ctx, None, text)
        await self.recorder.finish(ctx, status=200, usage=usage)
        return response

    async def open_stream(
        self,
        ctx: CallContext,
        forwarded: dict[str, Any],
        encoder: StreamEncoder,
        *,
        open_upstream: Callable[[StreamState], AsyncIterator[Any]] | None = None,
    ) -> StreamReply:
        """Wait for the first upstream item, so an upstream that fails at once gets a real HTTP error."""
        target = ctx.target
        state = StreamState()
        if open_upstream is None:
            upstream = target.provider.chat_stream(
                forwarded, upstream_model=target.upstream_model, state=state
            )
        else:
            upstream = open_upstream(state)
        try:
            first = await anext(upstream, None)
        except UpstreamError as exc:
            raise await self.failed(ctx, exc) from None
        except BaseException:
            await self.recorder.finish(ctx, status=499, usage=None, client_disconnected=True)
            raise
        body = relay(
            ctx=ctx, recorder=self.recorder, upstream=upstream, first=first, state=state, encoder=encoder
        )
        return StreamReply(body, target, ctx.reply_headers)

    async def failed(self, ctx: CallContext, exc: UpstreamError) -> GatewayError:
        error = upstream_to_gateway_error(exc, ctx.target)
        await self.recorder.finish(ctx, status=error.status, usage=None, error_code=exc.kind)
        return error
