"""The relay of a stream: recorded once however it ends, with what the client was told."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.accounting.prices import Price
from gateway.errors import GatewayError
from gateway.providers.base import StreamState
from gateway.serving.streaming import Relay
from tests.calls_support import call_context


class _Recorder:
    def __init__(self) -> None:
        self.finished: list[dict[str, Any]] = []

    async def finish(self, ctx: Any, **outcome: Any) -> None:
        self.finished.append(outcome)


class _Encoder:
    def item(self, item: Any) -> bytes:
        return f"item {item}\n".encode()

    def done(self) -> bytes:
        return b"done\n"

    def error(self, message: str) -> bytes:
        return f"error: {message}\n".encode()


def _relay(upstream: AsyncIterator[Any], recorder: _Recorder, state: StreamState) -> Relay:
    ctx = call_context("req-relay", price=Price.per_million(1, 1), stream=True)
    return Relay(ctx=ctx, recorder=recorder, upstream=upstream, first=1, state=state, encoder=_Encoder())  # type: ignore[arg-type]


async def _items(*items: Any, then: BaseException | None = None) -> AsyncIterator[Any]:
    for item in items:
        yield item
    if then is not None:
        raise then


def test_closed_before_it_began_it_is_recorded_once_and_yields_nothing() -> None:
    async def run() -> tuple[_Recorder, list[bytes]]:
        recorder = _Recorder()
        relay = _relay(_items(2), recorder, StreamState())
        await relay.aclose()
        await relay.aclose()
        return recorder, [chunk async for chunk in relay]

    recorder, after = asyncio.run(run())
    assert after == []
    assert len(recorder.finished) == 1
    assert recorder.finished[0]["status"] == 499 and recorder.finished[0]["client_disconnected"] is True


@pytest.mark.parametrize(
    ("failure", "code", "told"),
    [
        (
            GatewayError(502, "upstream error: overloaded", code="upstream_error"),
            "upstream_error",
            "overloaded",
        ),
        (ValueError("a bug"), "internal_error", "the gateway failed while relaying"),
    ],
)
def test_a_failure_mid_stream_is_told_and_recorded_as_such(failure: Exception, code: str, told: str) -> None:
    async def run() -> tuple[_Recorder, list[bytes]]:
        recorder = _Recorder()
        relay = _relay(_items(2, then=failure), recorder, StreamState())
        chunks = [chunk async for chunk in relay]
        await relay.aclose()
        return recorder, chunks

    recorder, chunks = asyncio.run(run())
    assert chunks[:2] == [b"item 1\n", b"item 2\n"] and told.encode() in chunks[-1]
    (outcome,) = recorder.finished
    assert (outcome["status"], outcome["error_code"], outcome["client_disconnected"]) == (502, code, False)
