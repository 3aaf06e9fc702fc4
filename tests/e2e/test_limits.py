"""Limits and budgets through real gateway processes: headers, 429s, budgets, exactness across replicas."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.support import Gateway

BODY = {"model": "llama-3.1-8b", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}


def call(gateway: Gateway, key: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(
        gateway.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json=body or BODY,
        timeout=30,
    )


def test_rpm_limit_gives_429_with_openai_headers(gateway: Gateway) -> None:
    key = gateway.create_key(name="rpm3", limits={"rpm": 3})["key"]
    replies = [call(gateway, key) for _ in range(4)]
    assert [r.status_code for r in replies] == [200, 200, 200, 429]
    ok, refused = replies[0], replies[3]
    assert ok.headers["x-ratelimit-limit-requests"] == "3"
    assert ok.headers["x-ratelimit-remaining-requests"] == "2"
    assert ok.headers["x-ratelimit-reset-requests"]
    assert refused.json()["error"]["code"] == "requests_limit_exceeded"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"


def test_tpm_reserves_max_tokens_up_front(gateway: Gateway) -> None:
    key = gateway.create_key(name="tpm", limits={"tpm": 200})["key"]
    assert call(gateway, key, {**BODY, "max_tokens": 150}).status_code == 200
    # The first call's real usage was small, so its reservation was corrected down: a second fits.
    assert call(gateway, key, {**BODY, "max_tokens": 150}).status_code == 200
    too_big = call(gateway, key, {**BODY, "max_tokens": 5000})
    assert too_big.status_code == 429 and too_big.json()["error"]["code"] == "tokens_limit_exceeded"


def test_budget_stops_a_key_and_admin_sees_spend(gateway: Gateway) -> None:
    # gpt-4o: a call of ~20 prompt + 16 completion tokens costs ~$0.0002; reserve 100 output tokens each.
    created = gateway.create_key(name="budget", limits={"budgets": [{"period": "total", "usd": 0.0006}]})
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 100}
    statuses = [call(gateway, created["key"], body).status_code for _ in range(6)]
    assert statuses[0] == 200 and statuses[-1] == 429
    refused = call(gateway, created["key"], {**body, "user": "someone-else"})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "budget_exceeded"
    with gateway.admin() as admin:
        shown = admin.get(f"/admin/keys/{created['id']}").json()
    total = next(s for s in shown["spend"] if s["period"] == "total")
    assert float(total["spent_usd"]) > 0 and float(total["budget_usd"]) == pytest.approx(0.0006)
    assert float(total["spent_usd"]) <= 0.0006 + 0.0011  # at most one call's worst case over


def test_team_limits_apply_to_every_key_of_the_team(gateway: Gateway) -> None:
    with gateway.admin() as admin:
        assert admin.put("/admin/teams/team-rpm", json={"limits": {"rpm": 2}}).status_code == 200
        assert admin.get("/admin/teams/team-rpm").json()["limits"] == {"rpm": 2}
    a = gateway.create_key(name="t1", team="team-rpm")["key"]
    b = gateway.create_key(name="t2", team="team-rpm")["key"]
    assert [call(gateway, a).status_code, call(gateway, b).status_code, call(gateway, a).status_code] == [
        200,
        200,
        429,
    ]


@pytest.mark.parametrize(
    "limits",
    [
        {"rpm": -1},
        {"rpm": 10**9},
        {"tpm": "lots"},
        {"budgets": [{"period": "week", "usd": 1}]},
        {"budgets": [{"period": "day", "usd": -5}]},
        {"rpms": 10},
    ],
)
def test_negative_absurd_or_misspelt_limits_are_refused(gateway: Gateway, limits: dict[str, Any]) -> None:
    with gateway.admin() as admin:
        r = admin.post("/admin/keys", json={"name": "bad-limits", "limits": limits})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["message"]
        assert admin.put("/admin/teams/t-bad", json={"limits": limits}).status_code == 400


def test_a_key_cannot_raise_its_own_limits(gateway: Gateway) -> None:
    created = gateway.create_key(name="self-serve", limits={"rpm": 1})
    h = {"Authorization": f"Bearer {created['key']}"}
    for method, path, body in (
        ("PATCH", f"/admin/keys/{created['id']}", {"limits": {"rpm": 1000}}),
        ("PUT", "/admin/teams/default", {"limits": {}}),
        ("POST", "/admin/keys", {"name": "mine", "is_admin": True}),
    ):
        assert httpx.request(method, gateway.url + path, json=body, headers=h).status_code == 403
    # The chat body cannot carry limits either: unknown top-level fields change nothing.
    assert call(gateway, created["key"], {**BODY, "limits": {"rpm": 1000}}).status_code == 200
    assert call(gateway, created["key"]).status_code == 429


def test_rpm_is_exact_across_two_replicas_sharing_redis(two_replicas: tuple[Gateway, Gateway]) -> None:
    one, two = two_replicas
    key = one.create_key(name="burst", limits={"rpm": 100})["key"]

    async def burst() -> list[int]:
        limits = httpx.Limits(max_connections=250)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:

            async def fire(i: int) -> int:
                url = (one if i % 2 else two).url + "/v1/chat/completions"
                r = await client.post(url, headers={"Authorization": f"Bearer {key}"}, json=BODY)
                return r.status_code

            return await asyncio.gather(*(fire(i) for i in range(500)))

    # The key must be known to both replicas before the burst (cache refresh ≤ 0.25 s).
    import time

    deadline = time.monotonic() + 3
    while call(two, key, {**BODY, "messages": [{"role": "user", "content": "warm"}]}).status_code == 401:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    statuses = asyncio.run(burst())
    assert statuses.count(200) == 99  # one request went to warming the second replica's cache
    assert statuses.count(429) == 401


def test_every_choice_is_reserved(gateway: Gateway) -> None:
    """n choices may each write max_tokens: the reservation is n times the output (OPERATIONS.md's bound)."""
    key = gateway.create_key(name="tpm-n", limits={"tpm": 1000})["key"]
    assert call(gateway, key, {**BODY, "n": 8, "max_tokens": 200}).status_code == 429  # 1,600 > 1,000
    assert call(gateway, key, {**BODY, "n": 4, "max_tokens": 200}).status_code == 200  # 800 fits


def embed(gateway: Gateway, key: str, model: str, text: str, **extra: Any) -> httpx.Response:
    return httpx.post(
        gateway.url + "/v1/embeddings",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": model, "input": text, **extra},
        timeout=60,
    )


def test_embeddings_reserve_their_input_and_say_so(gateway: Gateway) -> None:
    """A provider's embedding model reserves the input's tokens like the local one; replies carry the
    x-ratelimit headers; a refused local call gives back its slot."""
    text = "the quick brown fox jumps over the lazy dog " * 5  # ~45 tokens
    tight = gateway.create_key(name="embed-tpm", limits={"tpm": 20})["key"]
    assert embed(gateway, tight, "text-embedding-3-small", text).status_code == 429
    assert embed(gateway, tight, "all-MiniLM-L6-v2", text).status_code == 429
    roomy = gateway.create_key(name="embed-rpm", limits={"rpm": 10, "max_concurrency": 1})["key"]
    for model in ("text-embedding-3-small", "all-MiniLM-L6-v2"):
        r = embed(gateway, roomy, model, "hello")
        assert r.status_code == 200, r.text
        assert r.headers["x-ratelimit-limit-requests"] == "10"
        assert r.headers["x-gateway-target"] == model
    assert embed(gateway, roomy, "all-MiniLM-L6-v2", "hello", dimensions=7).status_code == 400
    assert embed(gateway, roomy, "all-MiniLM-L6-v2", "hello").status_code == 200  # the slot came back
