"""Round trips: what goes through both translators comes back equal, streamed or not."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.translate import (
    AnthropicToOpenAIStream,
    OpenAIToAnthropicStream,
    SSEParser,
    anthropic_to_openai_request,
    anthropic_to_openai_response,
    openai_to_anthropic_request,
    openai_to_anthropic_response,
    validate_anthropic_request,
)
from tests.translate.translate_samples import (
    ANTHROPIC_MESSAGE,
    ANTHROPIC_TEXT_STREAM,
    ANTHROPIC_TOOL_MESSAGE,
    OPENAI_TOOL_COMPLETION,
    PNG_B64,
    WEATHER_TOOL_ANTHROPIC,
    anthropic_tool_stream,
    openai_tool_stream,
)


def anthropic_events(stream: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    return [(name, orjson.loads(data)) for name, data in SSEParser().feed(stream)]


def collect_anthropic(events: list[tuple[Any, dict[str, Any]]]) -> dict[str, Any]:
    """Rebuild a message from Anthropic events by hand: content, stop reason and usage."""
    message: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for _, data in events:
        if data["type"] == "message_start":
            message = {**data["message"], "content": []}
        elif data["type"] == "content_block_start":
            message["content"].append(dict(data["content_block"]))
        elif data["type"] == "content_block_delta":
            block, delta = message["content"][data["index"]], data["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "input_json_delta":
                partial[data["index"]] = partial.get(data["index"], "") + delta["partial_json"]
        elif data["type"] == "content_block_stop" and data["index"] in partial:
            message["content"][data["index"]]["input"] = orjson.loads(partial[data["index"]])
        elif data["type"] == "message_delta":
            message.update(data["delta"])
            message["usage"] = {**message["usage"], **data["usage"]}
    return message


def test_anthropic_request_through_openai_and_back():
    original: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 700,
        "system": [{"type": "text", "text": "You are a weather bot."}],
        "temperature": 0.4,
        "stop_sequences": ["</answer>"],
        "metadata": {"user_id": "u-9"},
        "tools": [WEATHER_TOOL_ANTHROPIC],
        "tool_choice": {"type": "tool", "name": "get_weather"},
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather where this was taken?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {"location": "Oslo"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "-3°C"},
                    {"type": "text", "text": "Warm enough?"},
                ],
            },
        ],
        "stream": True,
    }
    validate_anthropic_request(original)
    openai_body = anthropic_to_openai_request(original, upstream_model="gpt-4o")
    back = openai_to_anthropic_request(openai_body, upstream_model="claude-sonnet-4-5")
    validate_anthropic_request(back)
    assert back == original


def test_anthropic_response_through_openai_and_back():
    for msg in (ANTHROPIC_MESSAGE, ANTHROPIC_TOOL_MESSAGE):
        back = openai_to_anthropic_response(anthropic_to_openai_response(msg, model="m"), model=msg["model"])
        assert back["content"] == [b for b in msg["content"] if b["type"] != "thinking"]
        assert back["stop_reason"] == msg["stop_reason"]
        assert back["usage"]["output_tokens"] == msg["usage"]["output_tokens"]
        # Cache writes are billed as input on the OpenAI side, so they come back as plain input.
        usage = msg["usage"]
        cache_read = usage.get("cache_read_input_tokens", 0)
        assert back["usage"]["cache_read_input_tokens"] == cache_read
        assert back["usage"]["input_tokens"] == usage["input_tokens"] + usage.get(
            "cache_creation_input_tokens", 0
        )


def test_openai_response_through_anthropic_and_back():
    anthropic_msg = openai_to_anthropic_response(OPENAI_TOOL_COMPLETION, model="m")
    back = anthropic_to_openai_response(anthropic_msg, model="gpt-4o-mini")
    original_calls = OPENAI_TOOL_COMPLETION["choices"][0]["message"]["tool_calls"]
    calls = back["choices"][0]["message"]["tool_calls"]
    assert [(c["id"], orjson.loads(c["function"]["arguments"])) for c in calls] == [
        (c["id"], orjson.loads(c["function"]["arguments"])) for c in original_calls
    ]
    assert back["choices"][0]["finish_reason"] == "tool_calls"
    assert back["usage"] == {**OPENAI_TOOL_COMPLETION["usage"], "prompt_tokens_details": {"cached_tokens": 0}}


def _anthropic_stream_through_openai(stream: bytes) -> list[tuple[str, dict[str, Any]]]:
    to_openai = AnthropicToOpenAIStream(model="m")
    to_anthropic = OpenAIToAnthropicStream(model="m")
    events: list[tuple[str, dict[str, Any]]] = []
    for name, data in anthropic_events(stream):
        for chunk in to_openai.feed(name, data):
            events += to_anthropic.feed(chunk)
    events += to_anthropic.feed(to_openai.usage_chunk())
    events += to_anthropic.finish()
    return events


def test_anthropic_streams_through_openai_chunks_and_back():
    for stream in (ANTHROPIC_TEXT_STREAM, anthropic_tool_stream()):
        original = collect_anthropic(anthropic_events(stream))
        back = collect_anthropic(_anthropic_stream_through_openai(stream))
        assert back["content"] == original["content"]
        assert back["stop_reason"] == original["stop_reason"]
        assert back["usage"]["output_tokens"] == original["usage"]["output_tokens"]


def test_openai_stream_through_anthropic_events_and_back():
    to_anthropic = OpenAIToAnthropicStream(model="m")
    to_openai = AnthropicToOpenAIStream(model="m")
    chunks: list[dict[str, Any]] = []
    for chunk in openai_tool_stream():
        for name, data in to_anthropic.feed(chunk):
            chunks += to_openai.feed(name, data)
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for call in chunk["choices"][0]["delta"].get("tool_calls", []):
            entry = calls.setdefault(call["index"], {"id": "", "arguments": ""})
            entry["id"] = call.get("id") or entry["id"]
            entry["arguments"] += call["function"].get("arguments", "")
    assert [(c["id"], orjson.loads(c["arguments"])) for c in calls.values()] == [
        ("call_DdmO9pD3xa9XTPNJ32zg2hcA", {"location": "Paris, France"}),
        ("call_9c2a7b", {"location": "Bogotá, Colombia", "unit": "celsius"}),
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert to_openai.usage["prompt_tokens"] == 120 and to_openai.usage["completion_tokens"] == 48
