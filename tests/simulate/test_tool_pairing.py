"""Tool calls must be answered in the next turn: both providers refuse histories that break the pairing."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest
from anthropic import AsyncAnthropic
from openai import AsyncOpenAI

CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
CALL_2 = {"id": "call_2", "type": "function", "function": {"name": "f", "arguments": "{}"}}
TOOLS: Any = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]


def asked(*calls: dict) -> dict:
    return {"role": "assistant", "content": None, "tool_calls": list(calls)}


def answer(call_id: str) -> dict:
    return {"role": "tool", "tool_call_id": call_id, "content": "42"}


USER = {"role": "user", "content": "use f"}


@pytest.mark.parametrize(
    "messages",
    [
        [USER, asked(CALL), answer("call_1")],
        [
            USER,
            asked(CALL, CALL_2),
            answer("call_2"),
            answer("call_1"),
            {"role": "user", "content": "thanks"},
        ],
    ],
)
async def test_openai_accepts_answered_calls(openai_client: AsyncOpenAI, messages: list[Any]) -> None:
    reply = await openai_client.chat.completions.create(model="gpt-4o", messages=messages, tools=TOOLS)
    assert reply.choices


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([USER, asked(CALL, CALL_2), answer("call_1")], "did not have response messages: call_2"),
        ([USER, asked(CALL), USER], "did not have response messages: call_1"),
        ([USER, answer("call_1")], "must be a response to a preceeding message"),
        ([USER, asked(CALL), answer("call_9")], "must be a response to a preceeding message"),
        ([USER, asked(CALL), {"role": "tool", "content": "42"}], "must have a 'tool_call_id'"),
    ],
)
async def test_openai_refuses_broken_pairing(
    openai_client: AsyncOpenAI, messages: list[Any], fragment: str
) -> None:
    with pytest.raises(openai.BadRequestError, match=fragment):
        await openai_client.chat.completions.create(model="gpt-4o", messages=messages, tools=TOOLS)


def uses(*ids: str) -> dict:
    blocks = [{"type": "tool_use", "id": i, "name": "f", "input": {}} for i in ids]
    return {"role": "assistant", "content": blocks}


def results(*ids: str) -> dict:
    return {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": i, "content": "42"} for i in ids],
    }


ANTHROPIC_TOOLS: Any = [{"name": "f", "input_schema": {"type": "object"}}]
ASK = {"role": "user", "content": "use f"}


async def test_anthropic_accepts_answered_uses(anthropic_client: AsyncAnthropic) -> None:
    messages: Any = [ASK, uses("toolu_1", "toolu_2"), results("toolu_2", "toolu_1")]
    message = await anthropic_client.messages.create(
        model="claude-sonnet-4-5", max_tokens=20, messages=messages, tools=ANTHROPIC_TOOLS
    )
    assert message.stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        (
            [ASK, uses("toolu_1", "toolu_2"), results("toolu_1")],
            "without `tool_result` blocks immediately after: toolu_2",
        ),
        ([ASK, uses("toolu_1"), ASK], "without `tool_result` blocks immediately after: toolu_1"),
        ([results("toolu_1")], "unexpected `tool_use_id` found in `tool_result` blocks: toolu_1"),
        ([ASK, uses("toolu_1"), results("toolu_1", "toolu_7")], "unexpected `tool_use_id`"),
    ],
)
async def test_anthropic_refuses_broken_pairing(
    anthropic_client: AsyncAnthropic, messages: Any, fragment: str
) -> None:
    with pytest.raises(anthropic.BadRequestError, match=fragment):
        await anthropic_client.messages.create(
            model="claude-sonnet-4-5", max_tokens=20, messages=messages, tools=ANTHROPIC_TOOLS
        )
