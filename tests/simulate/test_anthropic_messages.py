"""The Anthropic Messages endpoint, driven through the official anthropic SDK and raw HTTP."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import anthropic
import jsonschema
import pytest
from anthropic import AsyncAnthropic
from anthropic.types import MessageParam, ToolParam

from gateway.simulate import SimServer

from .conftest import ANTHROPIC_KEY

USER: list[MessageParam] = [{"role": "user", "content": "Name three rivers in Europe."}]
HEADERS = {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}
SEARCH_TOOL: ToolParam = {
    "name": "search_docs",
    "description": "Search the documentation",
    "input_schema": {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 10},
        },
        "required": ["query"],
    },
}


def parse_sse(raw: str) -> list[tuple[str, dict]]:
    events = []
    for block in raw.split("\n\n"):
        if not block:
            continue
        name_line, data_line = block.split("\n")
        assert name_line.startswith("event: ") and data_line.startswith("data: ")
        events.append((name_line[7:], json.loads(data_line[6:])))
    return events


async def test_non_streamed_message(anthropic_client: AsyncAnthropic) -> None:
    raw = await anthropic_client.messages.with_raw_response.create(
        model="claude-sonnet-4-5", max_tokens=100, messages=USER
    )
    message = await raw.parse()
    assert raw.headers["x-simulated"] == "true"
    assert raw.headers["request-id"] == message.id
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.id.startswith("msg_")
    assert message.model == "claude-sonnet-4-5"
    assert len(message.content) == 1 and message.content[0].type == "text"
    assert message.content[0].text.startswith("Simulated answer to: Name three rivers in Europe.")
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    assert message.usage.output_tokens == 16
    assert message.usage.input_tokens > 0


async def test_stream_has_the_exact_event_sequence(sim: SimServer, http: aiohttp.ClientSession) -> None:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": USER, "stream": True}
    async with http.post(sim.url + "/anthropic/v1/messages", json=body, headers=HEADERS) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        events = parse_sse(await response.text())
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[3:-3] == ["content_block_delta"] * 16
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert all(data["type"] == name for name, data in events)
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert start["usage"]["input_tokens"] > 0
    assert events[1][1]["content_block"] == {"type": "text", "text": ""}
    assert {data["delta"]["type"] for _, data in events[3:-3]} == {"text_delta"}
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"] == {"output_tokens": 16}


async def test_sdk_stream_assembles_the_same_text(anthropic_client: AsyncAnthropic) -> None:
    async with anthropic_client.messages.stream(
        model="claude-sonnet-4-5", max_tokens=100, messages=USER
    ) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
    plain = await anthropic_client.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=USER)
    assert text == plain.content[0].text  # type: ignore[union-attr]
    assert final.usage.output_tokens == plain.usage.output_tokens == 16


async def test_max_tokens_cuts_with_stop_reason_max_tokens(anthropic_client: AsyncAnthropic) -> None:
    message = await anthropic_client.messages.create(model="claude-sonnet-4-5", max_tokens=3, messages=USER)
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 3
    assert message.content[0].text == "Simulated answer"  # type: ignore[union-attr]


async def test_stop_sequences_report_the_matched_sequence(anthropic_client: AsyncAnthropic) -> None:
    message = await anthropic_client.messages.create(
        model="claude-sonnet-4-5", max_tokens=100, messages=USER, stop_sequences=["nothing", "rivers"]
    )
    assert message.stop_reason == "stop_sequence"
    assert message.stop_sequence == "rivers"
    assert message.content[0].text == "Simulated answer to: Name three "  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "system",
    ["You are terse.", [{"type": "text", "text": "You are terse."}, {"type": "text", "text": "Be kind."}]],
)
async def test_system_as_string_or_blocks_counts_as_input(
    anthropic_client: AsyncAnthropic, system: object
) -> None:
    bare = await anthropic_client.messages.create(model="claude-sonnet-4-5", max_tokens=50, messages=USER)
    with_system = await anthropic_client.messages.create(  # type: ignore[call-overload]
        model="claude-sonnet-4-5",
        max_tokens=50,
        messages=USER,
        system=system,  # type: ignore[arg-type]
    )
    assert with_system.usage.input_tokens > bare.usage.input_tokens


async def test_tool_named_in_the_prompt_gives_a_tool_use_block(anthropic_client: AsyncAnthropic) -> None:
    messages: list[Any] = [{"role": "user", "content": "Use search_docs to find the install guide"}]
    message = await anthropic_client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=200,
        messages=messages,
        tools=[SEARCH_TOOL],  # type: ignore[list-item]
    )
    assert message.stop_reason == "tool_use"
    block = message.content[0]
    assert block.type == "tool_use"
    assert block.name == "search_docs"
    assert block.id.startswith("toolu_")
    jsonschema.validate(block.input, SEARCH_TOOL["input_schema"])  # type: ignore[arg-type]


async def test_streamed_tool_use_sends_input_json_deltas(sim: SimServer, http: aiohttp.ClientSession) -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 200,
        "stream": True,
        "messages": [{"role": "user", "content": "search the docs with a tool"}],
        "tools": [SEARCH_TOOL],
    }
    async with http.post(sim.url + "/anthropic/v1/messages", json=body, headers=HEADERS) as response:
        events = parse_sse(await response.text())
    start = events[1][1]["content_block"]
    assert start["type"] == "tool_use" and start["name"] == "search_docs" and start["input"] == {}
    deltas = [data["delta"] for name, data in events if name == "content_block_delta"]
    assert {d["type"] for d in deltas} == {"input_json_delta"}
    jsonschema.validate(json.loads("".join(d["partial_json"] for d in deltas)), SEARCH_TOOL["input_schema"])
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


async def test_a_streamed_tool_without_parameters_sends_one_empty_json_delta(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    """As Anthropic streams it: no JSON at all for an empty input, one partial_json of ""."""
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 200,
        "stream": True,
        "messages": [{"role": "user", "content": "roll the die with a tool"}],
        "tools": [{"name": "roll_die", "input_schema": {"type": "object", "properties": {}}}],
        "tool_choice": {"type": "tool", "name": "roll_die"},
    }
    async with http.post(sim.url + "/anthropic/v1/messages", json=body, headers=HEADERS) as response:
        events = parse_sse(await response.text())
    deltas = [data["delta"] for name, data in events if name == "content_block_delta"]
    assert deltas == [{"type": "input_json_delta", "partial_json": ""}]
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


async def test_sdk_stream_of_tool_use_parses_the_input(anthropic_client: AsyncAnthropic) -> None:
    async with anthropic_client.messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=200,
        messages=[{"role": "user", "content": "call search_docs"}],
        tools=[SEARCH_TOOL],  # type: ignore[list-item]
    ) as stream:
        final = await stream.get_final_message()
    assert final.content[0].type == "tool_use"
    jsonschema.validate(final.content[0].input, SEARCH_TOOL["input_schema"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        ({"type": "any"}, "tool_use"),
        ({"type": "tool", "name": "search_docs"}, "tool_use"),
        ({"type": "none"}, "end_turn"),
    ],
)
async def test_tool_choice_modes(anthropic_client: AsyncAnthropic, tool_choice: dict, expected: str) -> None:
    message = await anthropic_client.messages.create(  # type: ignore[call-overload]
        model="claude-sonnet-4-5",
        max_tokens=200,
        messages=USER,
        tools=[SEARCH_TOOL],  # type: ignore[list-item]
        tool_choice=tool_choice,  # type: ignore[arg-type]
    )
    assert message.stop_reason == expected


async def test_tool_result_gets_a_text_answer(anthropic_client: AsyncAnthropic) -> None:
    messages: list[Any] = [
        {"role": "user", "content": "call search_docs"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "search_docs", "input": {"query": "x"}}
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Install with pip"}],
        },
    ]
    message = await anthropic_client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=200,
        messages=messages,  # type: ignore[arg-type]
        tools=[SEARCH_TOOL],  # type: ignore[list-item]
    )
    assert message.stop_reason == "end_turn"
    assert message.content[0].text.startswith("Simulated answer to: Install with pip")  # type: ignore[union-attr]


async def test_missing_max_tokens_is_400(sim: SimServer, http: aiohttp.ClientSession) -> None:
    body = {"model": "claude-sonnet-4-5", "messages": USER}
    async with http.post(sim.url + "/anthropic/v1/messages", json=body, headers=HEADERS) as response:
        assert response.status == 400
        assert response.headers["x-simulated"] == "true"
        error = await response.json()
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in error["error"]["message"]
    assert error["request_id"] == response.headers["request-id"]


async def test_missing_max_tokens_through_the_sdk_is_bad_request(anthropic_client: AsyncAnthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="max_tokens"):
        await anthropic_client.messages.create(
            model="claude-sonnet-4-5",
            messages=USER,  # type: ignore[arg-type]
            max_tokens=1,
            extra_body={"max_tokens": None},  # the SDK insists on one; the wire gets null
        )


async def test_missing_anthropic_version_is_400(sim: SimServer, http: aiohttp.ClientSession) -> None:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": USER}
    async with http.post(
        sim.url + "/anthropic/v1/messages", json=body, headers={"x-api-key": ANTHROPIC_KEY}
    ) as r:
        assert r.status == 400
        assert "anthropic-version" in (await r.json())["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"model": "claude-sonnet-4-5", "max_tokens": 10},
        {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": []},
        {"model": "claude-sonnet-4-5", "max_tokens": 0, "messages": USER},
        {"model": "claude-sonnet-4-5", "max_tokens": "10", "messages": USER},
        {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "system", "content": "x"}]},
        {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user"}]},
        {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": USER, "temperature": 1.5},
        {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": USER, "stop_sequences": "END"},
        {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": USER, "tools": [{"name": "t"}]},
        {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": USER, "tool_choice": {"type": "maybe"}},
        {"max_tokens": 10, "messages": USER},
    ],
)
async def test_malformed_requests_are_400_in_anthropic_shape(
    sim: SimServer, http: aiohttp.ClientSession, body: dict
) -> None:
    async with http.post(sim.url + "/anthropic/v1/messages", json=body, headers=HEADERS) as response:
        assert response.status == 400
        error = await response.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"


async def test_wrong_key_is_401_authentication_error(sim: SimServer) -> None:
    client = AsyncAnthropic(base_url=sim.url + "/anthropic", api_key="sk-ant-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        await client.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=USER)  # type: ignore[arg-type]
    await client.close()
    assert caught.value.status_code == 401
    assert caught.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]


async def test_x_api_key_and_bearer_are_both_accepted(sim: SimServer, http: aiohttp.ClientSession) -> None:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": USER}
    bearer = {"Authorization": f"Bearer {ANTHROPIC_KEY}", "anthropic-version": "2023-06-01"}
    for headers in (HEADERS, bearer):
        async with http.post(sim.url + "/anthropic/v1/messages", json=body, headers=headers) as response:
            assert response.status == 200
    async with http.post(
        sim.url + "/anthropic/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}
    ) as response:
        assert response.status == 401
        assert (await response.json())["error"]["message"] == "x-api-key header is required"


async def test_count_tokens_matches_the_message_usage(anthropic_client: AsyncAnthropic) -> None:
    counted = await anthropic_client.messages.count_tokens(model="claude-sonnet-4-5", messages=USER)  # type: ignore[arg-type]
    message = await anthropic_client.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=USER)  # type: ignore[arg-type]
    assert counted.input_tokens == message.usage.input_tokens


async def test_models_are_listed_and_labelled_simulated(
    sim: SimServer, anthropic_client: AsyncAnthropic
) -> None:
    models = [m async for m in anthropic_client.models.list()]
    assert [m.id for m in models] == sim.config.anthropic_models
    assert all("simulated" in m.display_name for m in models)
