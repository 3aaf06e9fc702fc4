"""Sessions end: idle (sliding) and absolute timeouts through a real gateway, and the Secure cookie."""

from __future__ import annotations

import time

import httpx

from tests.support import Gateway
from tests.ui.conftest import ABSOLUTE_S, IDLE_S


def sign_in(gateway: Gateway) -> str:
    reply = httpx.post(
        gateway.url + "/ui/api/session", json={"key": gateway.admin_key}, headers={"Origin": gateway.url}
    )
    assert reply.status_code == 201, reply.text
    cookie = reply.headers["set-cookie"]
    flags = [part.strip().lower() for part in cookie.split(";")]
    # The __Host- prefix: browsers accept it only with Secure, Path=/ and no Domain.
    assert cookie.startswith("__Host-gw_console=")
    assert "secure" in flags and "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
    assert not any(f.startswith("domain=") for f in flags)
    return cookie.split(";")[0]


def whoami(gateway: Gateway, cookie: str) -> int:
    return httpx.get(gateway.url + "/ui/api/session", headers={"Cookie": cookie}).status_code


def test_session_idles_out(short_gateway: Gateway) -> None:
    cookie = sign_in(short_gateway)
    assert whoami(short_gateway, cookie) == 200
    time.sleep(IDLE_S + 0.5)
    assert whoami(short_gateway, cookie) == 401
    assert whoami(short_gateway, cookie) == 401  # and stays ended


def test_use_slides_the_idle_timeout_until_the_absolute_deadline(short_gateway: Gateway) -> None:
    cookie = sign_in(short_gateway)
    started = time.monotonic()
    # A call every 0.8 s keeps it alive well past the 2 s idle timeout ...
    while time.monotonic() - started < ABSOLUTE_S - 1.0:
        assert whoami(short_gateway, cookie) == 200, time.monotonic() - started
        time.sleep(0.8)
    # ... but not past the 5 s absolute deadline.
    while time.monotonic() - started < ABSOLUTE_S + 0.3:
        time.sleep(0.3)
        whoami(short_gateway, cookie)
    assert whoami(short_gateway, cookie) == 401


def test_plain_cookie_name_is_not_accepted_when_cookies_are_secure(short_gateway: Gateway) -> None:
    value = sign_in(short_gateway).split("=", 1)[1]
    assert whoami(short_gateway, f"gw_console={value}") == 401


def test_a_session_works_on_every_replica(gateway: Gateway, short_gateway: Gateway) -> None:
    """Two gateway processes on one database: signed in on one, served and signed out by the other."""
    admin_key = gateway.create_key(name="replica-admin", is_admin=True)["key"]
    reply = httpx.post(
        gateway.url + "/ui/api/session", json={"key": admin_key}, headers={"Origin": gateway.url}
    )
    assert reply.status_code == 201
    session_id, csrf = reply.cookies["gw_console"], reply.json()["csrf_token"]
    on_other = f"__Host-gw_console={session_id}"  # the other replica sends Secure cookies
    assert whoami(short_gateway, on_other) == 200
    out = httpx.delete(
        short_gateway.url + "/ui/api/session",
        headers={"Cookie": on_other, "X-CSRF-Token": csrf, "Origin": short_gateway.url},
    )
    assert out.status_code == 200
    assert whoami(gateway, f"gw_console={session_id}") == 401


def test_master_sessions_end_when_the_master_key_changes(gateway: Gateway, short_gateway: Gateway) -> None:
    """The two gateways have different master keys: to one, the other's master session is a rotated key."""
    reply = httpx.post(
        gateway.url + "/ui/api/session", json={"key": gateway.admin_key}, headers={"Origin": gateway.url}
    )
    session_id = reply.cookies["gw_console"]
    assert whoami(gateway, f"gw_console={session_id}") == 200
    assert whoami(short_gateway, f"__Host-gw_console={session_id}") == 401
