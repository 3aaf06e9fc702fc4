"""The official anthropic SDK against the gateway's /v1/messages, whatever target serves the call."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from tests.support import Gateway

MODELS = ["claude-sonnet-4-5", "gpt-4o", "llama-3.1-8b"]


def client(gateway: Gateway, key: dict[str, Any]) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=key["key"], max_retries=0)


@pytest.mark.parametrize("model", MODELS)
def test_messages_create(gateway: Gateway, user_key: dict[str, Any], model: str) -> None:
    message = client(gateway, user_key).messages.create(
        model=model, max_tokens=64, system="Be brief.", messages=[{"role": "user", "content": "Hello there"}]
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text
    assert message.stop_reason in {"end_turn", "max_tokens", "stop_sequence"}
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_messages_stream(gateway: Gateway, user_key: dict[str, Any], model: str) -> None:
    with client(gateway, user_key).messages.stream(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "Stream please"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.content[0].text == text
    assert final.usage.output_tokens > 0


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "gpt-4o"])
def test_messages_tool_use(gateway: Gateway, user_key: dict[str, Any], model: str) -> None:
    message = client(gateway, user_key).messages.create(
        model=model,
        max_tokens=128,
        tools=[
            {
                "name": "get_weather",
                "description": "Weather for a city",
                "input_schema": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            }
        ],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
    )
    assert message.stop_reason == "tool_use"
    block = next(b for b in message.content if b.type == "tool_use")
    assert block.name == "get_weather" and "city" in block.input


async def test_async_anthropic_client(gateway: Gateway, user_key: dict[str, Any]) -> None:
    aclient = anthropic.AsyncAnthropic(base_url=gateway.url, api_key=user_key["key"], max_retries=0)
    message = await aclient.messages.create(
        model="llama-3.1-8b", max_tokens=32, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.content[0].text
    await aclient.close()


def test_messages_errors_use_anthropic_shape(gateway: Gateway, user_key: dict[str, Any]) -> None:
    c = client(gateway, user_key)
    with pytest.raises(anthropic.BadRequestError) as bad:
        c.messages.create(
            model="claude-sonnet-4-5", max_tokens=0, messages=[{"role": "user", "content": "x"}]
        )
    assert bad.value.body["type"] == "error"
    assert "max_tokens" in bad.value.body["error"]["message"]
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=gateway.url, api_key="sk-wrong", max_retries=0).messages.create(
            model="claude-sonnet-4-5", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    with pytest.raises(anthropic.NotFoundError):
        c.messages.create(model="no-such-model", max_tokens=5, messages=[{"role": "user", "content": "x"}])


def test_request_ids_reach_the_anthropic_sdk(gateway: Gateway, user_key: dict[str, Any]) -> None:
    """The anthropic SDK reads Anthropic's `request-id` header (not x-request-id) for replies and errors."""
    c = client(gateway, user_key)
    raw = c.messages.with_raw_response.create(
        model="gpt-4o", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.request_id is not None and raw.request_id.startswith("req_")
    assert raw.request_id == raw.headers["x-request-id"]
    assert raw.parse()._request_id == raw.request_id
    with pytest.raises(anthropic.NotFoundError) as missing:
        c.messages.create(model="no-such-model", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert missing.value.request_id is not None and missing.value.request_id.startswith("req_")
