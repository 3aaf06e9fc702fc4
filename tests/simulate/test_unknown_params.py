"""Unknown body fields: OpenAI and Anthropic refuse them, vLLM ignores them; the check can be turned off."""

from __future__ import annotations

import typing

import anthropic
import openai
import pytest
from anthropic import AsyncAnthropic
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from gateway.simulate import SimServer

from .conftest import SERVED_MODEL

USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]


async def test_openai_refuses_a_leaked_extension_field(openai_client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.chat.completions.create(
            model="gpt-4o", messages=USER, extra_body={"vector_store_ids": ["vs_1"]}
        )
    assert caught.value.code == "unknown_parameter"
    assert caught.value.param == "vector_store_ids"
    assert "Unrecognized request argument supplied: vector_store_ids" in caught.value.message


async def test_openai_accepts_its_documented_optional_fields(openai_client: AsyncOpenAI) -> None:
    reply = await openai_client.chat.completions.create(
        model="gpt-4o",
        messages=USER,
        seed=7,
        user="u-1",
        presence_penalty=0.1,
        frequency_penalty=0.1,
        logit_bias={"50256": -100},
        parallel_tool_calls=False,
        tools=[{"type": "function", "function": {"name": "noop", "parameters": {"type": "object"}}}],
        metadata={"team": "a"},
        store=False,
    )
    assert reply.choices


async def test_openai_embeddings_refuse_unknown_fields(openai_client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="Unrecognized request argument"):
        await openai_client.embeddings.create(
            model="text-embedding-3-small", input="x", extra_body={"pool": "mean"}
        )


async def test_anthropic_refuses_extra_inputs(anthropic_client: AsyncAnthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="route_hint: Extra inputs are not permitted"):
        await anthropic_client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=10,
            messages=USER,  # type: ignore[arg-type]
            extra_body={"route_hint": "cheap"},
        )


async def test_vllm_ignores_sampling_extensions(vllm_client: AsyncOpenAI) -> None:
    reply = await vllm_client.chat.completions.create(
        model=SERVED_MODEL, messages=USER, extra_body={"top_k": 20, "repetition_penalty": 1.1}
    )
    assert reply.choices


async def test_the_check_can_be_turned_off(sim: SimServer, openai_client: AsyncOpenAI) -> None:
    sim.state.merge_config({"reject_unknown_params": False})
    reply = await openai_client.chat.completions.create(
        model="gpt-4o", messages=USER, extra_body={"vector_store_ids": ["vs_1"]}
    )
    assert reply.choices


def test_known_fields_cover_what_the_installed_sdks_can_send() -> None:
    from anthropic.types import message_create_params
    from openai.types import embedding_create_params
    from openai.types.chat import completion_create_params

    from gateway.simulate import known_params

    def fields(typed_dict: type) -> set[str]:
        return set(typing.get_type_hints(typed_dict))

    assert fields(completion_create_params.CompletionCreateParamsBase) <= known_params.OPENAI_CHAT_PARAMS
    assert fields(embedding_create_params.EmbeddingCreateParams) <= known_params.OPENAI_EMBEDDING_PARAMS
    assert fields(message_create_params.MessageCreateParamsBase) <= known_params.ANTHROPIC_MESSAGES_PARAMS
