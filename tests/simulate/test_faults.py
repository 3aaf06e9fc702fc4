"""Every fault kind, queued through the control API or asked for in-band, as the SDKs see it."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import aiohttp
import anthropic
import httpx2
import openai
import pytest
from anthropic import AsyncAnthropic
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from gateway.simulate import SimServer

from .conftest import ANTHROPIC_KEY, OPENAI_KEY

USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Tell me a joke."}]
AUTH = {"Authorization": f"Bearer {OPENAI_KEY}"}


async def queue(http: aiohttp.ClientSession, sim: SimServer, *faults: dict) -> list[dict]:
    async with http.post(sim.url + "/sim/faults", json=list(faults)) as response:
        assert response.status == 200
        return (await response.json())["faults"]


def said(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


async def test_429_carries_retry_after_and_is_a_rate_limit_error(
    sim: SimServer, http: aiohttp.ClientSession, openai_client: AsyncOpenAI
) -> None:
    await queue(http, sim, {"kind": "429", "retry_after_s": 7})
    with pytest.raises(openai.RateLimitError) as caught:
        await openai_client.chat.completions.create(model="gpt-4o", messages=USER)
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.response.headers["x-simulated"] == "true"
    assert caught.value.code == "rate_limit_exceeded"
    reply = await openai_client.chat.completions.create(model="gpt-4o", messages=USER)
    assert reply.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("kind", ["500", "503"])
async def test_server_errors(
    sim: SimServer, http: aiohttp.ClientSession, openai_client: AsyncOpenAI, kind: str
) -> None:
    await queue(http, sim, {"kind": kind})
    with pytest.raises(openai.InternalServerError) as caught:
        await openai_client.chat.completions.create(model="gpt-4o", messages=USER)
    assert caught.value.status_code == int(kind)


async def test_sdk_retries_through_a_single_500(sim: SimServer, http: aiohttp.ClientSession) -> None:
    await queue(http, sim, {"kind": "500"})
    client = AsyncOpenAI(base_url=sim.url + "/openai/v1", api_key=OPENAI_KEY, max_retries=1)
    reply = await client.chat.completions.with_raw_response.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]
    await client.close()
    assert reply.http_request.headers["x-stainless-retry-count"] == "1"
    assert len(sim.requests) == 2


async def test_timeout_holds_until_the_client_gives_up(sim: SimServer, http: aiohttp.ClientSession) -> None:
    await queue(http, sim, {"kind": "timeout"})
    client = AsyncOpenAI(base_url=sim.url + "/openai/v1", api_key=OPENAI_KEY, max_retries=0, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        await client.chat.completions.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]
    reply = await client.with_options(timeout=30).chat.completions.create(model="gpt-4o", messages=USER)
    await client.close()
    assert reply.choices[0].message.content


async def test_held_request_is_released_when_the_simulator_closes(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    await queue(http, sim, {"kind": "timeout"})
    body = {"model": "gpt-4o", "messages": USER}
    pending = asyncio.create_task(http.post(sim.url + "/openai/v1/chat/completions", json=body, headers=AUTH))
    await asyncio.sleep(0.1)
    assert not pending.done()
    await asyncio.wait_for(sim.close(), timeout=5)
    with pytest.raises(aiohttp.ClientError):
        await asyncio.wait_for(pending, timeout=5)


async def test_drop_midstream_sends_k_chunks_then_breaks_the_openai_stream(
    sim: SimServer, http: aiohttp.ClientSession, openai_client: AsyncOpenAI
) -> None:
    await queue(http, sim, {"kind": "drop_midstream", "after_chunks": 3})
    stream = await openai_client.chat.completions.create(model="gpt-4o", messages=USER, stream=True)
    received = []
    with pytest.raises(openai.APIConnectionError) as caught:
        async for chunk in stream:
            received.append(chunk)
    assert "incomplete chunked read" in repr(caught.value.__cause__)
    assert len(received) == 3


async def test_drop_midstream_raw_stream_has_no_done_marker(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    await queue(http, sim, {"kind": "drop_midstream", "after_chunks": 4})
    body = {"model": "gpt-4o", "messages": USER, "stream": True}
    received = b""
    with pytest.raises(aiohttp.ClientPayloadError):
        async with http.post(sim.url + "/openai/v1/chat/completions", json=body, headers=AUTH) as response:
            assert response.status == 200
            async for data in response.content.iter_any():
                received += data
    assert received.count(b"data: ") == 4
    assert b"[DONE]" not in received


async def test_drop_midstream_breaks_the_anthropic_stream(
    sim: SimServer, http: aiohttp.ClientSession, anthropic_client: AsyncAnthropic
) -> None:
    await queue(http, sim, {"kind": "drop_midstream", "provider": "anthropic", "after_chunks": 4})
    events = []
    # anthropic's SDK lets the transport error of an interrupted stream through unwrapped.
    with pytest.raises((anthropic.APIConnectionError, httpx2.RemoteProtocolError)):
        async with anthropic_client.messages.stream(
            model="claude-sonnet-4-5",
            max_tokens=50,
            messages=USER,  # type: ignore[arg-type]
        ) as s:
            async for event in s:
                events.append(event.type)
    assert events[:2] == ["message_start", "content_block_start"]
    assert "message_stop" not in events


async def test_drop_midstream_on_a_plain_request_is_a_connection_error(
    sim: SimServer, http: aiohttp.ClientSession, openai_client: AsyncOpenAI
) -> None:
    await queue(http, sim, {"kind": "drop_midstream"})
    with pytest.raises(openai.APIConnectionError):
        await openai_client.chat.completions.create(model="gpt-4o", messages=USER)


async def test_malformed_body_is_not_json(sim: SimServer, http: aiohttp.ClientSession) -> None:
    await queue(http, sim, {"kind": "malformed"})
    body = {"model": "gpt-4o", "messages": USER}
    async with http.post(sim.url + "/openai/v1/chat/completions", json=body, headers=AUTH) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        text = await response.text()
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


async def test_malformed_stream_chunk_breaks_the_sdk(
    sim: SimServer, http: aiohttp.ClientSession, openai_client: AsyncOpenAI
) -> None:
    await queue(http, sim, {"kind": "malformed"})
    stream = await openai_client.chat.completions.create(model="gpt-4o", messages=USER, stream=True)
    with pytest.raises(json.JSONDecodeError):
        async for _ in stream:
            pass


async def test_faults_scoped_to_a_provider_wait_for_it(
    sim: SimServer, http: aiohttp.ClientSession, openai_client: AsyncOpenAI, anthropic_client: AsyncAnthropic
) -> None:
    await queue(http, sim, {"kind": "429", "provider": "anthropic", "retry_after_s": 3})
    reply = await openai_client.chat.completions.create(model="gpt-4o", messages=USER)
    assert reply.choices[0].finish_reason == "stop"
    with pytest.raises(anthropic.RateLimitError) as caught:
        await anthropic_client.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=USER)  # type: ignore[arg-type]
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert caught.value.response.headers["retry-after"] == "3"


async def test_times_repeats_a_fault_and_the_queue_is_fifo(
    sim: SimServer, http: aiohttp.ClientSession, openai_client: AsyncOpenAI
) -> None:
    pending = await queue(http, sim, {"kind": "500", "times": 2}, {"kind": "429"})
    assert [(f["kind"], f["remaining"]) for f in pending] == [("500", 2), ("429", 1)]
    for expected in (openai.InternalServerError, openai.InternalServerError, openai.RateLimitError):
        with pytest.raises(expected):
            await openai_client.chat.completions.create(model="gpt-4o", messages=USER)
    assert (await openai_client.chat.completions.create(model="gpt-4o", messages=USER)).choices


async def test_invalid_requests_and_listings_do_not_use_up_faults(
    sim: SimServer, http: aiohttp.ClientSession, openai_client: AsyncOpenAI
) -> None:
    await queue(http, sim, {"kind": "500"})
    with pytest.raises(openai.BadRequestError):
        await openai_client.chat.completions.create(model="gpt-4o", messages=USER, temperature=9)
    assert [m async for m in openai_client.models.list()]
    with pytest.raises(openai.InternalServerError):
        await openai_client.chat.completions.create(model="gpt-4o", messages=USER)


async def test_clearing_the_queue(
    sim: SimServer, http: aiohttp.ClientSession, openai_client: AsyncOpenAI
) -> None:
    await queue(http, sim, {"kind": "500"}, {"kind": "503"})
    async with http.delete(sim.url + "/sim/faults") as response:
        assert (await response.json()) == {"faults": []}
    async with http.get(sim.url + "/sim/faults") as response:
        assert (await response.json()) == {"faults": []}
    assert (await openai_client.chat.completions.create(model="gpt-4o", messages=USER)).choices


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "418"},
        {"kind": "429", "provider": "azure"},
        {"kind": "500", "times": 0},
        {"kind": "500", "colour": "red"},
        None,
    ],
)
async def test_invalid_faults_are_refused(
    sim: SimServer, http: aiohttp.ClientSession, payload: object
) -> None:
    async with http.post(sim.url + "/sim/faults", data=json.dumps(payload)) as response:
        assert response.status == 400
        assert (await response.json())["error"]["message"]
    assert sim.state.faults.pending() == []


async def test_fault_log_lines_say_simulated(
    sim: SimServer, http: aiohttp.ClientSession, openai_client: AsyncOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    await queue(http, sim, {"kind": "503"})
    with caplog.at_level(logging.INFO, logger="gateway.simulate"), pytest.raises(openai.InternalServerError):
        await openai_client.chat.completions.create(model="gpt-4o", messages=USER)
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.simulate"]
    assert any(line.startswith("SIMULATED fault 503") for line in lines)


# In-band markers: a client that only reaches the simulator through a gateway can still ask for faults.


async def test_marker_429_with_retry_after(openai_client: AsyncOpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        await openai_client.chat.completions.create(model="gpt-4o", messages=said("hi [[sim:429=4]]"))
    assert caught.value.response.headers["retry-after"] == "4"
    with pytest.raises(openai.RateLimitError) as caught:
        await openai_client.chat.completions.create(model="gpt-4o", messages=said("[[sim:429]] hi"))
    assert caught.value.response.headers["retry-after"] == "1"


async def test_marker_500_on_anthropic(anthropic_client: AsyncAnthropic) -> None:
    with pytest.raises(anthropic.InternalServerError) as caught:
        await anthropic_client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=10,
            messages=said("hi [[sim:500]]"),  # type: ignore[arg-type]
        )
    assert caught.value.body["type"] == "error"  # type: ignore[index]
    assert caught.value.body["error"]["type"] == "api_error"  # type: ignore[index]


async def test_marker_timeout(sim: SimServer) -> None:
    client = AsyncOpenAI(base_url=sim.url + "/openai/v1", api_key=OPENAI_KEY, max_retries=0, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        await client.chat.completions.create(model="gpt-4o", messages=said("wait [[sim:timeout]]"))  # type: ignore[arg-type]
    await client.close()


async def test_marker_drop_midstream(openai_client: AsyncOpenAI) -> None:
    stream = await openai_client.chat.completions.create(
        model="gpt-4o", messages=said("[[sim:drop_midstream=2]] go"), stream=True
    )
    received = []
    with pytest.raises(openai.APIConnectionError):
        async for chunk in stream:
            received.append(chunk)
    assert len(received) == 2


async def test_marker_latency_delays_the_answer(openai_client: AsyncOpenAI) -> None:
    started = time.perf_counter()
    reply = await openai_client.chat.completions.create(
        model="gpt-4o", messages=said("slow [[sim:latency=200]]")
    )
    assert time.perf_counter() - started >= 0.2
    assert (
        reply.choices[0].message.content
        == (await openai_client.chat.completions.create(model="gpt-4o", messages=said("slow")))
        .choices[0]
        .message.content
    )


async def test_marker_scoped_to_another_provider_is_ignored(openai_client: AsyncOpenAI) -> None:
    reply = await openai_client.chat.completions.create(
        model="gpt-4o", messages=said("hi [[sim:500@anthropic]]")
    )
    assert reply.choices[0].message.content is not None
    assert "[[sim" not in reply.choices[0].message.content


async def test_marker_with_times_fires_only_that_often(openai_client: AsyncOpenAI) -> None:
    messages = said("flaky [[sim:503*2]]")
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await openai_client.chat.completions.create(model="gpt-4o", messages=messages)
    assert (await openai_client.chat.completions.create(model="gpt-4o", messages=messages)).choices


async def test_only_the_last_user_message_is_read(openai_client: AsyncOpenAI) -> None:
    messages: list[Any] = [
        {"role": "user", "content": "[[sim:500]]"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "and now?"},
    ]
    assert (await openai_client.chat.completions.create(model="gpt-4o", messages=messages)).choices


async def test_marker_in_text_parts_and_embeddings(openai_client: AsyncOpenAI) -> None:
    parts = [{"role": "user", "content": [{"type": "text", "text": "hello [[sim:429]]"}]}]
    with pytest.raises(openai.RateLimitError):
        await openai_client.chat.completions.create(model="gpt-4o", messages=parts)  # type: ignore[arg-type]
    with pytest.raises(openai.InternalServerError):
        await openai_client.embeddings.create(model="text-embedding-3-small", input=["a", "b [[sim:500]]"])


async def test_configured_latency_applies_to_every_answer(sim: SimServer, openai_client: AsyncOpenAI) -> None:
    sim.state.merge_config({"latency_ms": 150})
    started = time.perf_counter()
    await openai_client.chat.completions.create(model="gpt-4o", messages=USER)
    assert time.perf_counter() - started >= 0.15


async def test_tokens_per_second_spreads_the_stream(sim: SimServer, http: aiohttp.ClientSession) -> None:
    sim.state.merge_config({"tokens_per_second": 50, "completion_tokens": 10})
    body = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": USER, "stream": True}
    headers = {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}
    arrivals = []
    async with http.post(sim.url + "/anthropic/v1/messages", json=body, headers=headers) as response:
        async for _ in response.content:
            arrivals.append(time.perf_counter())
    # 16 events (3 + 10 deltas + 3) with 1/50 s between them: the stream spans about 0.3 s.
    assert arrivals[-1] - arrivals[0] >= 0.25


async def test_529_is_anthropic_overloaded(anthropic_client: AsyncAnthropic) -> None:
    with pytest.raises(anthropic.APIStatusError) as caught:
        await anthropic_client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=10,
            messages=said("busy? [[sim:529]]"),
        )
    assert caught.value.status_code == 529
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


async def test_marker_tokens_sets_the_reply_length(
    openai_client: AsyncOpenAI, anthropic_client: AsyncAnthropic
) -> None:
    reply = await openai_client.chat.completions.create(
        model="gpt-4o", messages=said("long [[sim:tokens=40]]")
    )
    assert reply.usage is not None and reply.usage.completion_tokens == 40
    message = await anthropic_client.messages.create(
        model="claude-sonnet-4-5", max_tokens=100, messages=said("long [[sim:tokens=3]]")
    )
    assert message.usage.output_tokens == 3


async def test_marker_tps_paces_one_stream(sim: SimServer, http: aiohttp.ClientSession) -> None:
    body = {"model": "gpt-4o", "messages": said("[[sim:tps=40]] [[sim:tokens=8]] pace me"), "stream": True}
    arrivals = []
    async with http.post(sim.url + "/openai/v1/chat/completions", json=body, headers=AUTH) as response:
        async for _ in response.content:
            arrivals.append(time.perf_counter())
    # 11 events (role, 8 tokens, finish, [DONE]) 25 ms apart.
    assert arrivals[-1] - arrivals[0] >= 0.2
    assert sim.config.tokens_per_second == 0
