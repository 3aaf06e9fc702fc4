"""OpenAI chat.completion.chunk dicts -> Anthropic streaming events, one stream at a time."""

from __future__ import annotations

from typing import Any

from gateway.errors import GatewayError
from gateway.translate._shared import OPENAI_TO_ANTHROPIC_STOP, anthropic_usage, new_id

Event = tuple[str, dict[str, Any]]


class OpenAIToAnthropicStream:
    """Feed it each parsed OpenAI chunk; it returns (event name, data) pairs in Anthropic's order.

    message_start, then per block content_block_start / _delta… / _stop, then message_delta and
    message_stop once both the finish reason and the usage chunk have arrived (or at ``finish()``).
    Assumes, as OpenAI and vLLM do, that parallel tool calls are streamed one after the other.
    """

    def __init__(self, *, model: str, message_id: str | None = None, input_tokens: int = 0) -> None:
        self.model = model
        self.id = message_id or new_id("msg_")
        self.input_tokens = input_tokens  # uncached input, Anthropic's meaning; 0 until usage arrives
        self.output_tokens = 0
        self.cache_read_input_tokens = 0
        self.stop_reason: str | None = None
        self.stop_sequence: str | None = None
        self.done = False
        self._usage_seen = False
        self._started = False
        self._next_block = 0
        self._open_block: int | None = None
        self._open_is_text = False
        self._tool_blocks: dict[int, int] = {}  # OpenAI tool_calls index -> Anthropic block index

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        """Translate one chunk; raises GatewayError when the upstream streams an error object."""
        if self.done:
            return []
        if "error" in chunk and not chunk.get("choices"):
            error = chunk["error"] if isinstance(chunk["error"], dict) else {"message": str(chunk["error"])}
            raise GatewayError(
                502, f"upstream error: {error.get('message') or 'unknown'}", code="upstream_error"
            )
        events = self._start()
        usage = chunk.get("usage")
        if usage:
            self._take_usage(usage)
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content") or delta.get("refusal")
            if text:
                self._text(text, events)
            if delta.get("tool_calls"):
                for call in delta["tool_calls"]:
                    self._tool_call(call, events)
            if choice.get("finish_reason"):
                self._close_block(events)
                self._set_stop(choice)
        if self.stop_reason is not None and self._usage_seen:
            self._end(events)
        return events

    def finish(self) -> list[Event]:
        """Upstream ended ([DONE] or EOF): close whatever is open and end the message properly."""
        if self.done:
            return []
        events = self._start()
        self._close_block(events)
        if self.stop_reason is None:
            self.stop_reason = "end_turn"
        self._end(events)
        return events

    def _start(self) -> list[Event]:
        if self._started:
            return []
        self._started = True
        message: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": 0},
        }
        return [("message_start", {"type": "message_start", "message": message})]

    def _text(self, text: str, events: list[Event]) -> None:
        if self._open_block is None or not self._open_is_text:
            self._close_block(events)
            self._open(events, {"type": "text", "text": ""}, is_text=True)
        delta = {"type": "text_delta", "text": text}
        events.append(
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": self._open_block, "delta": delta},
            )
        )

    def _tool_call(self, call: dict[str, Any], events: list[Event]) -> None:
        function = call.get("function") or {}
        tool_index = call.get("index", 0)
        block = self._tool_blocks.get(tool_index)
        if block is None:
            self._close_block(events)
            start = {
                "type": "tool_use",
                "id": call.get("id") or new_id("toolu_"),
                "name": function.get("name") or "",
            }
            start["input"] = {}
            block = self._open(events, start, is_text=False)
            self._tool_blocks[tool_index] = block
        arguments = function.get("arguments")
        if arguments:
            delta = {"type": "input_json_delta", "partial_json": arguments}
            events.append(
                ("content_block_delta", {"type": "content_block_delta", "index": block, "delta": delta})
            )

    def _open(self, events: list[Event], content_block: dict[str, Any], *, is_text: bool) -> int:
        index = self._next_block
        self._next_block += 1
        self._open_block, self._open_is_text = index, is_text
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": content_block},
            )
        )
        return index

    def _close_block(self, events: list[Event]) -> None:
        if self._open_block is not None:
            events.append(("content_block_stop", {"type": "content_block_stop", "index": self._open_block}))
            self._open_block = None

    def _set_stop(self, choice: dict[str, Any]) -> None:
        matched = choice.get("stop_reason")  # vLLM: the stop string that matched
        if choice["finish_reason"] == "stop" and isinstance(matched, str):
            self.stop_reason, self.stop_sequence = "stop_sequence", matched
        elif choice["finish_reason"] == "stop" and self._tool_blocks:
            self.stop_reason = "tool_use"  # a named tool_choice ends with "stop" (see stop_reason_of)
        else:
            self.stop_reason = OPENAI_TO_ANTHROPIC_STOP.get(choice["finish_reason"], "end_turn")

    def _take_usage(self, usage: dict[str, Any]) -> None:
        converted = anthropic_usage(usage)
        self.input_tokens = converted["input_tokens"]
        self.output_tokens = converted["output_tokens"]
        self.cache_read_input_tokens = converted["cache_read_input_tokens"]
        self._usage_seen = True

    def _end(self, events: list[Event]) -> None:
        usage: dict[str, int] = {"output_tokens": self.output_tokens}
        if self._usage_seen:
            usage["input_tokens"] = self.input_tokens
            usage["cache_read_input_tokens"] = self.cache_read_input_tokens
        delta = {"stop_reason": self.stop_reason, "stop_sequence": self.stop_sequence}
        events.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
        events.append(("message_stop", {"type": "message_stop"}))
        self.done = True
