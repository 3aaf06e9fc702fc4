"""Fixtures: a fresh simulator per test (the tokenizer is loaded once) and SDK clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from anthropic import AsyncAnthropic
from openai import AsyncOpenAI

from gateway.simulate import SimConfig, SimServer, start_simulator
from gateway.simulate.tokens import TokenCounter

OPENAI_KEY = "sk-sim-openai"
ANTHROPIC_KEY = "sk-ant-sim"
VLLM_KEY = "vllm-sim-key"
SERVED_MODEL = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture(scope="session")
def token_counter() -> TokenCounter:
    return TokenCounter.load()


@pytest.fixture
async def sim(token_counter: TokenCounter) -> AsyncIterator[SimServer]:
    config = SimConfig(
        openai_api_key=OPENAI_KEY,
        anthropic_api_key=ANTHROPIC_KEY,
        vllm_api_key=VLLM_KEY,
        served_model=SERVED_MODEL,
    )
    server = await start_simulator(config=config, counter=token_counter)
    yield server
    await server.close()


@pytest.fixture
async def openai_client(sim: SimServer) -> AsyncIterator[AsyncOpenAI]:
    client = AsyncOpenAI(base_url=sim.url + "/openai/v1", api_key=OPENAI_KEY, max_retries=0)
    yield client
    await client.close()


@pytest.fixture
async def vllm_client(sim: SimServer) -> AsyncIterator[AsyncOpenAI]:
    client = AsyncOpenAI(base_url=sim.url + "/vllm/v1", api_key=VLLM_KEY, max_retries=0)
    yield client
    await client.close()


@pytest.fixture
async def anthropic_client(sim: SimServer) -> AsyncIterator[AsyncAnthropic]:
    client = AsyncAnthropic(base_url=sim.url + "/anthropic", api_key=ANTHROPIC_KEY, max_retries=0)
    yield client
    await client.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
