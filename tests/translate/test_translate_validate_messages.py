"""validate_anthropic_request: every rule of Anthropic's /v1/messages that we enforce, and the param path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gateway.errors import GatewayError
from gateway.translate import validate_anthropic_request
from tests.translate.translate_samples import PNG_B64, WEATHER_TOOL_ANTHROPIC


def valid_body() -> dict[str, Any]:
    """A request using most features at once; each bad case below breaks exactly one thing in it."""
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "Be helpful.", "cache_control": {"type": "ephemeral"}}],
        "temperature": 1,
        "top_p": 0.5,
        "top_k": 5,
        "stop_sequences": ["END"],
        "stream": False,
        "metadata": {"user_id": "u-1"},
        "tools": [WEATHER_TOOL_ANTHROPIC],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": False},
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather here?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": "doc"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Look it up.", "signature": "sig"},
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
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "-3°C"}],
                        "is_error": False,
                    }
                ],
            },
            {"role": "assistant", "content": "It is"},
        ],
    }


def test_the_valid_body_and_minimal_bodies_pass():
    validate_anthropic_request(valid_body())
    validate_anthropic_request(
        {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "Hi"}]}
    )
    empty_prefill = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": ""}]
    validate_anthropic_request({"model": "m", "max_tokens": 1, "messages": empty_prefill})


def test_tool_results_may_be_split_over_consecutive_user_messages():
    body = valid_body()
    body["messages"][1]["content"].append(
        {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}}
    )
    body["messages"].insert(
        3, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_2"}]}
    )
    validate_anthropic_request(body)


def _set(path: list[Any], value: Any):
    def mutate(body: dict[str, Any]) -> None:
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(path: list[Any]):
    def mutate(body: dict[str, Any]) -> None:
        target = body
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


CASES = [
    (_delete(["model"]), "model"),
    (_set(["model"], ""), "model"),
    (_set(["model"], 4), "model"),
    (_delete(["max_tokens"]), "max_tokens"),
    (_set(["max_tokens"], 0), "max_tokens"),
    (_set(["max_tokens"], -5), "max_tokens"),
    (_set(["max_tokens"], "100"), "max_tokens"),
    (_set(["max_tokens"], 10.5), "max_tokens"),
    (_set(["max_tokens"], True), "max_tokens"),
    (_delete(["messages"]), "messages"),
    (_set(["messages"], []), "messages"),
    (_set(["messages"], {"role": "user"}), "messages"),
    (_set(["messages", 0], "hi"), "messages.0"),
    (_set(["messages", 0, "role"], "system"), "messages.0.role"),
    (_set(["messages", 0, "role"], "assistant"), "messages.0.role"),
    (_set(["messages", 1, "role"], "tool"), "messages.1.role"),
    (_delete(["messages", 0, "content"]), "messages.0.content"),
    (_set(["messages", 0, "content"], ""), "messages.0.content"),
    (_set(["messages", 0, "content"], []), "messages.0.content"),
    (_set(["messages", 0, "content"], {"type": "text"}), "messages.0.content"),
    (_set(["messages", 1, "content"], []), "messages.1.content"),  # only the last assistant may be empty
    (_set(["messages", 0, "content", 0], "text"), "messages.0.content.0.type"),
    (_set(["messages", 0, "content", 0, "type"], "video"), "messages.0.content.0.type"),
    (_set(["messages", 0, "content", 0, "text"], None), "messages.0.content.0.text"),
    (
        _set(["messages", 0, "content", 1, "source", "media_type"], "image/bmp"),
        "messages.0.content.1.source.media_type",
    ),
    (_set(["messages", 0, "content", 1, "source", "data"], ""), "messages.0.content.1.source.data"),
    (_set(["messages", 0, "content", 1, "source", "type"], "file"), "messages.0.content.1.source.type"),
    (_delete(["messages", 0, "content", 1, "source"]), "messages.0.content.1.source.type"),
    (
        _set(["messages", 0, "content", 2, "source", "url"], "file:///etc/passwd"),
        "messages.0.content.2.source.url",
    ),
    (_set(["messages", 0, "content", 3, "source", "type"], "url"), "messages.0.content.3.source.type"),
    (_set(["messages", 0, "content", 3, "source", "data"], 3), "messages.0.content.3.source.data"),
    (
        _set(
            ["messages", 0, "content", 3, "source"],
            {"type": "base64", "media_type": "text/csv", "data": "YQ=="},
        ),
        "messages.0.content.3.source.media_type",
    ),
    (
        _set(["messages", 0, "content", 0, "type"], "tool_use"),
        "messages.0.content.0.type",
    ),  # tool_use from user
    (_set(["messages", 1, "content", 0, "type"], "tool_result"), "messages.1.content.0.type"),
    (_set(["messages", 1, "content", 0, "type"], "image"), "messages.1.content.0.type"),
    (_set(["messages", 1, "content", 0, "thinking"], None), "messages.1.content.0.thinking"),
    (_set(["messages", 1, "content", 1, "id"], ""), "messages.1.content.1.id"),
    (_set(["messages", 1, "content", 1, "name"], None), "messages.1.content.1.name"),
    (_set(["messages", 1, "content", 1, "input"], '{"location": "Oslo"}'), "messages.1.content.1.input"),
    (_set(["messages", 2, "content", 0, "tool_use_id"], "toolu_9"), "messages.2.content.0.tool_use_id"),
    (_set(["messages", 2, "content", 0, "tool_use_id"], 1), "messages.2.content.0.tool_use_id"),
    (_set(["messages", 2, "content", 0, "is_error"], "no"), "messages.2.content.0.is_error"),
    (_set(["messages", 2, "content", 0, "content"], 5), "messages.2.content.0.content"),
    (
        _set(["messages", 2, "content", 0, "content", 0], {"type": "tool_use"}),
        "messages.2.content.0.content.0.type",
    ),
    (_set(["messages", 2, "content", 0, "content", 0, "text"], 1), "messages.2.content.0.content.0.text"),
    (
        _set(["messages", 2, "content", 0, "content", 0], {"type": "image", "source": {"type": "x"}}),
        "messages.2.content.0.content.0.source.type",
    ),
    (_set(["messages", 2, "content"], [{"type": "text", "text": "forgot the result"}]), "messages.2.content"),
    (
        _set(
            ["messages", 2, "content"],
            [{"type": "text", "text": "first"}, {"type": "tool_result", "tool_use_id": "toolu_1"}],
        ),
        "messages.2.content.1",
    ),
    (_set(["system"], 5), "system"),
    (_set(["system", 0, "type"], "image"), "system.0.type"),
    (_set(["system", 0, "text"], None), "system.0.text"),
    (_set(["temperature"], 1.5), "temperature"),
    (_set(["temperature"], -0.1), "temperature"),
    (_set(["temperature"], "0.5"), "temperature"),
    (_set(["top_p"], 2), "top_p"),
    (_set(["top_p"], False), "top_p"),
    (_set(["top_k"], -1), "top_k"),
    (_set(["top_k"], 2.5), "top_k"),
    (_set(["stop_sequences"], "END"), "stop_sequences"),
    (_set(["stop_sequences"], ["END", 3]), "stop_sequences"),
    (_set(["stream"], "yes"), "stream"),
    (_set(["metadata"], "u-1"), "metadata"),
    (_set(["metadata", "user_id"], 42), "metadata.user_id"),
    (_set(["tools"], {"name": "x"}), "tools"),
    (_set(["tools", 0], "get_weather"), "tools.0"),
    (_set(["tools", 0, "name"], "get weather!"), "tools.0.name"),
    (_set(["tools", 0, "name"], "x" * 129), "tools.0.name"),
    (_delete(["tools", 0, "input_schema"]), "tools.0.input_schema"),
    (_set(["tools", 0, "input_schema"], {"type": "string"}), "tools.0.input_schema.type"),
    (_set(["tools", 0, "description"], ["a"]), "tools.0.description"),
    (_set(["tools"], [WEATHER_TOOL_ANTHROPIC, WEATHER_TOOL_ANTHROPIC]), "tools.1.name"),  # duplicate name
    (_set(["tool_choice"], "auto"), "tool_choice.type"),
    (_set(["tool_choice", "type"], "required"), "tool_choice.type"),
    (_set(["tool_choice"], {"type": "tool"}), "tool_choice.name"),
    (_set(["tool_choice", "disable_parallel_tool_use"], "yes"), "tool_choice.disable_parallel_tool_use"),
]


@pytest.mark.parametrize(("mutate", "param"), CASES, ids=[param for _, param in CASES])
def test_each_broken_rule_is_a_400_naming_the_field(mutate: Any, param: str):
    body = copy.deepcopy(valid_body())
    mutate(body)
    with pytest.raises(GatewayError) as err:
        validate_anthropic_request(body)
    assert err.value.status == 400
    assert err.value.param == param
    assert err.value.message.startswith(param)
    assert err.value.anthropic_body()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("body", [None, [], "text", 3])
def test_a_body_that_is_not_an_object(body: Any):
    with pytest.raises(GatewayError) as err:
        validate_anthropic_request(body)
    assert err.value.param == "body"


def test_server_tools_pass_validation_and_unknown_top_level_fields_are_tolerated():
    body = valid_body()
    body["tools"].append({"type": "web_search_20250305", "name": "web_search", "max_uses": 5})
    body["service_tier"] = "auto"
    validate_anthropic_request(body)


def test_at_most_ten_thousand_messages_as_for_chat():
    turns = [{"role": "user" if i % 2 == 0 else "assistant", "content": "x"} for i in range(10_001)]
    assert turns[-1]["role"] == "user"
    validate_anthropic_request({"model": "m", "max_tokens": 5, "messages": turns[:-1]})  # 10,000
    with pytest.raises(GatewayError) as refused:
        validate_anthropic_request({"model": "m", "max_tokens": 5, "messages": turns})  # 10,001
    assert refused.value.status == 400 and refused.value.param == "messages"
