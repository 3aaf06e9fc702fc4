"""vLLM's OpenAI-compatible server and the OpenAI embeddings endpoint."""

from __future__ import annotations

import base64

import aiohttp
import numpy as np
import openai
import pytest
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from gateway.simulate import SimServer
from gateway.simulate.tokens import TokenCounter

from .conftest import OPENAI_KEY, SERVED_MODEL, VLLM_KEY

USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Summarise the plot of Hamlet."}]


async def test_vllm_lists_only_the_served_model_owned_by_vllm(vllm_client: AsyncOpenAI) -> None:
    models = [m async for m in vllm_client.models.list()]
    assert [m.id for m in models] == [SERVED_MODEL]
    entry = models[0].model_dump()
    assert entry["owned_by"] == "vllm"
    assert entry["root"] == SERVED_MODEL
    assert entry["simulated"] is True


async def test_vllm_health_needs_no_key(sim: SimServer, http: aiohttp.ClientSession) -> None:
    async with http.get(sim.url + "/vllm/health") as response:
        assert response.status == 200
        assert response.headers["x-simulated"] == "true"


async def test_vllm_chat_with_the_served_model(vllm_client: AsyncOpenAI) -> None:
    reply = await vllm_client.chat.completions.create(model=SERVED_MODEL, messages=USER)
    assert reply.id.startswith("cmpl-")
    assert reply.model == SERVED_MODEL
    assert reply.choices[0].message.content is not None
    assert reply.choices[0].message.content.startswith("Simulated answer to: Summarise the plot of Hamlet.")
    assert reply.choices[0].model_dump()["stop_reason"] is None
    assert reply.system_fingerprint is None


async def test_vllm_stream_with_usage(vllm_client: AsyncOpenAI) -> None:
    stream = await vllm_client.chat.completions.create(
        model=SERVED_MODEL, messages=USER, stream=True, stream_options={"include_usage": True}
    )
    chunks = [c async for c in stream]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 16


async def test_vllm_stop_reason_names_the_matched_stop_string(vllm_client: AsyncOpenAI) -> None:
    reply = await vllm_client.chat.completions.create(model=SERVED_MODEL, messages=USER, stop=["plot"])
    assert reply.choices[0].finish_reason == "stop"
    assert reply.choices[0].model_dump()["stop_reason"] == "plot"


async def test_vllm_unknown_model_is_404(vllm_client: AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        await vllm_client.chat.completions.create(model="gpt-4o", messages=USER)


async def test_vllm_uses_its_own_key(sim: SimServer) -> None:
    client = AsyncOpenAI(base_url=sim.url + "/vllm/v1", api_key=OPENAI_KEY, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        await client.chat.completions.create(model=SERVED_MODEL, messages=USER)  # type: ignore[arg-type]
    await client.close()
    assert sim.requests[-1].auth_matched is False


async def test_vllm_has_no_embeddings_route(sim: SimServer, http: aiohttp.ClientSession) -> None:
    headers = {"Authorization": f"Bearer {VLLM_KEY}"}
    async with http.post(sim.url + "/vllm/v1/embeddings", json={"input": "x"}, headers=headers) as response:
        assert response.status == 404
        assert response.headers["x-simulated"] == "true"


async def test_embedding_defaults_to_1536_unit_length_dims(openai_client: AsyncOpenAI) -> None:
    result = await openai_client.embeddings.create(model="text-embedding-3-small", input="hello world")
    assert result.object == "list"
    assert result.model == "text-embedding-3-small"
    assert len(result.data) == 1 and result.data[0].index == 0
    vector = np.array(result.data[0].embedding)
    assert vector.shape == (1536,)
    assert abs(np.linalg.norm(vector) - 1) < 1e-5


async def test_embeddings_are_deterministic_and_differ_by_input(openai_client: AsyncOpenAI) -> None:
    first = await openai_client.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"])
    again = await openai_client.embeddings.create(model="text-embedding-3-small", input="alpha")
    assert [d.index for d in first.data] == [0, 1]
    assert first.data[0].embedding == again.data[0].embedding
    assert first.data[0].embedding != first.data[1].embedding


async def test_dimensions_and_token_usage(openai_client: AsyncOpenAI, token_counter: TokenCounter) -> None:
    texts = ["the quick brown fox", "jumps over the lazy dog"]
    result = await openai_client.embeddings.create(
        model="text-embedding-3-small", input=texts, dimensions=256
    )
    assert all(len(d.embedding) == 256 for d in result.data)
    expected = sum(token_counter.count(t) for t in texts)
    assert result.usage.prompt_tokens == result.usage.total_tokens == expected


async def test_float_and_base64_encodings_carry_the_same_vector(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    headers = {"Authorization": f"Bearer {OPENAI_KEY}"}
    url = sim.url + "/openai/v1/embeddings"
    body = {"model": "text-embedding-3-small", "input": "same text", "dimensions": 8}
    async with http.post(url, json={**body, "encoding_format": "float"}, headers=headers) as response:
        as_float = (await response.json())["data"][0]["embedding"]
    async with http.post(url, json={**body, "encoding_format": "base64"}, headers=headers) as response:
        as_base64 = (await response.json())["data"][0]["embedding"]
    decoded = np.frombuffer(base64.b64decode(as_base64), dtype=np.float32)
    assert np.allclose(decoded, np.array(as_float, dtype=np.float32))


async def test_token_array_inputs_are_accepted(openai_client: AsyncOpenAI) -> None:
    single = await openai_client.embeddings.create(model="text-embedding-3-small", input=[1, 2, 3])
    assert len(single.data) == 1 and single.usage.prompt_tokens == 3
    batch = await openai_client.embeddings.create(model="text-embedding-3-small", input=[[1, 2], [3]])
    assert len(batch.data) == 2 and batch.usage.prompt_tokens == 3


@pytest.mark.parametrize(
    "body",
    [
        {"model": "text-embedding-3-small", "input": ""},
        {"model": "text-embedding-3-small", "input": []},
        {"model": "text-embedding-3-small", "input": ["ok", ""]},
        {"model": "text-embedding-3-small", "input": [["a"]]},
        {"model": "text-embedding-3-small", "input": {"text": "x"}},
        {"model": "text-embedding-3-small"},
        {"input": "x"},
        {"model": "text-embedding-3-small", "input": "x", "dimensions": 0},
        {"model": "text-embedding-3-small", "input": "x", "encoding_format": "hex"},
        {"model": "text-embedding-3-small", "input": ["x"] * 2049},
    ],
)
async def test_bad_embedding_requests_are_400(
    sim: SimServer, http: aiohttp.ClientSession, body: dict
) -> None:
    headers = {"Authorization": f"Bearer {OPENAI_KEY}"}
    async with http.post(sim.url + "/openai/v1/embeddings", json=body, headers=headers) as response:
        assert response.status == 400
        assert (await response.json())["error"]["type"] == "invalid_request_error"
