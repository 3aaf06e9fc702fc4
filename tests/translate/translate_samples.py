"""Wire payloads in the shapes the OpenAI and Anthropic API references show, for the translate tests."""

from __future__ import annotations

from typing import Any

import orjson

# A 1x1 transparent PNG, base64.
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="

WEATHER_TOOL_OPENAI: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}

WEATHER_TOOL_ANTHROPIC: dict[str, Any] = {
    "name": "get_weather",
    "description": "Get the current weather in a given location",
    "input_schema": WEATHER_TOOL_OPENAI["function"]["parameters"],
}

# Anthropic's "basic streaming request" example, byte for byte in shape (spaces after colons included).
ANTHROPIC_TEXT_STREAM = b"""event: message_start
data: {"type": "message_start", "message": {"id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 25, "output_tokens": 1}}}

event: content_block_start
data: {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}}

event: content_block_stop
data: {"type": "content_block_stop", "index": 0}

event: message_delta
data: {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence":null}, "usage": {"output_tokens": 15}}

event: message_stop
data: {"type": "message_stop"}

"""  # noqa: E501 - kept verbatim from the documentation

_TOOL_JSON_PARTS = ["", '{"location":', ' "San', " Francisc", "o,", ' CA"', ", ", '"unit": "fah', 'renheit"}']


def anthropic_tool_stream() -> bytes:
    """Anthropic's "streaming request with tool use" example: text, then a tool_use block in 9 deltas."""
    events: list[tuple[str, dict[str, Any]]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_014p7gG3wDgGV9EUtLvnow3U",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-sonnet-4-5",
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": 472,
                        "output_tokens": 2,
                        "cache_read_input_tokens": 1024,
                        "cache_creation_input_tokens": 128,
                    },
                    "content": [],
                    "stop_reason": None,
                },
            },
        ),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        ("ping", {"type": "ping"}),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Okay"}},
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": ", let's check the weather for San Francisco, CA:"},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {
                    "type": "tool_use",
                    "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                    "name": "get_weather",
                    "input": {},
                },
            },
        ),
    ]
    for part in _TOOL_JSON_PARTS:
        delta = {"type": "input_json_delta", "partial_json": part}
        events.append(("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": delta}))
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": 89},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return b"".join(f"event: {name}\ndata: ".encode() + orjson.dumps(data) + b"\n\n" for name, data in events)


ANTHROPIC_MESSAGE: dict[str, Any] = {
    "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "text", "text": "Hi! My name is Claude."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 2095,
        "output_tokens": 503,
        "cache_creation_input_tokens": 2051,
        "cache_read_input_tokens": 4096,
    },
}

ANTHROPIC_TOOL_MESSAGE: dict[str, Any] = {
    "id": "msg_01Aq9w938a90dw8q",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [
        {
            "type": "thinking",
            "thinking": "The user wants the weather.",
            "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h",
        },
        {"type": "text", "text": "I'll check the current weather in San Francisco for you."},
        {
            "type": "tool_use",
            "id": "toolu_01A09q90qw90lq917835lq9",
            "name": "get_weather",
            "input": {"location": "San Francisco, CA", "unit": "celsius"},
        },
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 384, "output_tokens": 92},
}

OPENAI_COMPLETION: dict[str, Any] = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4.1-2025-04-14",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello! How can I assist you today?",
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 1919,
        "completion_tokens": 10,
        "total_tokens": 1929,
        "prompt_tokens_details": {"cached_tokens": 1792, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
    "service_tier": "default",
}

OPENAI_TOOL_COMPLETION: dict[str, Any] = {
    "id": "chatcmpl-abc123",
    "object": "chat.completion",
    "created": 1699896916,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_abc123",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{\n"location": "Boston, MA"\n}'},
                    },
                    {
                        "id": "call_def456",
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "arguments": '{"location": "Paris", "unit": "celsius"}',
                        },
                    },
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99},
}


def openai_chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
    """One chat.completion.chunk as OpenAI streams it."""
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        **extra,
    }


def openai_usage_chunk(prompt: int, completion: int, cached: int = 0) -> dict[str, Any]:
    """The final ``choices: []`` chunk of a stream with include_usage."""
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
        },
    }


def openai_text_stream() -> list[dict[str, Any]]:
    """OpenAI's streaming example ("Hello" …), with include_usage."""
    return [
        openai_chunk({"role": "assistant", "content": "", "refusal": None}, usage=None),
        openai_chunk({"content": "Hello"}, usage=None),
        openai_chunk({"content": "! How can I"}, usage=None),
        openai_chunk({"content": " help?"}, usage=None),
        openai_chunk({}, "stop", usage=None),
        openai_usage_chunk(2048, 9, cached=1024),
    ]


def openai_tool_stream() -> list[dict[str, Any]]:
    """OpenAI's streamed function-call example: two parallel calls, arguments in many fragments."""

    def call(index: int, arguments: str) -> dict[str, Any]:
        return {"index": index, "id": None, "function": {"arguments": arguments, "name": None}, "type": None}

    chunks = [openai_chunk({"role": "assistant", "content": None})]
    first = {"index": 0, "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA", "type": "function"}
    first["function"] = {"arguments": "", "name": "get_weather"}
    chunks.append(openai_chunk({"tool_calls": [first]}))
    for part in ['{"', "location", '":"', "Paris", ",", " France", '"}']:
        chunks.append(openai_chunk({"tool_calls": [call(0, part)]}))
    second = {
        "index": 1,
        "id": "call_9c2a7b",
        "type": "function",
        "function": {"arguments": "", "name": "get_weather"},
    }
    chunks.append(openai_chunk({"tool_calls": [second]}))
    for part in ['{"loc', 'ation": "Bog', 'otá, Colombia", "unit', '": "celsius"}']:
        chunks.append(openai_chunk({"tool_calls": [call(1, part)]}))
    chunks.append(openai_chunk({}, "tool_calls"))
    chunks.append(openai_usage_chunk(120, 48))
    return chunks
