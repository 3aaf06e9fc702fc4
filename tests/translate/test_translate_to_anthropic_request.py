"""openai_to_anthropic_request: an OpenAI chat body as Anthropic must receive it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.errors import GatewayError
from gateway.translate import openai_to_anthropic_request
from tests.translate.translate_samples import PNG_B64, WEATHER_TOOL_OPENAI

MODEL = "claude-sonnet-4-5"


def translate(body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return openai_to_anthropic_request(body, upstream_model=MODEL, **kwargs)


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def test_basic_chat_with_system_and_parameters():
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            user("Hello!"),
        ],
        "max_tokens": 256,
        "temperature": 0.3,
        "top_p": 0.9,
        "stop": "\n\nHuman:",
        "user": "user-1234",
        "stream": True,
    }
    assert translate(body) == {
        "model": MODEL,
        "max_tokens": 256,
        "system": [{"type": "text", "text": "You are a helpful assistant."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello!"}]}],
        "temperature": 0.3,  # and no top_p: recent Claude models refuse the two together
        "stop_sequences": ["\n\nHuman:"],
        "metadata": {"user_id": "user-1234"},
        "stream": True,
    }


def test_developer_and_later_system_messages_are_hoisted_in_order():
    body = {
        "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "Rule one."}]},
            user("Hi"),
            {"role": "system", "content": "Rule two."},
            {"role": "assistant", "content": "Hello"},
        ]
    }
    out = translate(body)
    assert out["system"] == [{"type": "text", "text": "Rule one."}, {"type": "text", "text": "Rule two."}]
    assert [m["role"] for m in out["messages"]] == ["user", "assistant"]


def test_max_tokens_precedence_and_default():
    assert translate({"messages": [user("x")]})["max_tokens"] == 4096
    assert translate({"messages": [user("x")]}, default_max_tokens=1000)["max_tokens"] == 1000
    assert translate({"messages": [user("x")], "max_tokens": 50})["max_tokens"] == 50
    both = {"messages": [user("x")], "max_tokens": 50, "max_completion_tokens": 70}
    assert translate(both)["max_tokens"] == 70


def test_temperature_above_anthropic_range_is_clamped():
    assert translate({"messages": [user("x")], "temperature": 1.7})["temperature"] == 1.0
    assert translate({"messages": [user("x")], "temperature": 0})["temperature"] == 0.0


def test_top_p_of_one_is_not_forwarded():
    assert "top_p" not in translate({"messages": [user("x")], "temperature": 0.5, "top_p": 1})
    assert translate({"messages": [user("x")], "top_p": 0.8})["top_p"] == 0.8


def test_temperature_and_top_p_together_keep_only_temperature():
    """OpenAI accepts both; claude-sonnet-4-5 and later answer 400 "temperature and top_p cannot both be
    specified for this model"."""
    out = translate({"messages": [user("x")], "temperature": 0.7, "top_p": 0.9})
    assert out["temperature"] == 0.7 and "top_p" not in out
    assert translate({"messages": [user("x")], "temperature": 0, "top_p": 0.5})["temperature"] == 0.0
    assert "top_p" not in translate({"messages": [user("x")], "temperature": 0, "top_p": 0.5})


def test_safety_identifier_is_the_user_id_when_user_is_absent():
    out = translate({"messages": [user("x")], "safety_identifier": "hash-42"})
    assert out["metadata"] == {"user_id": "hash-42"}


def test_stop_list_drops_whitespace_only_sequences():
    out = translate({"messages": [user("x")], "stop": ["END", " ", "\n", "STOP"]})
    assert out["stop_sequences"] == ["END", "STOP"]
    assert "stop_sequences" not in translate({"messages": [user("x")], "stop": None})


def test_unknown_and_unsupported_fields_are_dropped():
    body = {
        "messages": [user("x")],
        "frequency_penalty": 0.5,
        "presence_penalty": 0.2,
        "logit_bias": {"50256": -100},
        "logprobs": True,
        "seed": 42,
        "stream_options": {"include_usage": True},
        "service_tier": "auto",
        "store": True,
        "n": 1,
        "some_future_field": {"x": 1},
    }
    assert set(translate(body)) == {"model", "max_tokens", "messages"}


def test_images_data_url_http_url_and_bare_string():
    content = [
        {"type": "text", "text": "What is in these images?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}", "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "https://upload.wikimedia.org/a/b/Gfp-wisconsin.jpg"}},
        {"type": "image_url", "image_url": f"data:image/JPEG;base64,{PNG_B64}"},
    ]
    blocks = translate({"messages": [user(content)]})["messages"][0]["content"]
    assert blocks == [
        {"type": "text", "text": "What is in these images?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
        {
            "type": "image",
            "source": {"type": "url", "url": "https://upload.wikimedia.org/a/b/Gfp-wisconsin.jpg"},
        },
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": PNG_B64}},
    ]


def test_pdf_file_part_becomes_a_document_block():
    part = {
        "type": "file",
        "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"},
    }
    blocks = translate({"messages": [user([part])]})["messages"][0]["content"]
    assert blocks == [
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"},
        }
    ]


def test_cache_control_on_text_parts_passes_through():
    part = {"type": "text", "text": "long context", "cache_control": {"type": "ephemeral"}}
    out = translate({"messages": [{"role": "system", "content": [part]}, user([part])]})
    assert out["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert out["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}


def test_multi_turn_tool_calls_and_results():
    body = {
        "messages": [
            user("What's the weather in Paris and Bogotá?"),
            {
                "role": "assistant",
                "content": "Let me check both.",
                "tool_calls": [
                    {
                        "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"location":"Paris, France"}'},
                    },
                    {
                        "id": "call_9c2a7b",
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "arguments": '{"location":"Bogotá","unit":"celsius"}',
                        },
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_DdmO9pD3xa9XTPNJ32zg2hcA", "content": "15°C, cloudy"},
            {"role": "tool", "tool_call_id": "call_9c2a7b", "content": [{"type": "text", "text": "19°C"}]},
            user("Thanks! And tomorrow?"),
        ],
        "tools": [WEATHER_TOOL_OPENAI],
        "tool_choice": "auto",
    }
    out = translate(body)
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "What's the weather in Paris and Bogotá?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check both."},
                {
                    "type": "tool_use",
                    "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
                    "name": "get_weather",
                    "input": {"location": "Paris, France"},
                },
                {
                    "type": "tool_use",
                    "id": "call_9c2a7b",
                    "name": "get_weather",
                    "input": {"location": "Bogotá", "unit": "celsius"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
                    "content": "15°C, cloudy",
                },
                {"type": "tool_result", "tool_use_id": "call_9c2a7b", "content": "19°C"},
                {"type": "text", "text": "Thanks! And tomorrow?"},
            ],
        },
    ]
    assert out["tools"] == [
        {
            "name": "get_weather",
            "description": "Get the current weather in a given location",
            "input_schema": WEATHER_TOOL_OPENAI["function"]["parameters"],
        }
    ]
    assert out["tool_choice"] == {"type": "auto"}


def test_assistant_with_only_tool_calls_and_null_or_empty_arguments():
    body = {
        "messages": [
            user("ping"),
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "ping", "arguments": ""}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": ""},
        ]
    }
    out = translate(body)
    assert out["messages"][1]["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "ping", "input": {}}
    ]
    assert out["messages"][2]["content"] == [{"type": "tool_result", "tool_use_id": "call_1"}]


def test_tool_ids_with_characters_anthropic_rejects_are_sanitised_consistently():
    body = {
        "messages": [
            user("x"),
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "fc:1/a.b", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "fc:1/a.b", "content": "ok"},
        ]
    }
    out = translate(body)
    assert out["messages"][1]["content"][0]["id"] == "fc_1_a_b"
    assert out["messages"][2]["content"][0]["tool_use_id"] == "fc_1_a_b"


def test_consecutive_same_role_turns_are_merged_and_empty_text_dropped():
    body = {
        "messages": [
            user("one"),
            user([{"type": "text", "text": "two"}, {"type": "text", "text": ""}]),
            {"role": "assistant", "content": ""},
            {
                "role": "assistant",
                "content": [{"type": "text", "text": "three"}, {"type": "refusal", "refusal": "no"}],
            },
        ]
    }
    assert translate(body)["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "three"}, {"type": "text", "text": "no"}]},
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"type": "tool", "name": "get_weather"}),
    ],
)
def test_tool_choice_mapping(choice: Any, expected: dict[str, Any]):
    out = translate({"messages": [user("x")], "tools": [WEATHER_TOOL_OPENAI], "tool_choice": choice})
    assert out["tool_choice"] == expected


def test_parallel_tool_calls_false_disables_parallel_use():
    base = {"messages": [user("x")], "tools": [WEATHER_TOOL_OPENAI], "parallel_tool_calls": False}
    assert translate(base)["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    required = translate({**base, "tool_choice": "required"})["tool_choice"]
    assert required == {"type": "any", "disable_parallel_tool_use": True}
    assert translate({**base, "tool_choice": "none"})["tool_choice"] == {"type": "none"}


def test_tool_choice_without_tools_is_dropped_and_missing_parameters_get_an_empty_schema():
    assert "tool_choice" not in translate({"messages": [user("x")], "tool_choice": "required"})
    tool = {"type": "function", "function": {"name": "now"}}
    out = translate({"messages": [user("x")], "tools": [tool]})
    assert out["tools"] == [{"name": "now", "input_schema": {"type": "object", "properties": {}}}]


def test_json_object_mode_becomes_a_system_instruction():
    out = translate({"messages": [user("List 3 colours")], "response_format": {"type": "json_object"}})
    assert len(out["system"]) == 1
    assert "only with a single valid JSON object" in out["system"][0]["text"]


def test_json_schema_mode_puts_the_schema_in_the_system_prompt_after_the_users_system():
    schema = {"type": "object", "properties": {"colours": {"type": "array", "items": {"type": "string"}}}}
    body = {
        "messages": [{"role": "system", "content": "Be brief."}, user("List 3 colours")],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "colours", "schema": schema, "strict": True},
        },
    }
    system = translate(body)["system"]
    assert system[0] == {"type": "text", "text": "Be brief."}
    assert "conforms to this JSON Schema" in system[1]["text"]
    assert system[1]["text"].endswith(orjson.dumps(schema).decode())
    text_format = translate({**body, "response_format": {"type": "text"}})
    assert text_format["system"] == [{"type": "text", "text": "Be brief."}]


def test_n_greater_than_one_is_refused_with_param_and_code():
    with pytest.raises(GatewayError) as err:
        translate({"messages": [user("x")], "n": 3})
    assert (err.value.status, err.value.param, err.value.code) == (400, "n", "unsupported_parameter")
    assert err.value.body()["error"]["type"] == "invalid_request_error"


def _error(body: dict[str, Any]) -> GatewayError:
    with pytest.raises(GatewayError) as err:
        translate(body)
    assert err.value.status == 400
    return err.value


def _assistant_call(arguments: Any) -> dict[str, Any]:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": arguments}}
    return {"role": "assistant", "tool_calls": [call]}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": "hi"}, "messages"),
        ({"messages": ["hi"]}, "messages[0]"),
        ({"messages": [{"role": "system", "content": "only system"}]}, "messages"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "function", "name": "f", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 42}]}, "messages[0].content"),
        ({"messages": [user([{"text": "no type"}])]}, "messages[0].content[0]"),
        ({"messages": [user([{"type": "text", "text": 5}])]}, "messages[0].content[0].text"),
        ({"messages": [user([{"type": "input_audio", "input_audio": {}}])]}, "messages[0].content[0].type"),
        (
            {"messages": [user([{"type": "image_url", "image_url": {}}])]},
            "messages[0].content[0].image_url.url",
        ),
        (
            {"messages": [user([{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}])]},
            "messages[0].content[0].image_url.url",
        ),
        (
            {"messages": [user([{"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}}])]},
            "messages[0].content[0].image_url.url",
        ),
        (
            {
                "messages": [
                    user([{"type": "image_url", "image_url": {"url": f"data:image/bmp;base64,{PNG_B64}"}}])
                ]
            },
            "messages[0].content[0].image_url.url",
        ),
        (
            {"messages": [user([{"type": "file", "file": {"file_id": "file-abc"}}])]},
            "messages[0].content[0].file",
        ),
        (
            {"messages": [user([{"type": "file", "file": {"file_data": "data:text/csv;base64,YSxi"}}])]},
            "messages[0].content[0].file.file_data",
        ),
        (
            {
                "messages": [
                    {"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://x"}}]}
                ]
            },
            "messages[0].content[0]",
        ),
        ({"messages": [user("x"), {"role": "assistant", "content": 3}]}, "messages[1].content"),
        (
            {"messages": [user("x"), {"role": "assistant", "content": [{"type": "image"}]}]},
            "messages[1].content[0]",
        ),
        ({"messages": [user("x"), {"role": "assistant", "tool_calls": {}}]}, "messages[1].tool_calls"),
        (
            {"messages": [user("x"), {"role": "assistant", "tool_calls": [{"id": "c"}]}]},
            "messages[1].tool_calls[0]",
        ),
        (
            {"messages": [user("x"), _assistant_call("{not json")]},
            "messages[1].tool_calls[0].function.arguments",
        ),
        (
            {"messages": [user("x"), _assistant_call("[1, 2]")]},
            "messages[1].tool_calls[0].function.arguments",
        ),
        (
            {
                "messages": [
                    user("x"),
                    {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": ""}}]},
                ]
            },
            "messages[1].tool_calls[0].function.name",
        ),
        ({"messages": [user("x"), {"role": "tool", "content": "r"}]}, "messages[1].tool_call_id"),
        (
            {"messages": [user("x"), {"role": "tool", "tool_call_id": "c", "content": 7}]},
            "messages[1].content",
        ),
        ({"messages": [user("x")], "max_tokens": 0}, "max_tokens"),
        ({"messages": [user("x")], "max_tokens": "100"}, "max_tokens"),
        ({"messages": [user("x")], "max_completion_tokens": 1.5}, "max_completion_tokens"),
        ({"messages": [user("x")], "temperature": "hot"}, "temperature"),
        ({"messages": [user("x")], "temperature": -0.1}, "temperature"),
        ({"messages": [user("x")], "top_p": True}, "top_p"),
        ({"messages": [user("x")], "stop": 5}, "stop"),
        ({"messages": [user("x")], "stop": ["a", None]}, "stop"),
        ({"messages": [user("x")], "tools": {"type": "function"}}, "tools"),
        ({"messages": [user("x")], "tools": [{"type": "web_search"}]}, "tools[0].type"),
        (
            {"messages": [user("x")], "tools": [{"type": "function", "function": {}}]},
            "tools[0].function.name",
        ),
        (
            {
                "messages": [user("x")],
                "tools": [{"type": "function", "function": {"name": "f", "parameters": "x"}}],
            },
            "tools[0].function.parameters",
        ),
        (
            {"messages": [user("x")], "tools": [WEATHER_TOOL_OPENAI], "tool_choice": "sometimes"},
            "tool_choice",
        ),
        (
            {"messages": [user("x")], "tools": [WEATHER_TOOL_OPENAI], "tool_choice": {"type": "function"}},
            "tool_choice.function.name",
        ),
        ({"messages": [user("x")], "response_format": {"type": "yaml"}}, "response_format.type"),
        ({"messages": [user("x")], "response_format": "json"}, "response_format.type"),
        (
            {
                "messages": [user("x")],
                "response_format": {"type": "json_schema", "json_schema": {"name": "n"}},
            },
            "response_format.json_schema.schema",
        ),
    ],
)
def test_bad_inputs_are_400_with_the_param_path(body: dict[str, Any], param: str):
    assert _error(body).param == param


@pytest.mark.parametrize("body", [None, [], "hi"])
def test_a_body_that_is_not_an_object(body: Any):
    with pytest.raises(GatewayError) as err:
        openai_to_anthropic_request(body, upstream_model=MODEL)
    assert err.value.param == "body"


def test_unsupported_content_parts_say_so_in_the_code():
    err = _error(
        {"messages": [user([{"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}}])]}
    )
    assert err.code == "unsupported_parameter"
    assert "input_audio" in err.message
