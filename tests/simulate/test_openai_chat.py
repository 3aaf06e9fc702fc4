"""The OpenAI chat completions endpoint, driven through the official openai SDK."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import jsonschema
import openai
import pytest
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from gateway.simulate import SimServer
from gateway.simulate.tokens import TokenCounter

from .conftest import OPENAI_KEY

USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "What is the capital of France?"}]
WEATHER_TOOL: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "unit"],
        },
    },
}
TIME_TOOL: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
    },
}


async def test_non_streamed_reply_echoes_the_prompt_with_the_default_length(
    openai_client: AsyncOpenAI,
) -> None:
    raw = await openai_client.chat.completions.with_raw_response.create(model="gpt-4o", messages=USER)
    reply = raw.parse()
    assert raw.headers["x-simulated"] == "true"
    assert raw.headers["x-request-id"] == reply.id
    assert reply.object == "chat.completion"
    assert reply.model == "gpt-4o"
    assert reply.id.startswith("chatcmpl-")
    assert len(reply.choices) == 1
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content is not None
    assert choice.message.content.startswith("Simulated answer to: What is the capital of France?")
    assert choice.finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 16
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


async def test_same_prompt_gives_the_same_text(openai_client: AsyncOpenAI) -> None:
    first = await openai_client.chat.completions.create(model="gpt-4o", messages=USER)
    second = await openai_client.chat.completions.create(model="gpt-4o", messages=USER)
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.id != second.id


async def test_prompt_tokens_follow_tiktoken_chat_counting(
    openai_client: AsyncOpenAI, token_counter: TokenCounter
) -> None:
    messages: list[Any] = [{"role": "system", "content": "Be brief."}, *USER]
    reply = await openai_client.chat.completions.create(model="gpt-4o", messages=messages)
    expected = 3 + sum(
        3 + token_counter.count(m["role"]) + token_counter.count(m["content"]) for m in messages
    )
    assert token_counter.exact
    assert reply.usage is not None and reply.usage.prompt_tokens == expected


async def test_stream_sends_one_token_per_chunk_and_usage_last(openai_client: AsyncOpenAI) -> None:
    stream = await openai_client.chat.completions.create(
        model="gpt-4o", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) == 16
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finals] == ["stop"]
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None and usage_chunk.usage.completion_tokens == 16
    assert all(c.usage is None for c in chunks[:-1])
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    plain = await openai_client.chat.completions.create(model="gpt-4o", messages=USER)
    assert text == plain.choices[0].message.content


async def test_stream_without_include_usage_has_no_usage_chunk(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    body = {"model": "gpt-4o", "messages": USER, "stream": True}
    headers = {"Authorization": f"Bearer {OPENAI_KEY}"}
    async with http.post(sim.url + "/openai/v1/chat/completions", json=body, headers=headers) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["x-simulated"] == "true"
        raw = await response.text()
    events = [e for e in raw.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    payloads = [json.loads(e[6:]) for e in events[:-1]]
    assert all("usage" not in p for p in payloads)
    assert all(p["choices"] for p in payloads)


async def test_n_returns_n_distinct_indexed_choices(openai_client: AsyncOpenAI) -> None:
    reply = await openai_client.chat.completions.create(model="gpt-4o", messages=USER, n=3)
    assert [c.index for c in reply.choices] == [0, 1, 2]
    texts = [c.message.content for c in reply.choices]
    assert len(set(texts)) == 3
    assert reply.usage is not None and reply.usage.completion_tokens == 3 * 16


async def test_n_streamed_interleaves_choices(openai_client: AsyncOpenAI) -> None:
    stream = await openai_client.chat.completions.create(model="gpt-4o", messages=USER, n=2, stream=True)
    texts = {0: "", 1: ""}
    finishes = {}
    async for chunk in stream:
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
            if choice.finish_reason:
                finishes[choice.index] = choice.finish_reason
    reply = await openai_client.chat.completions.create(model="gpt-4o", messages=USER, n=2)
    assert texts == {c.index: c.message.content for c in reply.choices}
    assert finishes == {0: "stop", 1: "stop"}


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
async def test_max_tokens_truncates_with_finish_length(openai_client: AsyncOpenAI, field: str) -> None:
    limit: dict[str, Any] = {field: 4}
    reply = await openai_client.chat.completions.create(model="gpt-4o", messages=USER, **limit)
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 4
    assert reply.choices[0].message.content == "Simulated answer to"  # "Sim" "ulated" " answer" " to"


async def test_max_tokens_above_the_reply_length_finishes_with_stop(openai_client: AsyncOpenAI) -> None:
    reply = await openai_client.chat.completions.create(model="gpt-4o", messages=USER, max_tokens=500)
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.completion_tokens == 16


async def test_stop_sequence_cuts_the_reply_before_it(openai_client: AsyncOpenAI) -> None:
    reply = await openai_client.chat.completions.create(model="gpt-4o", messages=USER, stop=["capital"])
    assert reply.choices[0].message.content == "Simulated answer to: What is the "
    assert reply.choices[0].finish_reason == "stop"
    streamed = await openai_client.chat.completions.create(
        model="gpt-4o", messages=USER, stop="capital", stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in streamed if c.choices])
    assert text == "Simulated answer to: What is the "


async def test_stop_sequence_spanning_tokens_is_found(openai_client: AsyncOpenAI) -> None:
    reply = await openai_client.chat.completions.create(model="gpt-4o", messages=USER, stop=["answer to: Wh"])
    assert reply.choices[0].message.content == "Simulated "


@pytest.mark.parametrize(
    "extra",
    [
        {"temperature": 2.5},
        {"temperature": -1},
        {"top_p": 1.5},
        {"n": 0},
        {"max_tokens": 0},
        {"stop": ["a", "b", "c", "d", "e"]},
        {"stream_options": {"include_usage": True}},
        {"tool_choice": "required"},
        {"response_format": {"type": "xml"}},
    ],
)
async def test_invalid_parameters_are_400(openai_client: AsyncOpenAI, extra: dict) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.chat.completions.create(model="gpt-4o", messages=USER, **extra)
    assert caught.value.status_code == 400
    assert caught.value.body is not None


async def test_temperature_is_accepted_and_the_reply_stays_deterministic(openai_client: AsyncOpenAI) -> None:
    cold = await openai_client.chat.completions.create(model="gpt-4o", messages=USER, temperature=0)
    warm = await openai_client.chat.completions.create(model="gpt-4o", messages=USER, temperature=1.7)
    assert cold.choices[0].message.content == warm.choices[0].message.content


@pytest.mark.parametrize(
    "body",
    [
        {"messages": USER},
        {"model": "gpt-4o"},
        {"model": "gpt-4o", "messages": []},
        {"model": "gpt-4o", "messages": [{"role": "wizard", "content": "hi"}]},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": 42}]},
        {"model": "gpt-4o", "messages": USER, "stream": "yes"},
        {"model": "gpt-4o", "messages": USER, "n": "2"},
        {"model": "gpt-4o", "messages": USER, "tools": [{"type": "function", "function": {}}]},
        ["not", "an", "object"],
    ],
)
async def test_malformed_requests_are_400_in_openai_shape(
    sim: SimServer, http: aiohttp.ClientSession, body: object
) -> None:
    headers = {"Authorization": f"Bearer {OPENAI_KEY}"}
    async with http.post(sim.url + "/openai/v1/chat/completions", json=body, headers=headers) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"]


async def test_body_that_is_not_json_is_400(sim: SimServer, http: aiohttp.ClientSession) -> None:
    headers = {"Authorization": f"Bearer {OPENAI_KEY}", "Content-Type": "application/json"}
    async with http.post(sim.url + "/openai/v1/chat/completions", data=b"{oops", headers=headers) as response:
        assert response.status == 400
        assert "parse the JSON" in (await response.json())["error"]["message"]


async def test_tool_named_in_the_prompt_is_called_with_schema_valid_arguments(
    openai_client: AsyncOpenAI,
) -> None:
    messages: list[Any] = [{"role": "user", "content": "Please call get_weather for Paris"}]
    reply = await openai_client.chat.completions.create(
        model="gpt-4o", messages=messages, tools=[TIME_TOOL, WEATHER_TOOL]
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None and len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.id.startswith("call_")
    assert call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    jsonschema.validate(arguments, WEATHER_TOOL["function"]["parameters"])


async def test_prompt_without_tool_mention_gets_text_even_with_tools(openai_client: AsyncOpenAI) -> None:
    reply = await openai_client.chat.completions.create(model="gpt-4o", messages=USER, tools=[WEATHER_TOOL])
    assert reply.choices[0].finish_reason == "stop"
    assert reply.choices[0].message.tool_calls is None


async def test_tool_choice_forces_the_named_tool(openai_client: AsyncOpenAI) -> None:
    reply = await openai_client.chat.completions.create(
        model="gpt-4o",
        messages=USER,
        tools=[WEATHER_TOOL, TIME_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    calls = reply.choices[0].message.tool_calls
    assert calls is not None and calls[0].function.name == "get_time"  # type: ignore[union-attr]
    # OpenAI ends a call to the tool named in tool_choice with "stop", not "tool_calls", streamed too.
    assert reply.choices[0].finish_reason == "stop"
    stream = await openai_client.chat.completions.create(
        model="gpt-4o",
        messages=USER,
        tools=[WEATHER_TOOL, TIME_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
        stream=True,
    )
    finishes = [c.choices[0].finish_reason async for c in stream if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]


async def test_tool_choice_required_calls_a_tool_and_none_never_does(openai_client: AsyncOpenAI) -> None:
    required = await openai_client.chat.completions.create(
        model="gpt-4o", messages=USER, tools=[WEATHER_TOOL], tool_choice="required"
    )
    assert required.choices[0].finish_reason == "tool_calls"
    messages: list[Any] = [{"role": "user", "content": "use the get_weather tool"}]
    none = await openai_client.chat.completions.create(
        model="gpt-4o", messages=messages, tools=[WEATHER_TOOL], tool_choice="none"
    )
    assert none.choices[0].finish_reason == "stop"


async def test_unknown_forced_tool_is_400(openai_client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        await openai_client.chat.completions.create(
            model="gpt-4o",
            messages=USER,
            tools=[WEATHER_TOOL],
            tool_choice={"type": "function", "function": {"name": "launch_rockets"}},
        )


async def test_tool_result_gets_a_text_answer_about_it(openai_client: AsyncOpenAI) -> None:
    first = await openai_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "use a tool please"}], tools=[WEATHER_TOOL]
    )
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    messages: list[Any] = [
        {"role": "user", "content": "use a tool please"},
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny and 21 degrees"},
    ]
    second = await openai_client.chat.completions.create(
        model="gpt-4o", messages=messages, tools=[WEATHER_TOOL]
    )
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content is not None
    assert second.choices[0].message.content.startswith("Simulated answer to: Sunny and 21 degrees")


async def test_streamed_tool_call_arrives_as_argument_deltas(openai_client: AsyncOpenAI) -> None:
    stream = await openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "what is the weather? use get_weather"}],
        tools=[WEATHER_TOOL],
        stream=True,
    )
    chunks = [c async for c in stream]
    head = chunks[0].choices[0].delta
    assert head.tool_calls is not None
    assert head.tool_calls[0].id is not None and head.tool_calls[0].function is not None
    assert head.tool_calls[0].function.name == "get_weather"
    assert head.tool_calls[0].function.arguments == ""
    pieces = [
        c.choices[0].delta.tool_calls[0].function.arguments  # type: ignore[index,union-attr]
        for c in chunks[1:]
        if c.choices and c.choices[0].delta.tool_calls
    ]
    assert len(pieces) > 2
    assert all(
        c.choices[0].delta.tool_calls[0].id is None  # type: ignore[index]
        for c in chunks[1:]
        if c.choices and c.choices[0].delta.tool_calls
    )
    jsonschema.validate(json.loads("".join(pieces)), WEATHER_TOOL["function"]["parameters"])  # type: ignore[arg-type]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


async def test_json_object_mode_returns_a_json_object(openai_client: AsyncOpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": "Reply in JSON: what is 2+2?"}]
    reply = await openai_client.chat.completions.create(
        model="gpt-4o", messages=messages, response_format={"type": "json_object"}
    )
    content = reply.choices[0].message.content
    assert content is not None
    parsed = json.loads(content)
    assert isinstance(parsed, dict) and parsed["answer"].startswith("Simulated answer to: Reply in JSON")


async def test_json_object_mode_without_the_word_json_is_400(openai_client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="json"):
        await openai_client.chat.completions.create(
            model="gpt-4o", messages=USER, response_format={"type": "json_object"}
        )


async def test_json_schema_mode_conforms_to_the_schema(openai_client: AsyncOpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 20},
            "age": {"type": "integer", "minimum": 18},
            "score": {"type": "number", "exclusiveMaximum": 1},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "address": {"$ref": "#/$defs/address"},
            "role": {"anyOf": [{"type": "null"}, {"type": "string", "enum": ["admin", "user"]}]},
        },
        "required": ["name", "age", "score", "tags", "address", "role"],
        "additionalProperties": False,
        "$defs": {
            "address": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "zip": {"type": "string", "format": "uuid"}},
                "required": ["city", "zip"],
                "additionalProperties": False,
            }
        },
    }
    reply = await openai_client.chat.completions.create(
        model="gpt-4o",
        messages=USER,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": schema, "strict": True},
        },
    )
    content = reply.choices[0].message.content
    assert content is not None
    jsonschema.validate(json.loads(content), schema)
    assert reply.usage is not None and reply.usage.completion_tokens > 0


async def test_models_are_listed_and_labelled_simulated(sim: SimServer, openai_client: AsyncOpenAI) -> None:
    models = [m async for m in openai_client.models.list()]
    assert [m.id for m in models] == sim.config.openai_models
    assert all(m.owned_by == "openai" for m in models)
    assert all(m.model_dump().get("simulated") is True for m in models)


async def test_wrong_key_is_401_in_openai_shape(sim: SimServer) -> None:
    client = AsyncOpenAI(base_url=sim.url + "/openai/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        await client.chat.completions.create(model="gpt-4o", messages=USER)
    await client.close()
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert caught.value.response.headers["x-simulated"] == "true"


async def test_missing_key_is_401(sim: SimServer, http: aiohttp.ClientSession) -> None:
    body = {"model": "gpt-4o", "messages": USER}
    async with http.post(sim.url + "/openai/v1/chat/completions", json=body) as response:
        assert response.status == 401
        assert "didn't provide an API key" in (await response.json())["error"]["message"]
    async with http.get(sim.url + "/openai/v1/models") as response:
        assert response.status == 401


async def test_without_a_configured_key_any_caller_is_served(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    sim.state.merge_config({"openai_api_key": None})
    body = {"model": "gpt-4o", "messages": USER}
    async with http.post(sim.url + "/openai/v1/chat/completions", json=body) as response:
        assert response.status == 200
    assert sim.requests[-1].auth_matched is None
