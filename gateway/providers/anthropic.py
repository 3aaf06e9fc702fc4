"""Anthropic's Messages API: natively for /v1/messages, translated for /v1/chat/completions."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import orjson

from gateway import translate as tr
from gateway.providers.base import Provider, StreamState, UpstreamError, Usage
from gateway.providers.http import UpstreamClient

ANTHROPIC_VERSION = "2023-06-01"


def usage_from_anthropic(usage: dict[str, Any] | None) -> Usage | None:
    if not isinstance(usage, dict):
        return None
    try:
        cache_read = int(usage.get("cache_read_input_tokens") or 0)
        cache_write = int(usage.get("cache_creation_input_tokens") or 0)
        return Usage(
            prompt_tokens=int(usage.get("input_tokens") or 0) + cache_read + cache_write,
            completion_tokens=int(usage.get("output_tokens") or 0),
            cached_tokens=cache_read,
            source="provider",
        )
    except (TypeError, ValueError, OverflowError):  # counts that are not numbers: as if none were sent
        return None


class AnthropicProvider(Provider):
    kind: ClassVar[str] = "anthropic"

    def __init__(self, *, name: str, client: UpstreamClient, simulated: bool = False) -> None:
        super().__init__(name=name, simulated=simulated)
        self._client = client

    async def chat(self, body: dict[str, Any], *, upstream_model: str) -> dict[str, Any]:
        request = tr.openai_to_anthropic_request(body, upstream_model=upstream_model)
        request.pop("stream", None)
        message = await self._client.post_json("/v1/messages", request)
        return tr.anthropic_to_openai_response(message, model=upstream_model)

    async def chat_stream(
        self, body: dict[str, Any], *, upstream_model: str, state: StreamState
    ) -> AsyncIterator[dict[str, Any]]:
        request = tr.openai_to_anthropic_request(body, upstream_model=upstream_model)
        request["stream"] = True
        converter = tr.AnthropicToOpenAIStream(model=upstream_model)
        async for event, data in self._events(request, state):
            for chunk in converter.feed(event, data):
                for choice in chunk.get("choices") or ():
                    content = (choice.get("delta") or {}).get("content")
                    if content:
                        state.text_parts.append(content)
                yield chunk
            state.usage = Usage(
                prompt_tokens=converter.prompt_tokens,
                completion_tokens=converter.output_tokens,
                cached_tokens=converter.cache_read_input_tokens,
                source="provider",
            )
            if event == "message_stop":
                state.finished = True
                yield converter.usage_chunk()
                return

    async def messages(self, body: dict[str, Any], *, upstream_model: str) -> dict[str, Any] | None:
        return await self._client.post_json(
            "/v1/messages", {**body, "model": upstream_model, "stream": False}
        )

    async def messages_stream(
        self, body: dict[str, Any], *, upstream_model: str, state: StreamState
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Relay Anthropic's own events, keeping the usage they report."""
        prompt = Usage(source="provider")
        async for event, data in self._events({**body, "model": upstream_model, "stream": True}, state):
            if event == "message_start":
                usage = usage_from_anthropic((data.get("message") or {}).get("usage"))
                if usage:
                    prompt = usage
            elif event == "message_delta":
                out = (data.get("usage") or {}).get("output_tokens")
                if out is not None:
                    prompt.completion_tokens = int(out)
            elif event == "content_block_delta":
                text = (data.get("delta") or {}).get("text")
                if text:
                    state.text_parts.append(text)
            state.usage = prompt
            yield event, data
            if event == "message_stop":
                state.finished = True
                return

    async def _events(
        self, request: dict[str, Any], state: StreamState
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        event = "message"
        async for line in self._client.stream_lines("/v1/messages", request):
            if line.startswith(b"event:"):
                event = line[6:].strip().decode()
                continue
            if not line.startswith(b"data:"):
                continue
            try:
                data = orjson.loads(line[5:].strip())
            except orjson.JSONDecodeError as exc:
                raise UpstreamError("protocol", "upstream sent a malformed stream event") from exc
            if event == "error":
                err = data.get("error") or {}
                raise UpstreamError("http_5xx", str(err.get("message", "upstream error in stream")))
            if state.first_chunk_at is None:
                state.first_chunk_at = time.perf_counter()
            yield event, data

    async def close(self) -> None:
        await self._client.close()
