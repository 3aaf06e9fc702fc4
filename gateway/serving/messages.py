"""POST /v1/messages (Anthropic Messages API): native to Anthropic targets, translated to the others."""

from __future__ import annotations

from typing import Any

from gateway import translate as tr
from gateway.auth.principal import Principal
from gateway.providers.anthropic import AnthropicProvider, usage_from_anthropic
from gateway.providers.base import StreamState, UpstreamError
from gateway.serving.calls import CallContext, estimate_usage, resolve_target
from gateway.serving.chat import ChatService, JsonReply, StreamReply
from gateway.serving.streaming import AnthropicEventEncoder, OpenAIToAnthropicEncoder

# Fields of the Messages API that are forwarded to an Anthropic upstream; anything else is dropped.
ANTHROPIC_FIELDS = frozenset(
    {
        "messages",
        "system",
        "max_tokens",
        "metadata",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "tools",
        "tool_choice",
        "thinking",
        "service_tier",
    }
)


class MessagesService:
    def __init__(self, *, chat: ChatService) -> None:
        self._chat = chat

    async def create(
        self, principal: Principal, body: dict[str, Any], *, request_id: str
    ) -> JsonReply | StreamReply:
        tr.validate_anthropic_request(body)
        model = body["model"]
        target = resolve_target(self._chat.targets, principal, model)
        stream = bool(body.get("stream"))
        openai_body = tr.anthropic_to_openai_request(body, upstream_model=target.upstream_model)
        ctx = CallContext(
            request_id=request_id,
            endpoint="messages",
            principal=principal,
            requested_model=model,
            target=target,
            stream=stream,
            messages=openai_body.get("messages", []),
        )
        await self._chat.admit(ctx, max_output_tokens=body["max_tokens"])
        provider = target.provider
        if isinstance(provider, AnthropicProvider):
            forwarded = {k: v for k, v in body.items() if k in ANTHROPIC_FIELDS}
            if stream:

                def open_native(state: StreamState) -> Any:
                    return provider.messages_stream(
                        forwarded, upstream_model=target.upstream_model, state=state
                    )

                return await self._chat.open_stream(
                    ctx, forwarded, AnthropicEventEncoder(), open_upstream=open_native
                )
            try:
                message = await provider.messages(forwarded, upstream_model=target.upstream_model)
            except UpstreamError as exc:
                raise await self._chat.failed(ctx, exc) from None
            except BaseException:
                await self._chat.recorder.finish(ctx, status=499, usage=None, client_disconnected=True)
                raise
            assert message is not None
            usage = usage_from_anthropic(message.get("usage")) or estimate_usage(ctx, None, "")
            await self._chat.recorder.finish(ctx, status=200, usage=usage)
            return JsonReply(message, target, ctx.reply_headers)
        forwarded = {k: v for k, v in openai_body.items() if k != "model"}
        if stream:
            return await self._chat.open_stream(ctx, forwarded, OpenAIToAnthropicEncoder(model=model))
        response = await self._chat.call_once(ctx, forwarded)
        return JsonReply(tr.openai_to_anthropic_response(response, model=model), target, ctx.reply_headers)
