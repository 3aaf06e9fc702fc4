"""The official openai SDK against a running gateway: sync and async, streaming and not."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pydantic
import pytest

from tests.support import Gateway, Simulator

MODELS = ["gpt-4o", "claude-sonnet-4-5", "llama-3.1-8b"]


def client(gateway: Gateway, key: dict[str, Any]) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key["key"], max_retries=0)


@pytest.mark.parametrize("model", MODELS)
def test_chat_non_streaming_every_target(gateway: Gateway, user_key: dict[str, Any], model: str) -> None:
    raw = client(gateway, user_key).chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "Say hello"}], max_tokens=50
    )
    completion = raw.parse()
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content
    assert completion.usage is not None and completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens > 0
    assert raw.headers["x-gateway-target"] == model
    assert raw.headers["x-request-id"]


@pytest.mark.parametrize("model", MODELS)
def test_chat_streaming_with_usage(gateway: Gateway, user_key: dict[str, Any], model: str) -> None:
    stream = client(gateway, user_key).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Tell me a story"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)
    usage_chunks = [c for c in chunks if c.usage is not None]
    assert len(usage_chunks) == 1 and usage_chunks[0].choices == []
    assert usage_chunks[0].usage.completion_tokens > 0


def test_streaming_without_include_usage_hides_usage(gateway: Gateway, user_key: dict[str, Any]) -> None:
    chunks = list(
        client(gateway, user_key).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    assert chunks and all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


async def test_async_client_streaming_and_not(gateway: Gateway, user_key: dict[str, Any]) -> None:
    aclient = openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=user_key["key"], max_retries=0)
    completion = await aclient.chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "hello"}], max_tokens=20
    )
    assert completion.choices[0].message.content
    stream = await aclient.chat.completions.create(
        model="llama-3.1-8b", messages=[{"role": "user", "content": "hello"}], stream=True
    )
    parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(parts)
    await aclient.close()


@pytest.mark.parametrize("model", ["gpt-4o", "claude-sonnet-4-5"])
def test_tool_calls_round_trip(gateway: Gateway, user_key: dict[str, Any], model: str) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    c = client(gateway, user_key)
    raw = c.chat.completions.with_raw_response.create(
        model=model,
        messages=[{"role": "user", "content": "What is the weather in London?"}],
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    assert raw.headers["x-gateway-target"] == model  # served by the target asked for
    completion = raw.parse()
    choice = completion.choices[0]
    # OpenAI ends a call to the tool named in tool_choice with "stop" (passed through as OpenAI sent it);
    # Claude's "tool_use" becomes "tool_calls".
    assert choice.finish_reason == ("stop" if model == "gpt-4o" else "tool_calls")
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert "city" in json.loads(call.function.arguments)
    # Streamed tool calls assemble to valid JSON arguments too.
    stream = c.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "What is the weather in London?"}],
        tools=tools,
        tool_choice="required",
        stream=True,
    )
    args = "".join(
        tc.function.arguments or ""
        for chunk in stream
        if chunk.choices
        for tc in (chunk.choices[0].delta.tool_calls or [])
        if tc.function
    )
    assert "city" in json.loads(args)


def test_json_mode_n_and_stop_pass_through(
    gateway: Gateway, user_key: dict[str, Any], clean_sim: Simulator
) -> None:
    c = client(gateway, user_key)
    completion = c.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Give me JSON"}],
        response_format={"type": "json_object"},
        n=2,
        stop=["\n\n"],
        temperature=0.3,
        max_completion_tokens=40,
    )
    assert len(completion.choices) == 2
    assert isinstance(json.loads(completion.choices[0].message.content or ""), dict)
    received = clean_sim.requests()[-1]["body"]
    assert received["n"] == 2 and received["stop"] == ["\n\n"] and received["temperature"] == 0.3
    assert received["max_completion_tokens"] == 40
    assert received["response_format"] == {"type": "json_object"}


def test_max_tokens_truncates_with_length(gateway: Gateway, user_key: dict[str, Any]) -> None:
    completion = client(gateway, user_key).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Write a long essay"}], max_tokens=3
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None and completion.usage.completion_tokens <= 3


def test_models_lists_targets_and_simulated_label(gateway: Gateway, user_key: dict[str, Any]) -> None:
    models = {m.id: m for m in client(gateway, user_key).models.list()}
    assert set(MODELS) <= set(models)
    limited = gateway.create_key(name="limited", allowed_models=["llama-3.1-8b"])
    assert {m.id for m in client(gateway, limited).models.list()} == {"llama-3.1-8b"}


def test_key_limited_to_models_gets_403(gateway: Gateway) -> None:
    limited = gateway.create_key(name="limited-2", allowed_models=["llama-3.1-8b"])
    with pytest.raises(openai.PermissionDeniedError):
        client(gateway, limited).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )


def test_upstream_never_sees_gateway_or_client_keys(
    gateway: Gateway, user_key: dict[str, Any], clean_sim: Simulator
) -> None:
    client(gateway, user_key).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}]
    )
    seen = clean_sim.requests()[-1]
    assert user_key["key"] not in json.dumps(seen)
    assert seen["auth_matched"] is True


def test_x_api_key_header_is_accepted_like_bearer(gateway: Gateway, user_key: dict[str, Any]) -> None:
    r = httpx.post(
        gateway.url + "/v1/chat/completions",
        headers={"x-api-key": user_key["key"]},
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 200, r.text


def test_a_tool_without_parameters_streams_from_claude_as_an_empty_object(
    gateway: Gateway, user_key: dict[str, Any], clean_sim: Simulator
) -> None:
    """Claude streams no JSON for an empty input; OpenAI clients get "{}", which the SDK parses."""

    class RollDie(pydantic.BaseModel):
        pass

    with client(gateway, user_key).chat.completions.stream(
        model="claude-sonnet-4-5",
        messages=[{"role": "user", "content": "Roll the die."}],
        tools=[openai.pydantic_function_tool(RollDie, name="roll_die")],
        tool_choice={"type": "function", "function": {"name": "roll_die"}},
    ) as stream:
        final = stream.get_final_completion()
    assert [r["provider"] for r in clean_sim.requests()] == ["anthropic"]  # served by Claude
    call = final.choices[0].message.tool_calls[0]
    assert call.function.arguments == "{}"
    assert call.function.parsed_arguments == RollDie()
