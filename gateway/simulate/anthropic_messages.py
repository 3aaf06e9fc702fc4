"""Anthropic Messages API: request validation, the message object and the streamed event sequence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gateway.simulate.errors import invalid
from gateway.simulate.replies import Completion, ReplyRequest, ToolMode, ToolSpec
from gateway.simulate.tokens import TokenCounter
from gateway.simulate.tool_pairing import check_anthropic_tool_pairing

_STOP_REASON = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool": "tool_use",
    "stop_sequence": "stop_sequence",
}
_TOOL_MODES: dict[str, ToolMode] = {"auto": "auto", "any": "required", "tool": "required", "none": "none"}
_IMAGE_TOKENS = 85


@dataclass(frozen=True, slots=True)
class MessagesCall:
    """A validated Messages API request."""

    model: str
    stream: bool
    reply: ReplyRequest
    input_tokens: int
    marker_text: str


def parse_messages(body: Any, *, counter: TokenCounter, for_count_only: bool = False) -> MessagesCall:
    """Validate like Anthropic does (the common 400s) and extract what decides the reply."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("model: Field required")
    max_tokens = body.get("max_tokens")
    if not for_count_only:
        if max_tokens is None:
            raise invalid("max_tokens: Field required")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise invalid("max_tokens: Input should be a valid integer greater than or equal to 1")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise invalid("messages: Field required")
    if not messages:
        raise invalid("messages: at least one message is required")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        if not isinstance(content, str | list):
            raise invalid(f"messages.{i}.content: Field required")
    check_anthropic_tool_pairing(messages)
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        raise invalid("system: Input should be a valid string or a list of text blocks")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise invalid("stream: Input should be a valid boolean")
    _range(body, "temperature", 0.0, 1.0)
    _range(body, "top_p", 0.0, 1.0)
    stops = body.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)):
        raise invalid("stop_sequences: Input should be a valid list of strings")
    tools, tool_mode, forced = _tools(body)
    marker_text = _last_user_text(messages)
    tool_result = _tool_result_text(messages[-1])
    reply = ReplyRequest(
        prompt_text=tool_result if tool_result is not None else marker_text,
        tools=tools,
        tool_mode=tool_mode,
        forced_tool=forced,
        last_is_tool_result=tool_result is not None,
        max_tokens=max_tokens if isinstance(max_tokens, int) else None,
        stop=tuple(s for s in stops or () if s),
    )
    return MessagesCall(
        model=model,
        stream=stream,
        reply=reply,
        input_tokens=count_input_tokens(system, messages, body.get("tools"), counter),
        marker_text=marker_text,
    )


def count_input_tokens(system: Any, messages: list, tools: Any, counter: TokenCounter) -> int:
    """A cl100k_base estimate of Claude's input tokens (Anthropic's own tokenizer is not public)."""
    total = counter.count(_blocks_text(system)) if system else 0
    for message in messages:
        content = message.get("content")
        total += 3 + counter.count(_blocks_text(content))
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") == "image":
                    total += _IMAGE_TOKENS
                elif isinstance(block, dict) and block.get("type") == "tool_use":
                    total += counter.count(orjson.dumps(block.get("input")).decode())
    if tools:
        total += counter.count(orjson.dumps(tools).decode())
    return total


def message_body(call: MessagesCall, completion: Completion, *, message_id: str) -> bytes:
    """The non-streamed message object."""
    return orjson.dumps(
        {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": call.model,
            "content": [_content_block(completion, complete=True)],
            "stop_reason": _STOP_REASON[completion.finish],
            "stop_sequence": completion.stop_sequence,
            "usage": _usage(call.input_tokens, completion.tokens),
        }
    )


def message_events(call: MessagesCall, completion: Completion, *, message_id: str) -> list[bytes]:
    """message_start, content_block_start, ping, deltas, content_block_stop, message_delta, message_stop."""
    start = {
        "type": "message_start",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": call.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": _usage(call.input_tokens, 1),
        },
    }
    events = [
        _event(b"message_start", start),
        _event(
            b"content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": _content_block(completion, complete=False),
            },
        ),
        _event(b"ping", {"type": "ping"}),
    ]
    if completion.tool_name is not None and completion.text == "{}":
        # A tool without parameters: Anthropic streams no JSON at all, one empty partial_json.
        deltas = [{"type": "input_json_delta", "partial_json": ""}]
    elif completion.tool_name is not None:
        deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in completion.pieces]
    else:
        deltas = [{"type": "text_delta", "text": piece} for piece in completion.pieces]
    events.extend(
        _event(b"content_block_delta", {"type": "content_block_delta", "index": 0, "delta": d})
        for d in deltas
    )
    events.append(_event(b"content_block_stop", {"type": "content_block_stop", "index": 0}))
    delta = {"stop_reason": _STOP_REASON[completion.finish], "stop_sequence": completion.stop_sequence}
    events.append(
        _event(
            b"message_delta",
            {"type": "message_delta", "delta": delta, "usage": {"output_tokens": completion.tokens}},
        )
    )
    events.append(_event(b"message_stop", {"type": "message_stop"}))
    return events


def _event(name: bytes, data: dict) -> bytes:
    return b"event: " + name + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _usage(input_tokens: int, output_tokens: int) -> dict:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def _content_block(completion: Completion, *, complete: bool) -> dict:
    if completion.tool_name is None:
        return {"type": "text", "text": completion.text if complete else ""}
    arguments: Any = {}
    if complete:
        try:
            arguments = orjson.loads(completion.text)
        except orjson.JSONDecodeError:
            arguments = {}  # cut by max_tokens: the input never completed
    return {
        "type": "tool_use",
        "id": f"toolu_{completion.tool_id}",
        "name": completion.tool_name,
        "input": arguments,
    }


def _blocks_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = []
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif block.get("type") == "tool_result":
            parts.append(_blocks_text(block.get("content")))
    return "\n".join(parts)


def _last_user_text(messages: list) -> str:
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        return "\n".join(
            str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    return ""


def _tool_result_text(message: dict) -> str | None:
    """The text of the tool results when the last message carries them, else None."""
    content = message.get("content")
    if message.get("role") != "user" or not isinstance(content, list):
        return None
    results = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
    if not results:
        return None
    return "\n".join(_blocks_text(b.get("content")) for b in results)


def _range(body: dict, name: str, low: float, high: float) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise invalid(f"{name}: Input should be a number between {low:g} and {high:g}")


def _tools(body: dict) -> tuple[tuple[ToolSpec, ...], ToolMode, str | None]:
    raw_tools = body.get("tools")
    choice = body.get("tool_choice")
    kind = choice.get("type") if isinstance(choice, dict) else None
    if choice is not None and kind not in _TOOL_MODES:
        raise invalid(
            "tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"
        )
    if raw_tools is None:
        return (), "auto", None
    if not isinstance(raw_tools, list):
        raise invalid("tools: Input should be a valid list")
    tools = []
    for i, tool in enumerate(raw_tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or not tool["name"]:
            raise invalid(f"tools.{i}.name: Field required")
        schema = tool.get("input_schema")
        if tool.get("type") in (None, "custom"):
            if not isinstance(schema, dict):
                raise invalid(f"tools.{i}.custom.input_schema: Field required")
            tools.append(ToolSpec(tool["name"], schema))
    if choice is None or kind is None:
        return tuple(tools), "auto", None
    assert isinstance(choice, dict)
    if kind != "tool":
        return tuple(tools), _TOOL_MODES[kind], None
    name = choice.get("name")
    if not isinstance(name, str) or name not in {t.name for t in tools}:
        raise invalid("tool_choice.name: no tool with that name")
    return tuple(tools), "required", name
