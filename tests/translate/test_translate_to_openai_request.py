"""anthropic_to_openai_request: an Anthropic /v1/messages body as OpenAI or vLLM must receive it."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import GatewayError
from gateway.translate import (
    anthropic_to_openai_request,
    openai_to_anthropic_request,
    validate_anthropic_request,
)
from tests.translate.translate_samples import PNG_B64, WEATHER_TOOL_ANTHROPIC, WEATHER_TOOL_OPENAI

MODEL = "gpt-4o"


def translate(body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    validate_anthropic_request(body)
    return anthropic_to_openai_request(body, upstream_model=MODEL, **kwargs)


def test_basic_request_with_all_sampling_parameters():
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": "You are a helpful assistant.",
        "messages": [{"role": "user", "content": "Hello, Claude"}],
        "temperature": 0.5,
        "top_p": 0.9,
        "top_k": 40,
        "stop_sequences": ["\n\nHuman:", "END"],
        "metadata": {"user_id": "13803d75-b4b5-4c3e-b2a2-6f21399b021b"},
        "thinking": {"type": "enabled", "budget_tokens": 2000},
    }
    assert translate(body) == {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Hello, Claude"},
        ],
        "max_completion_tokens": 1024,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": ["\n\nHuman:", "END"],
        "user": "13803d75-b4b5-4c3e-b2a2-6f21399b021b",
    }


def test_streaming_asks_for_usage_and_old_servers_get_max_tokens():
    body = {"model": "m", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "x"}]}
    out = translate(body, max_tokens_field="max_tokens")
    assert out["stream"] is True
    assert out["stream_options"] == {"include_usage": True}
    assert out["max_tokens"] == 10 and "max_completion_tokens" not in out


def test_system_blocks_are_joined_and_cache_hints_dropped():
    body = {
        "model": "m",
        "max_tokens": 10,
        "system": [
            {"type": "text", "text": "You are a poet."},
            {"type": "text", "text": "<book>…</book>", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral"}}],
            }
        ],
    }
    out = translate(body)
    assert out["messages"] == [
        {"role": "system", "content": "You are a poet.\n\n<book>…</book>"},
        {"role": "user", "content": "Hi"},
    ]


def test_images_base64_and_url_become_image_url_parts():
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                    {"type": "text", "text": "Compare these two images."},
                ],
            }
        ],
    }
    assert translate(body)["messages"][0]["content"] == [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        {"type": "text", "text": "Compare these two images."},
    ]


def test_documents_pdf_and_plain_text():
    pdf = {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "document", "source": pdf, "title": "report.pdf"},
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": "Plain."},
                    },
                ],
            }
        ],
    }
    assert translate(body)["messages"][0]["content"] == [
        {
            "type": "file",
            "file": {"filename": "report.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"},
        },
        {"type": "text", "text": "Plain."},
    ]


def test_multi_turn_tool_use_and_results():
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "tools": [WEATHER_TOOL_ANTHROPIC],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "messages": [
            {"role": "user", "content": "What's the weather like in San Francisco and Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Two cities.", "signature": "EqQB"},
                    {"type": "text", "text": "I'll check both."},
                    {
                        "type": "tool_use",
                        "id": "toolu_01A",
                        "name": "get_weather",
                        "input": {"location": "SF"},
                    },
                    {
                        "type": "tool_use",
                        "id": "toolu_01B",
                        "name": "get_weather",
                        "input": {"location": "Paris"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "15 degrees"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01B",
                        "content": [
                            {"type": "text", "text": "18 degrees"},
                            {
                                "type": "image",
                                "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
                            },
                        ],
                        "is_error": False,
                    },
                    {"type": "text", "text": "Which is warmer?"},
                ],
            },
        ],
    }
    out = translate(body)
    assert out["messages"] == [
        {"role": "user", "content": "What's the weather like in San Francisco and Paris?"},
        {
            "role": "assistant",
            "content": "I'll check both.",
            "tool_calls": [
                {
                    "id": "toolu_01A",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location":"SF"}'},
                },
                {
                    "id": "toolu_01B",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_01A", "content": "15 degrees"},
        {"role": "tool", "tool_call_id": "toolu_01B", "content": "18 degrees"},
        {
            "role": "user",
            "content": [  # the tool result's image, in its original order, then the user's text
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                {"type": "text", "text": "Which is warmer?"},
            ],
        },
    ]
    assert out["tools"] == [WEATHER_TOOL_OPENAI]
    assert out["tool_choice"] == "required"
    assert out["parallel_tool_calls"] is False


def test_tool_result_error_and_empty_content_and_tool_only_assistant():
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "timeout", "is_error": True}
                ],
            },
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t2", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t2"}]},
        ],
    }
    out = translate(body)["messages"]
    assert out[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    }
    assert out[2] == {"role": "tool", "tool_call_id": "t1", "content": "Error: timeout"}
    assert out[4] == {"role": "tool", "tool_call_id": "t2", "content": ""}
    assert len(out) == 5  # no empty user message after tool results


def test_final_assistant_prefill_is_kept():
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "JSON please"}, {"role": "assistant", "content": "{"}],
    }
    assert translate(body)["messages"][-1] == {"role": "assistant", "content": "{"}


def test_empty_final_prefill_is_dropped_and_consecutive_assistant_turns_merge():
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": "Calling."},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]},
            {"role": "assistant", "content": ""},
        ],
    }
    assert translate(body)["messages"] == [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": "Calling.",
            "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "t1", "content": "ok"},
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        ({"type": "tool", "name": "get_weather"}, {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
def test_tool_choice_mapping(choice: dict[str, Any], expected: Any):
    body = {
        "model": "m",
        "max_tokens": 10,
        "tools": [WEATHER_TOOL_ANTHROPIC],
        "tool_choice": choice,
        "messages": [{"role": "user", "content": "x"}],
    }
    out = translate(body)
    assert out["tool_choice"] == expected
    assert "parallel_tool_calls" not in out


def test_server_tools_are_refused():
    body = {
        "model": "m",
        "max_tokens": 10,
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}],
        "messages": [{"role": "user", "content": "x"}],
    }
    with pytest.raises(GatewayError) as err:
        translate(body)
    assert (err.value.status, err.value.param, err.value.code) == (
        400,
        "tools.0.type",
        "unsupported_parameter",
    )


def test_url_documents_are_refused():
    source = {"type": "url", "url": "https://example.com/a.pdf"}
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": [{"type": "document", "source": source}]}],
    }
    with pytest.raises(GatewayError):
        translate(body)


def test_round_trip_openai_to_anthropic_and_back_keeps_the_conversation():
    original = {
        "model": "gpt-4o",
        "max_completion_tokens": 300,
        "temperature": 0.2,
        "stop": ["END"],
        "user": "u-1",
        "tools": [WEATHER_TOOL_OPENAI],
        "tool_choice": "required",
        "messages": [
            {"role": "system", "content": "Be terse."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather where this photo was taken?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"location":"Oslo"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "-3°C"},
        ],
    }
    anthropic_body = openai_to_anthropic_request(original, upstream_model="claude-sonnet-4-5")
    back = translate(anthropic_body)
    expected = {k: v for k, v in original.items() if k != "model"}
    assert back == {"model": MODEL, **expected}
