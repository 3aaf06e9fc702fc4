"""A policy change made on one gateway process takes effect on another within two seconds, no restart."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.policies.helpers import YAML, default_text
from tests.support import Gateway

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
    policy_gateway: Gateway, second_policy_gateway: Gateway
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
