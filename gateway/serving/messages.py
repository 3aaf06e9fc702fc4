"""POST /v1/messages (Anthropic Messages API): routed like chat; native to Anthropic targets, translated
for the others (fallbacks may cross providers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from gateway import translate as tr
from gateway.auth.principal import Principal
from gateway.errors import GatewayError
from gateway.providers.anthropic import AnthropicProvider, usage_from_anthropic
from gateway.providers.base import StreamState, Usage
from gateway.providers.registry import Target
from gateway.serving.calls import estimate_usage
from gateway.serving.chat import ChatService, JsonReply, StreamReply, chat_target
from gateway.serving.streaming import AnthropicEventEncoder, OpenAIToAnthropicEncoder, StreamEncoder

# Fields of the Messages API forwarded to an Anthropic upstream; anything else is dropped.
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
        stream = bool(body.get("stream"))
        native = {k: v for k, v in body.items() if k in ANTHROPIC_FIELDS}
        # The OpenAI form is what the classifier reads and what OpenAI-compatible targets receive.
        openai_body = tr.anthropic_to_openai_request(body, upstream_model=model)
        openai_body.pop("model", None)
        chat = self._chat
        ctx, route = chat.start_call(
            principal,
            openai_body,
            requested_model=model,
            request_id=request_id,
            endpoint="messages",
            stream=stream,
        )
        await chat.admit(ctx, route, max_output_tokens=body["max_tokens"])
        if stream:

            def open_upstream(target: Target, state: StreamState) -> AsyncIterator[Any]:
                provider = target.provider
                if isinstance(provider, AnthropicProvider):
                    return provider.messages_stream(native, upstream_model=target.upstream_model, state=state)
                return provider.chat_stream(openai_body, upstream_model=target.upstream_model, state=state)

            def encoder_for(target: Target) -> StreamEncoder:
                if isinstance(target.provider, AnthropicProvider):
                    return AnthropicEventEncoder()
                return OpenAIToAnthropicEncoder(model=model)

            return await chat.stream(ctx, route, open_upstream, encoder_for)

        async def call(target: Target) -> tuple[dict[str, Any], Usage | None]:
            provider = target.provider
            if isinstance(provider, AnthropicProvider):
                message = await provider.messages(native, upstream_model=target.upstream_model)
                assert message is not None
                return message, usage_from_anthropic(message.get("usage"))
            response = await provider.chat(openai_body, upstream_model=target.upstream_model)
            usage = Usage.from_openai(response.get("usage"))
            try:
                return tr.openai_to_anthropic_response(response, model=model), usage
            except GatewayError as error:
                # The upstream answered, and was paid for, but its reply cannot be translated (a model's
                # broken tool arguments): the attempt's row carries what it billed.
                error.billed_usage = usage
                raise

        message, usage = await chat.call(ctx, route, call)
        if usage is None:  # the upstream reported none: our count, as for chat completions
            usage = estimate_usage(ctx, None, _completion_text(message))
        chat.recorder.record(ctx, status=200, usage=usage)
        await chat.recorder.settle(ctx)
        return JsonReply(message, chat_target(ctx), ctx.reply_headers)


def _completion_text(message: dict[str, Any]) -> str:
    """What the model wrote in an Anthropic message: its text blocks and its tool calls' input."""
    parts: list[str] = []
    for block in message.get("content") or ():
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif block.get("type") == "tool_use":
            parts.append(orjson.dumps(block.get("input") or {}).decode())
    return "".join(parts)
