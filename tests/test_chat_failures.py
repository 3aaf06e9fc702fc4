"""How a chat call that fails before its reply is recorded: a bug is the 500 the client gets, a cancelled
call a 499 with the client gone, a GatewayError only settled (Attempts recorded its upstream failures)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from gateway.errors import GatewayError
from gateway.serving.chat import ChatService


class _Recorder:
    def __init__(self) -> None:
        self.finished: list[dict[str, Any]] = []
        self.settled = 0

    async def finish(self, ctx: Any, **outcome: Any) -> None:
        self.finished.append(outcome)
        self.settled += 1

    async def settle(self, ctx: Any) -> None:
        self.settled += 1


class _Attempts:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def run(self, ctx: Any, chain: Any, call: Any) -> Any:
        raise self.exc

    async def open_stream(self, ctx: Any, chain: Any, open_upstream: Any) -> Any:
        raise self.exc


def _service(exc: BaseException) -> tuple[ChatService, _Recorder]:
    recorder = _Recorder()
    service = ChatService(
        router=Any,
        attempts=_Attempts(exc),
        recorder=recorder,
        admissions=Any,
        max_n=1,  # type: ignore[arg-type]
    )
    return service, recorder


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize(
    ("exc", "finished"),
    [
        (TypeError("a bug"), [{"status": 500, "usage": None, "error_code": "internal_error"}]),
        (asyncio.CancelledError(), [{"status": 499, "usage": None, "client_disconnected": True}]),
        (GatewayError(502, "upstream trouble"), []),
    ],
)
async def test_a_failed_call_is_recorded_as_what_the_client_got(
    exc: BaseException, finished: list[dict[str, Any]], streamed: bool
) -> None:
    service, recorder = _service(exc)
    route = SimpleNamespace(chain=())
    with pytest.raises(type(exc)):
        if streamed:
            await service.stream(object(), route, open_upstream=object(), encoder_for=object())  # type: ignore[arg-type]
        else:
            await service.call(object(), route, call=object())  # type: ignore[arg-type]
    assert recorder.finished == finished
    assert recorder.settled == 1
