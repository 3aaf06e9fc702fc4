"""The chat request's validation (gateway/protocol/openai.py): TypedDict shapes checked by pydantic-core.
What passes comes back as the same dict (extras kept); what does not is a 400 naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.api.common import validate
from gateway.errors import GatewayError
from gateway.protocol.openai import CHAT_REQUEST, FORWARDED_CHAT_FIELDS

USER = [{"role": "user", "content": "hi"}]
PARTS = [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {}}]
CALL = {"name": "f", "arguments": "{}"}
BAD_USAGE_FLAG = {"include_usage": "y"}


def test_a_valid_request_comes_back_whole_with_unknown_fields_kept() -> None:
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {}}],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
        ],
        "max_tokens": 16,
        "temperature": 0.2,
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "response_format": {"type": "json_object"},
        "stop": ["\n"],
        "some_new_upstream_field": {"x": 1},
    }
    assert validate(CHAT_REQUEST, body) == body


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": USER}, "model"),
        ({"model": "", "messages": USER}, "model"),
        ({"model": 1, "messages": USER}, "model"),
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": [1]}, "messages.0"),
        ({"model": "m", "messages": [{"content": "x"}]}, "messages.0.role"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
        ({"model": "m", "messages": [{"role": "user", "content": 5}]}, "messages.0.content"),
        ({"model": "m", "messages": USER, "max_tokens": -1}, "max_tokens"),
        ({"model": "m", "messages": USER, "max_tokens": "5"}, "max_tokens"),
        ({"model": "m", "messages": USER, "max_tokens": True}, "max_tokens"),
        ({"model": "m", "messages": USER, "n": 0}, "n"),
        ({"model": "m", "messages": USER, "temperature": 3}, "temperature"),
        ({"model": "m", "messages": USER, "stream": "yes"}, "stream"),
        (
            {"model": "m", "messages": USER, "stream_options": {"include_usage": "y"}},
            "stream_options.include_usage",
        ),
        ({"model": "m", "messages": USER, "stop": ["a"] * 5}, "stop"),
        ({"model": "m", "messages": USER, "tool_choice": "sometimes"}, "tool_choice"),
        ({"model": "m", "messages": USER, "response_format": {"type": "xml"}}, "response_format.type"),
        ({"model": "m", "messages": USER, "metadata": {"a": 1}}, "metadata.a"),
        ({"model": "m", "messages": USER, "vector_store_ids": [1]}, "vector_store_ids.0"),
        (
            {
                "model": "m",
                "messages": USER,
                "tools": [{"type": "function", "function": {"name": "bad name"}}],
            },
            "tools.0.function.name",
        ),
    ],
)
def test_an_invalid_request_is_a_400_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(GatewayError) as caught:
        validate(CHAT_REQUEST, body)
    error = caught.value
    assert error.status == 400
    assert error.body()["error"]["param"] == param
    assert "instance of" not in str(error.body())  # no internal class names in what the client reads


def test_only_openai_fields_are_forwarded() -> None:
    assert {"messages", "max_tokens", "tools", "stream_options", "temperature"} <= FORWARDED_CHAT_FIELDS
    # the model is replaced by the target's; the gateway's own fields stay in the gateway
    assert not {"model", "vector_store_ids", "metadata", "api_key", "base_url"} & FORWARDED_CHAT_FIELDS
