"""OpenAI-compatible upstreams: OpenAI itself, vLLM's OpenAI server, any base URL that speaks the format."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import orjson

from gateway.providers.base import Provider, StreamState, UpstreamError, Usage
from gateway.providers.http import UpstreamClient


class OpenAICompatibleProvider(Provider):
    kind: ClassVar[str] = "openai"

    def __init__(self, *, name: str, client: UpstreamClient, kind: str = "openai", simulated: bool = False):
        super().__init__(name=name, simulated=simulated)
        self.kind = kind  # type: ignore[misc]  # "openai" or "vllm": same wire format, different labels
        self._client = client

    async def chat(self, body: dict[str, Any], *, upstream_model: str) -> dict[str, Any]:
        return await self._client.post_json("/chat/completions", {**body, "model": upstream_model})

    async def chat_stream(
        self, body: dict[str, Any], *, upstream_model: str, state: StreamState
    ) -> AsyncIterator[dict[str, Any]]:
        payload = {**body, "model": upstream_model, "stream": True}
        # Always ask for usage so the ledger has the provider's count; the caller hides it if not requested.
        payload["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        async for line in self._client.stream_lines("/chat/completions", payload):
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                state.finished = True
                return
            try:
                chunk = orjson.loads(data)
            except orjson.JSONDecodeError as exc:
                raise UpstreamError("protocol", "upstream sent a malformed stream chunk") from exc
            if not isinstance(chunk, dict):
                continue
            if "error" in chunk and "choices" not in chunk:
                err = chunk.get("error") or {}
                raise UpstreamError("http_5xx", str(err.get("message", "upstream error in stream")))
            if state.first_chunk_at is None:
                state.first_chunk_at = time.perf_counter()
            usage = Usage.from_openai(chunk.get("usage"))
            if usage is not None:
                state.usage = usage
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                content = delta.get("content")
                if content:
                    state.text_parts.append(content)
            yield chunk
        # The upstream closed without [DONE]: the stream did not finish.

    async def embeddings(self, body: dict[str, Any], *, upstream_model: str) -> dict[str, Any]:
        return await self._client.post_json("/embeddings", {**body, "model": upstream_model})

    async def close(self) -> None:
        await self._client.close()
