"""OpenAI responses and streams -> Anthropic shapes, checked with the anthropic SDK's own models."""

from __future__ import annotations

from typing import Any, cast

import anthropic
import httpx2  # the anthropic SDK's own HTTP client package (a fork of httpx)
import orjson
import pydantic
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message, RawMessageStreamEvent

from gateway.errors import GatewayError
from gateway.translate import (
    OpenAIToAnthropicStream,
    SSEParser,
    anthropic_to_openai_request,
    format_sse,
    openai_to_anthropic_response,
    validate_anthropic_request,
)
from tests.translate.translate_samples import (
    OPENAI_COMPLETION,
    OPENAI_TOOL_COMPLETION,
    WEATHER_TOOL_ANTHROPIC,
    openai_chunk,
    openai_text_stream,
    openai_tool_stream,
    openai_usage_chunk,
)

EVENT = pydantic.TypeAdapter(RawMessageStreamEvent)


def run(chunks: list[dict[str, Any]], *, finish: bool = True) -> tuple[OpenAIToAnthropicStream, list[Any]]:
    converter = OpenAIToAnthropicStream(model="claude-sonnet-4-5", message_id="msg_test")
    events: list[Any] = []
    for chunk in chunks:
        events.extend(converter.feed(chunk))
    if finish:
        events.extend(converter.finish())
    return converter, events


def accumulate(events: list[tuple[str, dict[str, Any]]]) -> Message:
    """The anthropic SDK's own accumulator, as `client.messages.stream` uses it; validates every event."""
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for name, data in events:
        assert data["type"] == name
        snapshot = accumulate_event(
            event=EVENT.validate_python(data), current_snapshot=snapshot, json_bufs=json_bufs
        )
    assert snapshot is not None
    return Message.model_validate(snapshot.model_dump())


def blocks(message: Message) -> list[dict[str, Any]]:
    """Content blocks as plain dicts (the SDK types them as a wide union)."""
    return [block.model_dump() for block in message.content]


def test_text_completion_with_cached_usage():
    out = openai_to_anthropic_response(OPENAI_COMPLETION, model="gpt-4.1")
    message = Message.model_validate(out)
    assert message.id.startswith("msg_") and message.type == "message" and message.role == "assistant"
    assert message.model == "gpt-4.1"
    assert [b.model_dump() for b in message.content] == [
        {"type": "text", "text": "Hello! How can I assist you today?", "citations": None}
    ]
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    assert out["usage"] == {"input_tokens": 1919 - 1792, "output_tokens": 10, "cache_read_input_tokens": 1792}


def test_parallel_tool_calls_become_tool_use_blocks_with_parsed_input():
    out = openai_to_anthropic_response(OPENAI_TOOL_COMPLETION, model="gpt-4o-mini")
    message = Message.model_validate(out)
    assert message.stop_reason == "tool_use"
    assert [(b["type"], b["id"], b["name"], b["input"]) for b in blocks(message)] == [
        ("tool_use", "call_abc123", "get_weather", {"location": "Boston, MA"}),
        ("tool_use", "call_def456", "get_weather", {"location": "Paris", "unit": "celsius"}),
    ]
    assert out["usage"] == {"input_tokens": 82, "output_tokens": 17, "cache_read_input_tokens": 0}


@pytest.mark.parametrize(
    ("finish_reason", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("function_call", "tool_use"),
        ("content_filter", "refusal"),
        (None, "end_turn"),
    ],
)
def test_finish_reasons(finish_reason: str | None, stop_reason: str):
    resp = {
        **OPENAI_COMPLETION,
        "choices": [{**OPENAI_COMPLETION["choices"][0], "finish_reason": finish_reason}],
    }
    assert Message.model_validate(openai_to_anthropic_response(resp, model="m")).stop_reason == stop_reason


def test_vllm_matched_stop_string_becomes_stop_sequence():
    choice = {**OPENAI_COMPLETION["choices"][0], "finish_reason": "stop", "stop_reason": "END"}
    out = openai_to_anthropic_response({**OPENAI_COMPLETION, "choices": [choice]}, model="llama")
    assert (out["stop_reason"], out["stop_sequence"]) == ("stop_sequence", "END")
    eos = {**choice, "stop_reason": 128009}  # vLLM reports a stop token id as an int: that is end_turn
    assert (
        openai_to_anthropic_response({**OPENAI_COMPLETION, "choices": [eos]}, model="llama")["stop_reason"]
        == "end_turn"
    )


def test_content_as_parts_empty_content_and_missing_usage():
    parts = {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    resp = {"id": "x", "choices": [{"index": 0, "message": parts, "finish_reason": "stop"}]}
    out = openai_to_anthropic_response(resp, model="m")
    assert out["content"] == [{"type": "text", "text": "ab"}]
    assert out["usage"] == {"input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0}
    empty = {
        "id": "x",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": "stop"}],
    }
    assert Message.model_validate(openai_to_anthropic_response(empty, model="m")).content == []


def test_no_choices_is_an_upstream_error():
    with pytest.raises(GatewayError) as err:
        openai_to_anthropic_response({"id": "x", "choices": []}, model="m")
    assert err.value.status == 502


@pytest.mark.parametrize("arguments", ['{"location": "Bos', "[1, 2]", '"text"'])
def test_broken_tool_arguments_from_the_model_are_an_upstream_error(arguments: str):
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": arguments}}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    resp = {"id": "x", "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}
    with pytest.raises(GatewayError) as err:
        openai_to_anthropic_response(resp, model="m")
    assert (err.value.status, err.value.code) == (502, "upstream_bad_tool_call")


def test_empty_tool_arguments_mean_an_empty_input():
    call = {"id": "call_1", "type": "function", "function": {"name": "now", "arguments": ""}}
    resp = {
        "id": "x",
        "choices": [{"index": 0, "message": {"tool_calls": [call]}, "finish_reason": "tool_calls"}],
    }
    assert openai_to_anthropic_response(resp, model="m")["content"][0]["input"] == {}


def test_text_stream_events_in_anthropic_order():
    converter, events = run(openai_text_stream(), finish=False)
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[0][1]["message"]["usage"] == {"input_tokens": 0, "output_tokens": 0}
    assert events[6][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 9, "input_tokens": 1024, "cache_read_input_tokens": 1024},
    }
    message = accumulate(events)
    assert blocks(message)[0]["text"] == "Hello! How can I help?"
    assert message.usage.input_tokens == 1024 and message.usage.output_tokens == 9
    assert converter.done and converter.finish() == []  # finish after a clean end adds nothing
    assert converter.feed(openai_chunk({"content": "late"})) == []


def test_tool_stream_two_parallel_calls_with_arguments_in_many_deltas():
    converter, events = run(openai_tool_stream())
    names = [name for name, _ in events]
    assert names.count("content_block_start") == 2 and names.count("content_block_stop") == 2
    assert names.count("content_block_delta") == 11  # 7 + 4 argument fragments, empty ones skipped
    assert names[-2:] == ["message_delta", "message_stop"]
    first_start = events[names.index("content_block_start")][1]
    assert first_start == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {
            "type": "tool_use",
            "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
            "name": "get_weather",
            "input": {},
        },
    }
    message = accumulate(events)
    assert message.stop_reason == "tool_use"
    assert [(b["id"], b["input"]) for b in blocks(message)] == [
        ("call_DdmO9pD3xa9XTPNJ32zg2hcA", {"location": "Paris, France"}),
        ("call_9c2a7b", {"location": "Bogotá, Colombia", "unit": "celsius"}),
    ]
    assert (converter.input_tokens, converter.output_tokens) == (120, 48)


def test_text_then_tool_call_closes_the_text_block_first():
    chunks = [
        openai_chunk({"role": "assistant", "content": "Let me look."}),
        openai_chunk(
            {"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f"}}]}
        ),
        openai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":1}'}}]}),
        openai_chunk({}, "tool_calls"),
    ]
    _, events = run(chunks)
    kinds = [(name, data.get("index")) for name, data in events]
    assert kinds[:6] == [
        ("message_start", None),
        ("content_block_start", 0),
        ("content_block_delta", 0),
        ("content_block_stop", 0),
        ("content_block_start", 1),
        ("content_block_delta", 1),
    ]
    message = accumulate(events)
    assert blocks(message)[0]["text"] == "Let me look." and blocks(message)[1]["input"] == {"a": 1}


def test_upstream_without_finish_reason_or_usage_is_closed_by_finish():
    converter, events = run([openai_chunk({"role": "assistant", "content": "Partial ans"})])
    assert [name for name, _ in events][-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert events[-2][1]["usage"] == {"output_tokens": 0}
    message = accumulate(events)
    assert message.stop_reason == "end_turn" and blocks(message)[0]["text"] == "Partial ans"
    assert converter.done


def test_finish_on_an_empty_upstream_still_gives_a_complete_message():
    _, events = run([])
    assert [name for name, _ in events] == ["message_start", "message_delta", "message_stop"]
    assert accumulate(events).content == []


def test_finish_reason_and_usage_in_the_same_chunk_end_at_once():
    chunk = openai_chunk({"content": "ok"}, "length", usage=openai_usage_chunk(5, 1)["usage"])
    converter, events = run([chunk], finish=False)
    assert [name for name, _ in events][-2:] == ["message_delta", "message_stop"]
    assert events[-2][1]["delta"]["stop_reason"] == "max_tokens"
    assert converter.done


def test_usage_before_finish_is_held_until_the_finish_reason():
    converter = OpenAIToAnthropicStream(model="m", input_tokens=42)
    start = converter.feed(
        openai_chunk({"role": "assistant", "content": "a"}, usage=openai_usage_chunk(50, 1)["usage"])
    )
    assert (
        start[0][1]["message"]["usage"]["input_tokens"] == 42
    )  # the caller's estimate, before usage was seen
    assert not converter.done
    end = converter.feed(openai_chunk({}, "stop"))
    assert [name for name, _ in end] == ["content_block_stop", "message_delta", "message_stop"]
    assert end[1][1]["usage"]["input_tokens"] == 50


def test_vllm_stop_string_in_stream():
    chunk = openai_chunk({"content": "done"}, "stop")
    chunk["choices"][0]["stop_reason"] = "###"
    _, events = run([chunk, openai_usage_chunk(3, 2)])
    assert events[-2][1]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "###"}


def test_refusal_deltas_become_text_and_other_choices_are_ignored():
    other = openai_chunk({"content": "from choice 1"})
    other["choices"][0]["index"] = 1
    _, events = run(
        [openai_chunk({"refusal": "I can't help with that."}), other, openai_chunk({}, "content_filter")]
    )
    message = accumulate(events)
    assert blocks(message)[0]["text"] == "I can't help with that."
    assert message.stop_reason == "refusal"


def test_error_object_in_the_stream_raises():
    converter = OpenAIToAnthropicStream(model="m")
    with pytest.raises(GatewayError) as err:
        converter.feed({"error": {"message": "The server had an error", "type": "server_error"}})
    assert err.value.status == 502 and "The server had an error" in err.value.message


def test_anthropic_sdk_client_streams_through_the_translation():
    """The real anthropic client against a handler that validates, translates to OpenAI, and streams back."""
    seen: dict[str, Any] = {}

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = orjson.loads(request.content)
        validate_anthropic_request(body)
        seen["openai_request"] = anthropic_to_openai_request(body, upstream_model="gpt-4o")
        converter = OpenAIToAnthropicStream(model=body["model"])
        upstream = b"".join(format_sse(None, c) for c in openai_tool_stream()) + format_sse(None, "[DONE]")
        parser = SSEParser()
        frames = []
        for i in range(0, len(upstream), 23):
            for _, data in parser.feed(upstream[i : i + 23]):
                events = converter.finish() if data == "[DONE]" else converter.feed(orjson.loads(data))
                frames += [format_sse(name, payload) for name, payload in events]
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=b"".join(frames))

    client = anthropic.Anthropic(
        api_key="sk-ant-test",
        base_url="http://gateway",
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    with client.messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=512,
        tools=[cast(Any, WEATHER_TOOL_ANTHROPIC)],
        messages=[{"role": "user", "content": "Weather in Paris and Bogotá?"}],
    ) as stream:
        final = stream.get_final_message()
    assert seen["openai_request"]["stream_options"] == {"include_usage": True}
    assert final.stop_reason == "tool_use"
    assert [b["input"] for b in blocks(final)] == [
        {"location": "Paris, France"},
        {"location": "Bogotá, Colombia", "unit": "celsius"},
    ]
    assert (final.usage.input_tokens, final.usage.output_tokens) == (120, 48)


def test_anthropic_sdk_client_non_streamed():
    def handler(request: httpx2.Request) -> httpx2.Response:
        body = orjson.loads(request.content)
        validate_anthropic_request(body)
        return httpx2.Response(
            200, json=openai_to_anthropic_response(OPENAI_TOOL_COMPLETION, model=body["model"])
        )

    client = anthropic.Anthropic(
        api_key="sk-ant-test",
        base_url="http://gateway",
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    message = client.messages.create(
        model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "Weather?"}]
    )
    assert message.stop_reason == "tool_use" and blocks(message)[1]["input"]["unit"] == "celsius"


def test_a_forced_tool_call_finishing_with_stop_is_tool_use():
    """OpenAI answers a named tool_choice with finish_reason "stop" and the tool calls; an Anthropic
    client's agent loop looks for stop_reason "tool_use"."""
    choice = {**OPENAI_TOOL_COMPLETION["choices"][0], "finish_reason": "stop"}
    out = openai_to_anthropic_response({**OPENAI_TOOL_COMPLETION, "choices": [choice]}, model="gpt-4o")
    assert out["stop_reason"] == "tool_use" and out["content"][-1]["type"] == "tool_use"
    plain = openai_to_anthropic_response(OPENAI_COMPLETION, model="gpt-4o")
    assert OPENAI_COMPLETION["choices"][0]["finish_reason"] == "stop" and plain["stop_reason"] == "end_turn"


def test_a_forced_tool_call_stream_finishing_with_stop_is_tool_use():
    chunks = openai_tool_stream()
    finish = next(i for i, c in enumerate(chunks) if c["choices"] and c["choices"][0].get("finish_reason"))
    chunks[finish] = openai_chunk({}, "stop")
    _, events = run(chunks)
    assert accumulate(events).stop_reason == "tool_use"
    _, text_events = run(openai_text_stream())
    assert accumulate(text_events).stop_reason == "end_turn"
