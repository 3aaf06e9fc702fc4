"""Anthropic responses and streams -> OpenAI shapes, checked with the openai SDK's own models."""

from __future__ import annotations

from typing import Any, cast

import httpx2  # the openai SDK's own HTTP client package (a fork of httpx)
import openai
import orjson
import pydantic
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from gateway.errors import GatewayError
from gateway.translate import (
    AnthropicToOpenAIStream,
    SSEParser,
    anthropic_to_openai_response,
    format_sse,
    openai_to_anthropic_request,
)
from tests.translate.translate_samples import (
    ANTHROPIC_MESSAGE,
    ANTHROPIC_TEXT_STREAM,
    ANTHROPIC_TOOL_MESSAGE,
    WEATHER_TOOL_OPENAI,
    anthropic_tool_stream,
)


def events_of(stream: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    parser = SSEParser()
    return [(name, orjson.loads(data)) for name, data in parser.feed(stream)]


def translate_stream(stream: bytes, **kwargs: Any) -> tuple[AnthropicToOpenAIStream, list[dict[str, Any]]]:
    converter = AnthropicToOpenAIStream(model="claude-sonnet-4-5", request_id="chatcmpl-test", **kwargs)
    chunks: list[dict[str, Any]] = []
    for name, data in events_of(stream):
        chunks.extend(converter.feed(name, data))
    return converter, chunks


def accumulate(chunks: list[dict[str, Any]]) -> Any:
    """The openai SDK's own stream accumulator, as `client.chat.completions.stream` uses it."""
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    return state.get_final_completion()


def test_text_message_with_cache_usage():
    out = anthropic_to_openai_response(ANTHROPIC_MESSAGE, model="claude-sonnet-4-5", request_id="chatcmpl-1")
    completion = ChatCompletion.model_validate(out)
    assert completion.id == "chatcmpl-1"
    assert completion.object == "chat.completion"
    assert completion.model == "claude-sonnet-4-5"
    assert completion.choices[0].message.content == "Hi! My name is Claude."
    assert completion.choices[0].message.tool_calls is None
    assert completion.choices[0].finish_reason == "stop"
    assert out["usage"] == {
        "prompt_tokens": 2095 + 4096 + 2051,
        "completion_tokens": 503,
        "total_tokens": 2095 + 4096 + 2051 + 503,
        "prompt_tokens_details": {"cached_tokens": 4096},
    }


def test_tool_use_message_becomes_tool_calls_with_json_string_arguments():
    out = anthropic_to_openai_response(ANTHROPIC_TOOL_MESSAGE, model="claude-sonnet-4-5")
    completion = ChatCompletion.model_validate(out)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert (
        choice.message.content == "I'll check the current weather in San Francisco for you."
    )  # thinking dropped
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.id == "toolu_01A09q90qw90lq917835lq9"
    assert call.model_dump()["function"]["name"] == "get_weather"
    arguments = call.model_dump()["function"]["arguments"]
    assert orjson.loads(arguments) == {"location": "San Francisco, CA", "unit": "celsius"}
    assert out["id"].startswith("chatcmpl-")
    assert out["usage"]["prompt_tokens"] == 384


def test_tool_only_message_has_null_content():
    msg = {**ANTHROPIC_TOOL_MESSAGE, "content": ANTHROPIC_TOOL_MESSAGE["content"][2:]}
    out = anthropic_to_openai_response(msg, model="m")
    assert out["choices"][0]["message"]["content"] is None
    ChatCompletion.model_validate(out)


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, "stop"),
    ],
)
def test_stop_reasons(stop_reason: str | None, finish_reason: str):
    out = anthropic_to_openai_response({**ANTHROPIC_MESSAGE, "stop_reason": stop_reason}, model="m")
    assert out["choices"][0]["finish_reason"] == finish_reason


def test_empty_content_and_missing_usage():
    out = anthropic_to_openai_response({"id": "msg_1", "content": [], "stop_reason": "max_tokens"}, model="m")
    completion = ChatCompletion.model_validate(out)
    assert completion.choices[0].message.content == ""
    assert out["usage"]["total_tokens"] == 0


def test_documented_text_stream():
    converter, chunks = translate_stream(ANTHROPIC_TEXT_STREAM)
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk)
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"role": "assistant", "content": "", "refusal": None},
        {"content": "Hello"},
        {"content": "!"},
        {},
    ]
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None, None, None, "stop"]
    assert {c["id"] for c in chunks} == {"chatcmpl-test"}
    assert len({c["created"] for c in chunks}) == 1
    assert converter.done and converter.finish_reason == "stop"
    assert (converter.input_tokens, converter.output_tokens) == (25, 15)
    final = accumulate(chunks)
    assert final.choices[0].message.content == "Hello!"


def test_documented_tool_stream_arguments_arrive_in_many_deltas():
    converter, chunks = translate_stream(anthropic_tool_stream())
    argument_chunks = [
        c
        for c in chunks
        if c["choices"][0]["delta"].get("tool_calls", [{}])[0].get("function", {}).get("arguments")
    ]
    assert len(argument_chunks) == 8  # the empty first partial_json is not forwarded
    start = next(c for c in chunks if "tool_calls" in c["choices"][0]["delta"])
    assert start["choices"][0]["delta"]["tool_calls"] == [
        {
            "index": 0,
            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "type": "function",
            "function": {"name": "get_weather", "arguments": ""},
        }
    ]
    final = accumulate(chunks)
    message = final.choices[0].message
    assert message.content == "Okay, let's check the weather for San Francisco, CA:"
    assert message.tool_calls[0].id == "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
    assert orjson.loads(message.tool_calls[0].function.arguments) == {
        "location": "San Francisco, CA",
        "unit": "fahrenheit",
    }
    assert final.choices[0].finish_reason == "tool_calls"
    assert converter.usage == {
        "prompt_tokens": 472 + 1024 + 128,
        "completion_tokens": 89,
        "total_tokens": 472 + 1024 + 128 + 89,
        "prompt_tokens_details": {"cached_tokens": 1024},
    }


def test_two_tool_use_blocks_get_tool_indexes_0_and_1():
    converter = AnthropicToOpenAIStream(model="m")
    chunks = converter.feed(
        "message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 3}}}
    )
    for block_index, tool_id in ((0, "toolu_a"), (1, "toolu_b")):
        block = {"type": "tool_use", "id": tool_id, "name": "f", "input": {}}
        chunks += converter.feed(
            "content_block_start",
            {"type": "content_block_start", "index": block_index, "content_block": block},
        )
        for part in ('{"n": ', f"{block_index}}}"):
            delta = {"type": "input_json_delta", "partial_json": part}
            chunks += converter.feed(
                "content_block_delta", {"type": "content_block_delta", "index": block_index, "delta": delta}
            )
    calls = accumulate(chunks).choices[0].message.tool_calls
    assert [(c.id, orjson.loads(c.function.arguments)) for c in calls] == [
        ("toolu_a", {"n": 0}),
        ("toolu_b", {"n": 1}),
    ]


def test_usage_chunk_for_include_usage():
    converter, _ = translate_stream(anthropic_tool_stream())
    chunk = converter.usage_chunk()
    parsed = ChatCompletionChunk.model_validate(chunk)
    assert parsed.choices == []
    assert parsed.usage is not None and parsed.usage.prompt_tokens == 1624
    assert parsed.usage.model_dump()["prompt_tokens_details"]["cached_tokens"] == 1024


def test_a_stream_cut_short_still_reports_what_was_used():
    events = events_of(anthropic_tool_stream())[:8]  # up to the first tool delta; no message_delta
    converter = AnthropicToOpenAIStream(model="m")
    for name, data in events:
        converter.feed(name, data)
    assert not converter.done and converter.finish_reason is None
    assert converter.input_tokens == 472
    assert converter.cache_read_input_tokens == 1024
    assert converter.cache_creation_input_tokens == 128
    assert converter.prompt_tokens == 1624
    assert converter.output_tokens == 2  # the message_start figure until a message_delta corrects it


def test_message_delta_with_cumulative_input_usage_overwrites():
    converter = AnthropicToOpenAIStream(model="m")
    converter.feed("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 0}}})
    usage = {"input_tokens": 30, "output_tokens": 12, "cache_read_input_tokens": 7}
    converter.feed(
        "message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": usage}
    )
    assert (converter.input_tokens, converter.output_tokens, converter.cache_read_input_tokens) == (30, 12, 7)


def test_ping_unknown_and_thinking_events_produce_nothing():
    converter = AnthropicToOpenAIStream(model="m")
    converter.feed("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 1}}})
    thinking = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": ""},
    }
    assert converter.feed("content_block_start", thinking) == []
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "thinking_delta", "thinking": "hmm"},
    }
    assert converter.feed("content_block_delta", delta) == []
    signature = {"type": "signature_delta", "signature": "EqQB"}
    assert (
        converter.feed("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": signature})
        == []
    )
    assert converter.feed("ping", {"type": "ping"}) == []
    assert converter.feed("future_event", {"type": "future_event"}) == []
    assert converter.feed("content_block_stop", {"type": "content_block_stop", "index": 0}) == []


def test_first_chunk_is_sent_even_without_message_start():
    converter = AnthropicToOpenAIStream(model="m")
    block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "Hi"}}
    chunks = converter.feed(None, block)
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"role": "assistant", "content": "", "refusal": None},
        {"content": "Hi"},
    ]


@pytest.mark.parametrize(
    ("error_type", "status"), [("overloaded_error", 503), ("api_error", 502), ("rate_limit_error", 429)]
)
def test_error_event_raises_a_gateway_error(error_type: str, status: int):
    converter = AnthropicToOpenAIStream(model="m")
    with pytest.raises(GatewayError) as err:
        converter.feed("error", {"type": "error", "error": {"type": error_type, "message": "Overloaded"}})
    assert err.value.status == status
    assert err.value.code == error_type
    assert "Overloaded" in err.value.message


def test_openai_sdk_client_streams_through_the_translation():
    """The real openai client, talking to a handler that translates to Anthropic and back."""
    seen: dict[str, Any] = {}

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = orjson.loads(request.content)
        seen["anthropic_request"] = openai_to_anthropic_request(body, upstream_model="claude-sonnet-4-5")
        converter = AnthropicToOpenAIStream(model=body["model"])
        frames = []
        parser = SSEParser()
        stream = anthropic_tool_stream()
        for i in range(0, len(stream), 37):  # odd network chunk sizes
            for name, data in parser.feed(stream[i : i + 37]):
                frames += [format_sse(None, chunk) for chunk in converter.feed(name, orjson.loads(data))]
        frames += [format_sse(None, converter.usage_chunk()), format_sse(None, "[DONE]")]
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=b"".join(frames))

    client = openai.OpenAI(
        api_key="sk-test",
        base_url="http://gateway/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    with client.chat.completions.stream(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Weather in SF?"}],
        tools=[cast(Any, WEATHER_TOOL_OPENAI)],
        stream_options={"include_usage": True},
    ) as stream:
        final = stream.get_final_completion()
    assert seen["anthropic_request"]["stream"] is True
    assert seen["anthropic_request"]["tools"][0]["name"] == "get_weather"
    call = final.model_dump()["choices"][0]["message"]["tool_calls"][0]
    assert orjson.loads(call["function"]["arguments"]) == {
        "location": "San Francisco, CA",
        "unit": "fahrenheit",
    }
    assert final.usage is not None and final.usage.completion_tokens == 89


def test_a_tool_without_parameters_gets_empty_object_arguments_when_streamed():
    """Anthropic streams a parameterless tool call as its start and one empty partial_json; OpenAI's
    arguments are always a JSON object, and the SDK's stream helpers parse them."""
    converter = AnthropicToOpenAIStream(model="claude-sonnet-4-5", request_id="chatcmpl-test")
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 10}}}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "tool_use", "id": "toolu_01", "name": "roll_die", "input": {}},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": ""},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}},
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    chunks = [chunk for name, data in events for chunk in converter.feed(name, data)]

    class RollDie(pydantic.BaseModel):
        pass

    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState(
        input_tools=[openai.pydantic_function_tool(RollDie, name="roll_die")]
    )
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    final = state.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert call.function.arguments == "{}"
    assert call.function.parsed_arguments == RollDie()
    assert final.choices[0].finish_reason == "tool_calls"


def test_a_streamed_tool_with_arguments_gets_no_extra_object_at_its_end():
    _, chunks = translate_stream(anthropic_tool_stream())
    arguments = "".join(
        call["function"].get("arguments", "")
        for chunk in chunks
        for call in chunk["choices"][0]["delta"].get("tool_calls", ())
    )
    assert orjson.loads(arguments) == {"location": "San Francisco, CA", "unit": "fahrenheit"}
