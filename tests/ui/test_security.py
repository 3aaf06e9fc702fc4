"""Origin, CSRF and Secure-cookie decisions on hand-built requests (a proxy in front, other origins)."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from gateway.errors import GatewayError
from gateway.ui.security import check_csrf, check_origin, cookie_name, is_secure, own_origin
from gateway.ui.settings import ConsoleSettings


def request(headers: dict[str, str], *, scheme: str = "http", method: str = "POST") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in {"host": "gw.internal:8080", **headers}.items()]
    scope = {
        "type": "http",
        "method": method,
        "scheme": scheme,
        "path": "/ui/api/x",
        "headers": raw,
        "query_string": b"",
        "server": ("gw.internal", 8080),
    }
    return Request(scope)


def refused(settings: ConsoleSettings, headers: dict[str, str]) -> str:
    with pytest.raises(GatewayError) as caught:
        check_origin(request(headers), settings)
    assert caught.value.status == 403
    return caught.value.code or ""


def test_own_origin_passes_and_others_are_refused() -> None:
    settings = ConsoleSettings()
    check_origin(request({"Origin": "http://gw.internal:8080"}), settings)
    check_origin(request({"Origin": "HTTP://GW.INTERNAL:8080/"}), settings)
    assert refused(settings, {"Origin": "http://gw.internal:8081"}) == "origin_mismatch"
    assert refused(settings, {"Origin": "https://gw.internal:8080"}) == "origin_mismatch"
    assert refused(settings, {"Origin": "http://evil.example"}) == "origin_mismatch"
    assert refused(settings, {"Origin": "null"}) == "origin_missing"
    assert refused(settings, {}) == "origin_missing"
    assert refused(settings, {"Referer": "http://evil.example/ui"}) == "origin_mismatch"
    assert refused(settings, {"Referer": "not a url"}) == "origin_missing"
    check_origin(request({"Referer": "http://gw.internal:8080/ui#keys"}), settings)


def test_configured_origins_are_allowed() -> None:
    settings = ConsoleSettings(allowed_origins=["https://console.example.com/"])
    check_origin(request({"Origin": "https://console.example.com"}), settings)
    assert refused(settings, {"Origin": "https://console.example.com.evil.example"}) == "origin_mismatch"


def test_forwarded_headers_count_only_when_trusted() -> None:
    behind_proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "console.example.com"}
    untrusted = ConsoleSettings()
    assert not is_secure(request(behind_proxy), untrusted)
    assert own_origin(request(behind_proxy), untrusted) == "http://gw.internal:8080"
    trusted = ConsoleSettings(trust_forwarded=True)
    assert is_secure(request(behind_proxy), trusted)
    assert cookie_name(request(behind_proxy), trusted) == "__Host-gw_console"
    check_origin(request({**behind_proxy, "Origin": "https://console.example.com"}), trusted)
    assert is_secure(request({}, scheme="https"), untrusted)
    assert is_secure(request({}), ConsoleSettings(secure_cookie="always"))
    assert not is_secure(request({}, scheme="https"), ConsoleSettings(secure_cookie="never"))


@pytest.mark.parametrize(
    ("presented", "code"), [(None, "csrf_missing"), ("", "csrf_missing"), ("abc", "csrf_mismatch")]
)
def test_csrf_token_must_match(presented: str | None, code: str) -> None:
    headers = {} if presented is None else {"X-CSRF-Token": presented}
    with pytest.raises(GatewayError) as caught:
        check_csrf(request(headers), "a" * 64)
    assert caught.value.code == code
    check_csrf(request({"X-CSRF-Token": "a" * 64}), "a" * 64)


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        ConsoleSettings(idle_timeout_s=0)
    with pytest.raises(ValueError):
        ConsoleSettings(secure_cookie="sometimes")  # type: ignore[arg-type]
