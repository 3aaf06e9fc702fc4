"""The /sim control API: config merge, request history with redaction, and the simulated label."""

from __future__ import annotations

import json

import aiohttp
import pytest
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from gateway.simulate import REDACTED, SimServer

from .conftest import ANTHROPIC_KEY, OPENAI_KEY

USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Count to three."}]


async def test_config_is_readable_with_keys_redacted(sim: SimServer, http: aiohttp.ClientSession) -> None:
    async with http.get(sim.url + "/sim/config") as response:
        config = await response.json()
    assert config["openai_api_key"] == REDACTED
    assert config["anthropic_api_key"] == REDACTED
    assert config["completion_tokens"] == 16
    assert OPENAI_KEY not in json.dumps(config)


async def test_merge_changes_only_the_given_fields(
    sim: SimServer, http: aiohttp.ClientSession, openai_client: AsyncOpenAI
) -> None:
    async with http.post(sim.url + "/sim/config", json={"completion_tokens": 5}) as response:
        assert response.status == 200
        merged = await response.json()
    assert merged["completion_tokens"] == 5
    assert merged["openai_api_key"] == REDACTED
    reply = await openai_client.chat.completions.create(model="gpt-4o", messages=USER)
    assert reply.usage is not None and reply.usage.completion_tokens == 5


async def test_merge_can_rotate_a_key(sim: SimServer, http: aiohttp.ClientSession) -> None:
    async with http.post(sim.url + "/sim/config", json={"openai_api_key": "sk-new"}) as response:
        assert response.status == 200
    body = {"model": "gpt-4o", "messages": USER}
    async with http.post(
        sim.url + "/openai/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {OPENAI_KEY}"}
    ) as response:
        assert response.status == 401
    async with http.post(
        sim.url + "/openai/v1/chat/completions", json=body, headers={"Authorization": "Bearer sk-new"}
    ) as response:
        assert response.status == 200


async def test_merge_with_faults_replaces_the_queue(sim: SimServer, http: aiohttp.ClientSession) -> None:
    async with http.post(sim.url + "/sim/faults", json={"kind": "500"}):
        pass
    async with http.post(sim.url + "/sim/config", json={"faults": [{"kind": "429", "provider": "vllm"}]}):
        pass
    async with http.get(sim.url + "/sim/faults") as response:
        faults = (await response.json())["faults"]
    assert [(f["kind"], f["provider"]) for f in faults] == [("429", "vllm")]


@pytest.mark.parametrize(
    "patch",
    [
        {"completion_tokens": 0},
        {"latency_ms": -5},
        {"no_such_field": 1},
        {"faults": [{"kind": "nope"}]},
        [1, 2],
    ],
)
async def test_bad_merges_are_refused_and_change_nothing(
    sim: SimServer, http: aiohttp.ClientSession, patch: object
) -> None:
    before = sim.config
    async with http.post(sim.url + "/sim/config", json=patch) as response:
        assert response.status == 400
        assert (await response.json())["error"]["message"]
    assert sim.config == before


async def test_history_redacts_credentials_and_says_whether_they_matched(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    body = {"model": "gpt-4o", "messages": USER}
    url = sim.url + "/openai/v1/chat/completions"
    async with http.post(url, json=body, headers={"Authorization": f"Bearer {OPENAI_KEY}"}):
        pass
    async with http.post(url, json=body, headers={"Authorization": "Bearer sk-guess"}):
        pass
    anthropic_headers = {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}
    async with http.post(
        sim.url + "/anthropic/v1/messages", json={**body, "max_tokens": 5}, headers=anthropic_headers
    ):
        pass
    async with http.get(sim.url + "/sim/requests") as response:
        records = (await response.json())["requests"]
    assert [r["auth_matched"] for r in records] == [True, False, True]
    assert [r["provider"] for r in records] == ["openai", "openai", "anthropic"]
    assert records[0]["path"] == "/openai/v1/chat/completions"
    assert records[0]["method"] == "POST"
    assert records[0]["body"] == body
    assert records[0]["headers"]["Authorization"] == REDACTED
    assert records[2]["headers"]["x-api-key"] == REDACTED
    assert records[2]["headers"]["anthropic-version"] == "2023-06-01"
    dump = json.dumps(records)
    assert OPENAI_KEY not in dump and ANTHROPIC_KEY not in dump and "sk-guess" not in dump


async def test_history_keeps_unparseable_bodies_as_text(sim: SimServer, http: aiohttp.ClientSession) -> None:
    headers = {"Authorization": f"Bearer {OPENAI_KEY}"}
    async with http.post(sim.url + "/openai/v1/chat/completions", data=b"{not json", headers=headers):
        pass
    assert sim.requests[-1].body == "{not json"


async def test_history_limit_clear_and_bound(sim: SimServer, http: aiohttp.ClientSession) -> None:
    sim.state.merge_config({"history_size": 2})
    for _ in range(3):
        async with http.get(sim.url + "/openai/v1/models"):
            pass
    assert len(sim.requests) == 2
    async with http.get(sim.url + "/sim/requests?limit=1") as response:
        assert len((await response.json())["requests"]) == 1
    async with http.delete(sim.url + "/sim/requests") as response:
        assert response.status == 200
    assert sim.requests == []


async def test_control_api_calls_are_not_recorded(sim: SimServer, http: aiohttp.ClientSession) -> None:
    async with http.get(sim.url + "/sim/config"):
        pass
    async with http.get(sim.url + "/sim/requests"):
        pass
    assert sim.requests == []


@pytest.mark.parametrize(
    "path", ["/sim/config", "/sim/faults", "/sim/requests", "/nowhere", "/openai/v1/nothing"]
)
async def test_every_response_is_labelled_simulated(
    sim: SimServer, http: aiohttp.ClientSession, path: str
) -> None:
    async with http.get(sim.url + path) as response:
        assert response.headers["x-simulated"] == "true"


async def test_config_shows_the_live_fault_queue(sim: SimServer, http: aiohttp.ClientSession) -> None:
    async with http.post(sim.url + "/sim/faults", json={"kind": "503", "times": 3}):
        pass
    async with http.get(sim.url + "/sim/config") as response:
        faults = (await response.json())["faults"]
    assert [(f["kind"], f["remaining"]) for f in faults] == [("503", 3)]
