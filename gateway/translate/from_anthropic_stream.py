"""Anthropic streaming events -> OpenAI chat.completion.chunk dicts, one stream at a time."""

from __future__ import annotations

import time
from typing import Any

from gateway.errors import GatewayError
from gateway.translate._shared import ANTHROPIC_TO_OPENAI_FINISH, count, new_id, openai_usage

# Anthropic error types inside an "error" event -> the HTTP status we report.
_ERROR_STATUS: dict[Any, int] = {
    "overloaded_error": 503,
    "rate_limit_error": 429,
    "invalid_request_error": 400,
    "request_too_large": 413,
}


class AnthropicToOpenAIStream:
    """Feed it each parsed Anthropic SSE event; it returns the OpenAI chunks to send on.

    Usage counters are kept as events arrive, so a stream cut short can still be metered.
    """

    def __init__(self, *, model: str, request_id: str | None = None, created: int | None = None) -> None:
        self.model = model
        self.id = request_id or new_id("chatcmpl-")
        self.created = created if created is not None else int(time.time())
        self.input_tokens = 0  # uncached input, Anthropic's meaning
        self.output_tokens = 0
        self.cache_read_input_tokens = 0
        self.cache_creation_input_tokens = 0
        self.finish_reason: str | None = None
        self.done = False
        self._started = False
        # Anthropic content-block index -> OpenAI tool_calls index, for tool_use blocks only.
        self._tool_index: dict[int, int] = {}
        # Tool blocks whose arguments have not been sent yet (a tool without parameters gets no JSON).
        self._no_arguments_yet: set[int] = set()

    @property
    def prompt_tokens(self) -> int:
        """Input tokens in OpenAI's sense (cached ones included)."""
        return self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens

    @property
    def usage(self) -> dict[str, Any]:
        """OpenAI usage object for what has been seen so far."""
        return openai_usage(
            self.input_tokens,
            self.output_tokens,
            self.cache_read_input_tokens,
            self.cache_creation_input_tokens,
        )

    def feed(self, event_name: str | None, data: dict[str, Any]) -> list[dict[str, Any]]:
        """Translate one event; raises GatewayError for an upstream ``error`` event."""
        kind = data.get("type") or event_name
        if kind == "content_block_delta":
            return self._on_block_delta(data)
        if kind == "content_block_start":
            return self._on_block_start(data)
        if kind == "message_start":
            return self._on_message_start(data)
        if kind == "message_delta":
            return self._on_message_delta(data)
        if kind == "content_block_stop":
            return self._on_block_stop(data)
        if kind == "message_stop":
            self.done = True
            return []
        if kind == "error":
            error = data.get("error") or {}
            raise GatewayError(
                _ERROR_STATUS.get(error.get("type"), 502),
                f"upstream error: {error.get('message') or 'unknown'}",
                code=error.get("type") or "upstream_error",
            )
        return []  # ping and future event types carry nothing for OpenAI

    def usage_chunk(self) -> dict[str, Any]:
        """The final ``choices: []`` chunk sent when ``stream_options.include_usage`` is set."""
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": self.usage,
        }

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }

    def _first_chunk(self) -> list[dict[str, Any]]:
        if self._started:
            return []
        self._started = True
        return [self._chunk({"role": "assistant", "content": "", "refusal": None})]

    def _on_message_start(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        self._take_usage((data.get("message") or {}).get("usage") or {})
        return self._first_chunk()

    def _on_block_start(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        block = data.get("content_block") or {}
        chunks = self._first_chunk()
        kind = block.get("type")
        if kind == "tool_use":
            tool_index = len(self._tool_index)
            self._tool_index[data.get("index", 0)] = tool_index
            self._no_arguments_yet.add(tool_index)
            call = {
                "index": tool_index,
                "id": block.get("id"),
                "type": "function",
                "function": {"name": block.get("name"), "arguments": ""},
            }
            chunks.append(self._chunk({"tool_calls": [call]}))
        elif kind == "text" and block.get("text"):
            chunks.append(self._chunk({"content": block["text"]}))
        return chunks

    def _on_block_delta(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        delta = data.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta.get("text")
            return [self._chunk({"content": text})] if text else []
        if kind == "input_json_delta":
            partial = delta.get("partial_json")
            tool_index = self._tool_index.get(data.get("index", 0))
            if not partial or tool_index is None:
                return []
            self._no_arguments_yet.discard(tool_index)
            return [self._chunk({"tool_calls": [{"index": tool_index, "function": {"arguments": partial}}]})]
        return []  # thinking, signature and citation deltas have no Chat Completions equivalent

    def _on_block_stop(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        """A tool without parameters streams no JSON at all (one empty ``partial_json``): OpenAI's
        arguments are always a JSON object, so send ``{}`` as the non-streamed translation does."""
        tool_index = self._tool_index.get(data.get("index", 0))
        if tool_index is None or tool_index not in self._no_arguments_yet:
            return []
        self._no_arguments_yet.discard(tool_index)
        return [self._chunk({"tool_calls": [{"index": tool_index, "function": {"arguments": "{}"}}]})]

    def _on_message_delta(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        self._take_usage(data.get("usage") or {})
        stop_reason = (data.get("delta") or {}).get("stop_reason")
        if stop_reason is None:
            return []
        self.finish_reason = ANTHROPIC_TO_OPENAI_FINISH.get(stop_reason, "stop")
        return [*self._first_chunk(), self._chunk({}, self.finish_reason)]

    def _take_usage(self, usage: dict[str, Any]) -> None:
        # Counts are cumulative: a later event overwrites, a missing field keeps what we had.
        if usage.get("input_tokens") is not None:
            self.input_tokens = count(usage["input_tokens"])
        if usage.get("output_tokens") is not None:
            self.output_tokens = count(usage["output_tokens"])
        if usage.get("cache_read_input_tokens") is not None:
            self.cache_read_input_tokens = count(usage["cache_read_input_tokens"])
        if usage.get("cache_creation_input_tokens") is not None:
            self.cache_creation_input_tokens = count(usage["cache_creation_input_tokens"])
