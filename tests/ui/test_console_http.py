"""The console over plain HTTP: cookie flags, CSRF and Origin checks, who may sign in, sign-out, headers."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.support import Gateway
from tests.ui.helpers import ConsoleClient, sign_in, sign_in_reply


@pytest.fixture()
def console(gateway: Gateway) -> Iterator[ConsoleClient]:
    client = sign_in(gateway)
    yield client
    client.close()


def key_names(gateway: Gateway) -> set[str]:
    with gateway.admin() as admin:
        return {k["name"] for k in admin.get("/admin/keys").json()["data"]}


def test_sign_in_sets_a_strict_httponly_cookie_and_no_secret_in_the_reply(gateway: Gateway) -> None:
    reply = sign_in_reply(gateway, gateway.admin_key)
    assert reply.status_code == 201
    cookie = reply.headers["set-cookie"]
    assert cookie.startswith("gw_console=")
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags
    assert "samesite=strict" in flags
    assert "path=/" in flags
    assert "secure" not in flags  # served over plain http here; see the secure-cookie gateway test
    max_age = int(next(f for f in flags if f.startswith("max-age=")).split("=")[1])
    assert 8 * 3600 - 60 <= max_age <= 8 * 3600
    assert gateway.admin_key not in reply.text
    body = reply.json()
    assert body["key_name"] == "master" and re.fullmatch(r"[0-9a-f]{64}", body["csrf_token"])


def test_session_id_is_stored_hashed(gateway: Gateway, pg_url: str) -> None:
    reply = sign_in_reply(gateway, gateway.admin_key)
    session_id = reply.cookies["gw_console"]
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT id_hash, key_id FROM ui_sessions").fetchall()
    stored = {bytes(r[0]) for r in rows}
    assert hashlib.sha256(b"ui-session:" + session_id.encode()).digest() in stored
    assert all(session_id.encode() not in h for h in stored)


def test_console_calls_need_a_session(gateway: Gateway) -> None:
    for path in ("/ui/api/session", "/ui/api/admin/keys", "/ui/api/live", "/ui/api/costs/series"):
        reply = httpx.get(gateway.url + path)
        assert reply.status_code == 401, path
        assert reply.json()["error"]["code"] == "session_required"
    forged = httpx.get(gateway.url + "/ui/api/admin/keys", cookies={"gw_console": "not-a-session"})
    assert forged.status_code == 401


def test_admin_calls_go_through_with_session_and_csrf(gateway: Gateway, console: ConsoleClient) -> None:
    reply = console.send("POST", "/ui/api/admin/keys", json={"name": "made-in-console", "team": "ui-http"})
    assert reply.status_code == 201, reply.text
    assert reply.json()["key"].startswith("sk-")
    listed = console.http.get("/ui/api/admin/keys")
    assert listed.status_code == 200
    assert "made-in-console" in {k["name"] for k in listed.json()["data"]}


@pytest.mark.parametrize(
    ("csrf", "origin", "code"),
    [
        ("", None, "csrf_missing"),
        ("0" * 64, None, "csrf_mismatch"),
        (None, "https://evil.example", "origin_mismatch"),
        (None, "http://127.0.0.1:1", "origin_mismatch"),  # same host, other port: another origin
    ],
)
def test_state_changing_calls_refused_without_csrf_or_from_foreign_origin(
    gateway: Gateway, console: ConsoleClient, csrf: str | None, origin: str | None, code: str
) -> None:
    name = f"csrf-{code}-{len(origin or '')}"
    reply = console.send("POST", "/ui/api/admin/keys", csrf=csrf, origin=origin, json={"name": name})
    assert reply.status_code == 403, reply.text
    assert reply.json()["error"]["code"] == code
    assert name not in key_names(gateway)


def test_call_without_origin_or_referer_refused(gateway: Gateway, console: ConsoleClient) -> None:
    reply = console.http.post(
        "/ui/api/admin/keys", json={"name": "no-origin"}, headers={"X-CSRF-Token": console.csrf}
    )
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "origin_missing"
    referer = console.http.post(
        "/ui/api/admin/keys",
        json={"name": "with-referer"},
        headers={"X-CSRF-Token": console.csrf, "Referer": gateway.url + "/ui#keys"},
    )
    assert referer.status_code == 201, referer.text


def test_csrf_token_of_another_session_refused(gateway: Gateway, console: ConsoleClient) -> None:
    other = sign_in(gateway)
    try:
        reply = console.send("DELETE", "/ui/api/session", csrf=other.csrf)
        assert reply.status_code == 403
        assert console.http.get("/ui/api/session").status_code == 200
    finally:
        other.close()


def test_sign_in_from_foreign_origin_refused(gateway: Gateway) -> None:
    reply = sign_in_reply(gateway, gateway.admin_key, origin="https://evil.example")
    assert reply.status_code == 403
    assert "set-cookie" not in reply.headers


def test_only_admin_keys_may_sign_in(gateway: Gateway, user_key: dict[str, Any]) -> None:
    user = sign_in_reply(gateway, user_key["key"])
    assert user.status_code == 403 and user.json()["error"]["code"] == "admin_required"
    assert "set-cookie" not in user.headers
    wrong = sign_in_reply(gateway, "sk-gw-not-a-key")
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    for body in ({}, {"key": ""}, {"key": 5}, {"key": "x" * 600}):
        reply = httpx.post(gateway.url + "/ui/api/session", json=body, headers={"Origin": gateway.url})
        assert reply.status_code == 400, body
    admin_key = gateway.create_key(name="second-admin", is_admin=True)
    assert sign_in_reply(gateway, admin_key["key"]).status_code == 201


def test_sign_out_invalidates_the_session(gateway: Gateway, console: ConsoleClient) -> None:
    cookie = dict(console.http.cookies)
    out = console.send("DELETE", "/ui/api/session")
    assert out.status_code == 200
    assert 'gw_console=""' in out.headers["set-cookie"] or "max-age=0" in out.headers["set-cookie"].lower()
    # The old cookie, replayed, no longer works: the session is gone on the server.
    replay = httpx.get(gateway.url + "/ui/api/admin/keys", cookies=cookie)
    assert replay.status_code == 401


def test_revoking_the_signed_in_key_ends_its_sessions(gateway: Gateway) -> None:
    admin_key = gateway.create_key(name="soon-revoked-admin", is_admin=True)
    client = sign_in(gateway, admin_key["key"])
    try:
        assert client.http.get("/ui/api/admin/keys").status_code == 200
        with gateway.admin() as admin:
            assert admin.delete(f"/admin/keys/{admin_key['id']}").status_code == 200
        assert client.http.get("/ui/api/admin/keys").status_code == 401
    finally:
        client.close()


def test_re_keying_the_signed_in_key_ends_its_sessions(gateway: Gateway, pg_url: str) -> None:
    admin_key = gateway.create_key(name="re-keyed-admin", is_admin=True)
    client = sign_in(gateway, admin_key["key"])
    try:
        assert client.http.get("/ui/api/admin/keys").status_code == 200
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE api_keys SET key_hash = %s, updated_at = clock_timestamp() WHERE id = %s",
                (hashlib.sha256(b"a new secret").digest(), admin_key["id"]),
            )
        assert client.http.get("/ui/api/admin/keys").status_code == 401
    finally:
        client.close()


def test_pages_carry_a_strict_csp_and_no_inline_script(gateway: Gateway) -> None:
    page = httpx.get(gateway.url + "/ui")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "http" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page.text, flags=re.S)
    assert scripts and all('src="/ui/static/' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+\s*=", page.text, flags=re.I)  # no onclick= handlers in markup
    js = httpx.get(gateway.url + "/ui/static/app.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "default-src 'self'" in js.headers["content-security-policy"]


def test_static_files_cannot_escape_their_folder(gateway: Gateway) -> None:
    for path in (
        "/ui/static/routes.py",
        "/ui/static/..%2Froutes.py",
        "/ui/static/%2e%2e%2fsessions.py",
        "/ui/static/.hidden.js",
        "/ui/static/nope.js",
    ):
        assert httpx.get(gateway.url + path).status_code == 404, path


def test_admin_forwarding_stays_under_admin(gateway: Gateway, console: ConsoleClient) -> None:
    for sub in ("..%2F..%2Fmetrics", "keys%2F..%2F..%2Fmetrics", "%2e%2e/readyz", "keys//x"):
        reply = console.http.get("/ui/api/admin/" + sub)
        assert reply.status_code == 404, sub
        assert "gateway_requests" not in reply.text
    assert console.http.get("/ui/api/admin/nothing-here").status_code == 404


def test_errors_from_admin_routes_pass_through(console: ConsoleClient) -> None:
    bad = console.send("POST", "/ui/api/admin/keys", json={"name": "<img src=x onerror=alert(1)>"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "name"


def test_policy_edit_needs_if_match_through_the_console(console: ConsoleClient) -> None:
    current = console.http.get("/ui/api/admin/policies/default")
    assert current.status_code == 200
    etag = current.headers["etag"]
    no_match = console.send(
        "PUT",
        "/ui/api/admin/policies/default",
        content=current.text,
        headers={"Content-Type": "application/yaml"},
    )
    assert no_match.status_code == 428
    same = console.send(
        "PUT",
        "/ui/api/admin/policies/default",
        content=current.text,
        headers={"Content-Type": "application/yaml", "If-Match": etag},
    )
    assert same.status_code == 200 and same.json()["changed"] is False
    stale = console.send(
        "PUT",
        "/ui/api/admin/policies/default",
        content=current.text + "\n# x\n",
        headers={"Content-Type": "application/yaml", "If-Match": '"0"'},
    )
    assert stale.status_code == 412


def test_live_view_reports_targets_after_calls(
    gateway: Gateway, console: ConsoleClient, user_key: dict[str, Any]
) -> None:
    first = console.http.get("/ui/api/live")
    assert first.status_code == 200
    for _ in range(3):
        reply = httpx.post(
            gateway.url + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {user_key['key']}"},
            json={"model": "auto", "messages": [{"role": "user", "content": "Hello there"}]},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
    time.sleep(1.1)  # the next snapshot must be a new one, not a replacement of the first
    live = console.http.get("/ui/api/live").json()
    assert live["window_s"] is not None and live["window_s"] > 1
    served = {t["target"]: t for t in live["targets"]}
    assert served, live
    assert sum(t["requests_total"] for t in served.values()) >= 3
    assert live["requests_per_s"] > 0
    assert any(t["latency_p50_s"] is not None and t["latency_p50_s"] > 0 for t in served.values())
    assert sum(r["count_total"] for r in live["routing"]) >= 3


def test_cost_series_matches_the_cost_report(console: ConsoleClient, gateway: Gateway) -> None:
    params = {"group_by": "team", "start": "2020-01-01", "end": "2020-01-03"}
    empty = console.http.get("/ui/api/costs/series", params=params).json()
    assert len(empty["buckets"]) == 48 and empty["table"]["rows"] == [] and empty["bucket_s"] == 3600
    bad = console.http.get("/ui/api/costs/series", params={"group_by": "colour"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "group_by"
    backwards = console.http.get("/ui/api/costs/series", params={"start": "2026-02-01", "end": "2026-01-01"})
    assert backwards.status_code == 400
    series = console.http.get("/ui/api/costs/series", params={"group_by": "team"}).json()
    with gateway.admin() as admin:
        report = admin.get("/admin/costs", params={"group_by": "team"}).json()
    assert series["table"]["totals"] == report["totals"]
    assert sum(b["requests"] for b in series["buckets"]) == report["totals"]["requests"]
