"""An exception no handler knows, on a FastAPI route: a 500 in the error shape with its request id."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from gateway.observability.middleware import RequestIdMiddleware, RequestIds, UnhandledErrorMiddleware


async def broken(request: Request) -> Response:
    raise RuntimeError("a bug")


async def broken_midway(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        yield b"part"
        raise RuntimeError("a bug after the reply began")

    return StreamingResponse(body())


def app() -> Starlette:
    """As gateway/app.py stacks them: inside Starlette's last-resort handler, the request ids, then ours."""
    return Starlette(
        routes=[Route("/broken", broken), Route("/midway", broken_midway)],
        middleware=[Middleware(RequestIdMiddleware, ids=RequestIds()), Middleware(UnhandledErrorMiddleware)],
    )


async def test_an_unhandled_error_is_a_500_in_the_error_shape_with_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        with caplog.at_level("ERROR", logger="gateway.api"):
            r = await client.get("/broken")
    assert r.status_code == 500
    assert r.json() == {
        "error": {"message": "internal error", "type": "api_error", "code": "internal_error", "param": None}
    }
    assert r.headers["x-request-id"].startswith("req_")
    assert "unhandled error on /broken" in caplog.text and "a bug" in caplog.text


async def test_an_error_after_the_reply_began_is_not_answered_twice() -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        with pytest.raises(RuntimeError, match="after the reply began"):
            await client.get("/midway")
