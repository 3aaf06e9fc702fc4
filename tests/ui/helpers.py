"""Signing in to the console over plain HTTP, as a browser would (Origin header, cookie, CSRF token)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.support import Gateway


@dataclass
class ConsoleClient:
    """An httpx client holding a console session cookie, plus the session's CSRF token."""

    http: httpx.Client
    csrf: str
    origin: str

    def send(
        self, method: str, path: str, *, csrf: str | None = None, origin: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Origin": origin or self.origin, "X-CSRF-Token": self.csrf if csrf is None else csrf}
        headers.update(kwargs.pop("headers", {}))
        return self.http.request(method, path, headers=headers, **kwargs)

    def close(self) -> None:
        self.http.close()


def sign_in_reply(gateway: Gateway, key: str, *, origin: str | None = None) -> httpx.Response:
    return httpx.post(
        gateway.url + "/ui/api/session",
        json={"key": key},
        headers={"Origin": origin if origin is not None else gateway.url},
    )


def sign_in(gateway: Gateway, key: str | None = None) -> ConsoleClient:
    reply = sign_in_reply(gateway, key or gateway.admin_key)
    assert reply.status_code == 201, reply.text
    http = httpx.Client(base_url=gateway.url, timeout=30)
    for name, value in reply.cookies.items():
        http.cookies.set(name, value)
    return ConsoleClient(http=http, csrf=reply.json()["csrf_token"], origin=gateway.url)
