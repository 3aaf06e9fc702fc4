"""A policy change made on one gateway process takes effect on another within two seconds, no restart."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.policies.helpers import YAML, default_text, policy_yaml, unique_name
from tests.support import Gateway, Simulator, gateway_env

CHAT = {"model": "cheap", "messages": [{"role": "user", "content": "Say hello."}]}


def _wait_for(check: Callable[[], bool], *, within_s: float) -> float:
    """Seconds until check() is true; fails after within_s."""
    start = time.monotonic()
    while not check():
        elapsed = time.monotonic() - start
        assert elapsed < within_s, f"not seen within {within_s}s"
        time.sleep(0.02)
    return time.monotonic() - start


def test_change_on_one_process_is_served_by_the_other_within_two_seconds(
    policy_gateway: Gateway, second_policy_gateway: Gateway, policy_user_key: dict[str, Any]
) -> None:
    with policy_gateway.admin() as first, second_policy_gateway.admin() as second:
        before = first.get("/admin/policies/default")
        assert second.get("/admin/policies/default").headers["etag"] == before.headers["etag"]
        assert second.post("/admin/routing/explain", json=CHAT).json()["target"] == "llama-3.1-8b"

        # "cheap" now means the most capable target: a change the explain endpoint makes visible.
        edited = default_text().replace("strategy: cheapest", "strategy: highest_capability", 1)
        put = first.put(
            "/admin/policies/default", content=edited, headers={**YAML, "If-Match": before.headers["etag"]}
        )
        assert put.status_code == 200, put.text
        written_at = time.monotonic()
        new_etag = put.headers["etag"]
        version = new_etag.strip('"')

        # The writer serves it at once.
        explained = first.post("/admin/routing/explain", json=CHAT).json()
        assert explained["policy"]["version"] == version and explained["target"] != "llama-3.1-8b"

        seen = _wait_for(
            lambda: second.post("/admin/routing/explain", json=CHAT).json()["policy"]["version"] == version,
            within_s=2.0 - (time.monotonic() - written_at),
        )
        other = second.post("/admin/routing/explain", json=CHAT).json()
        assert other["target"] == explained["target"] and other["rule"] == "cheap-alias"
        got = second.get("/admin/policies/default")
        assert got.headers["etag"] == new_etag and got.text == edited
        print(f"\nhot reload seen on the other process after {seen * 1000:.0f} ms")
        chat = httpx.post(
            second_policy_gateway.url + "/v1/chat/completions",
            json=CHAT,
            headers={"Authorization": f"Bearer {policy_user_key['key']}"},
            timeout=30,
        )
        assert chat.status_code == 200, chat.text
        assert chat.headers["x-gateway-policy-version"] == version
        assert chat.headers["x-gateway-rule"] == "cheap-alias"

        # Roll back on the second process; the first follows just as fast.
        rolled = second.post(
            "/admin/policies/default/rollback", json={"version": int(before.headers["etag"].strip('"'))}
        )
        assert rolled.status_code == 200, rolled.text
        back = rolled.headers["etag"].strip('"')
        _wait_for(
            lambda: first.post("/admin/routing/explain", json=CHAT).json()["policy"]["version"] == back,
            within_s=2.0,
        )
        assert first.post("/admin/routing/explain", json=CHAT).json()["target"] == "llama-3.1-8b"


def test_invalid_edit_on_one_process_leaves_both_serving_the_active_version(
    policy_gateway: Gateway, second_policy_gateway: Gateway
) -> None:
    with policy_gateway.admin() as first, second_policy_gateway.admin() as second:
        etag = first.get("/admin/policies/default").headers["etag"]
        broken = default_text().replace("internal: true", "internal: maybe", 1)
        r = second.put("/admin/policies/default", content=broken, headers={**YAML, "If-Match": etag})
        assert r.status_code == 422
        time.sleep(1.0)  # two poll intervals: nothing may change anywhere
        for admin in (first, second):
            assert admin.get("/admin/policies/default").headers["etag"] == etag
            assert admin.post("/admin/routing/explain", json=CHAT).json()["policy"]["version"] == etag.strip(
                '"'
            )


def test_a_stored_version_that_no_longer_loads_is_not_served(
    policy_gateway: Gateway,
    second_policy_gateway: Gateway,
    policies_db_url: str,
    sim: Simulator,
    workdir: Path,
) -> None:
    """A version activated behind the API's back (or valid under an older schema) never replaces one."""
    name = unique_name("raw")
    with policy_gateway.admin() as admin:
        assert (
            admin.put(f"/admin/policies/{name}", content=policy_yaml(name), headers=YAML).status_code == 201
        )
    broken = policy_yaml(name).replace("strategy: cheapest", "strategy: cheapestt", 1)
    with psycopg.connect(policies_db_url, autocommit=True) as conn, conn.transaction():
        conn.execute(
            "INSERT INTO policy_versions (name, version, text, format, sha256, created_by)"
            " VALUES (%s, 2, %s, 'yaml', 'x', 'test')",
            (name, broken),
        )
        conn.execute("UPDATE policies SET active_version = 2 WHERE name = %s", (name,))
    time.sleep(1.2)
    # A process started now finds an active version it cannot load: it serves the newest one it can.
    env = gateway_env(
        database_url=policies_db_url, master_key=policy_gateway.admin_key, sim=sim, data_dir=workdir / "p3"
    )
    fresh = Gateway(env, workdir)
    try:
        with fresh.admin() as admin:
            served = {p["name"]: p["served_version"] for p in admin.get("/admin/policies").json()["data"]}
        assert served[name] == 1 and served["default"] is not None
    finally:
        fresh.stop()
    for gw in (policy_gateway, second_policy_gateway):
        with gw.admin() as admin:
            listed = {p["name"]: p for p in admin.get("/admin/policies").json()["data"]}
            explained = admin.post("/admin/routing/explain", json=CHAT, params={"policy": name})
        assert listed[name]["active_version"] == 2 and listed[name]["served_version"] == 1
        assert explained.status_code == 200 and explained.json()["policy"]["version"] == "1"
    with policy_gateway.admin() as admin:
        fixed = admin.put(
            f"/admin/policies/{name}",
            content=policy_yaml(name, description="fixed"),
            headers={**YAML, "If-Match": '"2"'},
        )
        assert fixed.status_code == 200 and fixed.json()["version"] == 3
        explained = admin.post("/admin/routing/explain", json=CHAT, params={"policy": name})
    assert explained.json()["policy"]["version"] == "3"
