"""Keys: shown once, stored hashed, scoped, revoked on every replica within a second."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.support import Gateway, Simulator, gateway_env


def call(url: str, key: str) -> int:
    r = httpx.post(
        url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "llama-3.1-8b", "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )
    return r.status_code


@pytest.fixture(scope="module")
def second_gateway(pg_url: str, sim: Simulator, gateway: Gateway, workdir: Path) -> Iterator[Gateway]:
    env = gateway_env(database_url=pg_url, master_key=gateway.admin_key, sim=sim, data_dir=workdir / "data2")
    gw = Gateway(env, workdir)
    yield gw
    gw.stop()


def test_secret_is_shown_once_and_only_its_hash_is_stored(gateway: Gateway, pg_url: str) -> None:
    created = gateway.create_key(name="hash-check", team="team-h", metadata={"env": "test"})
    secret = created["key"]
    assert secret.startswith("sk-gw-") and len(secret) > 40
    with gateway.admin() as admin:
        shown = admin.get(f"/admin/keys/{created['id']}").json()
        listed = admin.get("/admin/keys").json()["data"]
    assert "key" not in shown and secret not in str(shown) and secret not in str(listed)
    assert shown["key_prefix"] == secret[:10] and shown["team"] == "team-h"
    with psycopg.connect(pg_url) as conn:
        row = conn.execute(
            "SELECT key_hash, key_prefix FROM api_keys WHERE id = %s", (created["id"],)
        ).fetchone()
        dump = conn.execute("SELECT string_agg(t::text, ' ') FROM api_keys t").fetchone()
    assert row is not None and bytes(row[0]) == hashlib.sha256(secret.encode()).digest()
    assert dump is not None and secret not in dump[0]


def test_key_created_on_one_replica_works_on_the_other_and_revocation_holds_within_a_second(
    gateway: Gateway, second_gateway: Gateway
) -> None:
    created = gateway.create_key(name="replicated")
    deadline = time.monotonic() + 2
    while call(second_gateway.url, created["key"]) != 200:
        assert time.monotonic() < deadline, "the other replica never learnt the new key"
        time.sleep(0.05)
    with gateway.admin() as admin:
        assert admin.delete(f"/admin/keys/{created['id']}").status_code == 200
    revoked_at = time.monotonic()
    assert call(gateway.url, created["key"]) == 401  # the replica that revoked: at once
    while call(second_gateway.url, created["key"]) != 401:
        assert time.monotonic() - revoked_at < 1.0, "revocation took more than a second on the other replica"
        time.sleep(0.02)


def test_create_key_validation_and_mass_assignment(gateway: Gateway) -> None:
    with gateway.admin() as admin:
        for body in (
            {"name": ""},
            {"name": "x", "scopes": ["root"]},
            {"name": "x", "key_hash": "00"},
            {"name": "x", "id": "key_mine"},
            {"name": "x", "revoked_at": None},
            {"name": "x", "allowed_models": "gpt-4o"},
            {"name": "a\nb"},
        ):
            r = admin.post("/admin/keys", json=body)
            assert r.status_code == 400, (body, r.text)
            assert r.json()["error"]["message"]
        assert admin.get("/admin/keys/key_doesnotexist").status_code == 404
        assert admin.delete("/admin/keys/key_doesnotexist").status_code == 404
        assert admin.patch("/admin/keys/key_doesnotexist", json={"name": "y"}).status_code == 404


def test_update_key_changes_what_it_may_use(gateway: Gateway) -> None:
    created = gateway.create_key(name="to-update")
    assert call(gateway.url, created["key"]) == 200
    with gateway.admin() as admin:
        r = admin.patch(f"/admin/keys/{created['id']}", json={"allowed_models": ["gpt-4o"]})
        assert r.status_code == 200 and r.json()["allowed_models"] == ["gpt-4o"]
    assert call(gateway.url, created["key"]) == 403


def test_expired_key_is_refused(gateway: Gateway) -> None:
    created = gateway.create_key(name="expiring", expires_at="2020-01-01T00:00:00Z")
    assert call(gateway.url, created["key"]) == 401


def test_admin_key_created_through_api_can_administer(gateway: Gateway) -> None:
    created = gateway.create_key(name="second-admin", is_admin=True)
    r = httpx.get(gateway.url + "/admin/keys", headers={"Authorization": f"Bearer {created['key']}"})
    assert r.status_code == 200


def test_the_admin_scope_grants_and_takes_away_admin_rights(gateway: Gateway) -> None:
    """An admin key is one with the admin scope (as at creation): a PATCH that drops the scope demotes the
    key at once, console session included; one that adds it promotes the key."""
    created = gateway.create_key(name="demote-me", scopes=["chat", "admin"])
    assert created["is_admin"] is True
    own = {"Authorization": f"Bearer {created['key']}"}
    session = httpx.post(
        gateway.url + "/ui/api/session", headers={"Origin": gateway.url}, json={"key": created["key"]}
    )
    assert session.status_code == 201
    cookies = session.cookies
    assert httpx.get(gateway.url + "/ui/api/session", cookies=cookies).status_code == 200
    assert httpx.get(gateway.url + "/admin/keys", headers=own).status_code == 200
    with gateway.admin() as admin:
        r = admin.patch(f"/admin/keys/{created['id']}", json={"scopes": ["chat"]})
        assert r.status_code == 200 and r.json()["scopes"] == ["chat"] and r.json()["is_admin"] is False
    assert httpx.get(gateway.url + "/admin/keys", headers=own).status_code == 403
    assert httpx.post(gateway.url + "/admin/keys", headers=own, json={"name": "minted"}).status_code == 403
    assert httpx.get(gateway.url + "/v1/files", headers=own).status_code == 403  # 'files' is not its scope
    assert httpx.get(gateway.url + "/ui/api/session", cookies=cookies).status_code == 401
    assert call(gateway.url, created["key"]) == 200  # still a working caller key
    with gateway.admin() as admin:
        r = admin.patch(f"/admin/keys/{created['id']}", json={"scopes": ["chat", "admin"]})
        assert r.status_code == 200 and r.json()["is_admin"] is True
    assert httpx.get(gateway.url + "/admin/keys", headers=own).status_code == 200


def test_cli_keys_create_list_revoke(gateway: Gateway, pg_url: str, workdir: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": pg_url}

    def cli(*args: str) -> str:
        command = [sys.executable, "-m", "gateway", "keys", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=60).stdout

    name = "cli-" + secrets.token_hex(4)
    created: dict[str, Any] = json.loads(cli("create", "--name", name, "--team", "cli-team"))
    listing = cli("list")
    assert created["id"] in listing and created["key"] not in listing
    # --admin gives the admin scope too, so that a PATCH of the key's scopes keeps it an admin key.
    made_admin: dict[str, Any] = json.loads(cli("create", "--name", name + "-admin", "--admin"))
    assert made_admin["is_admin"] is True and "admin" in made_admin["scopes"]
    with gateway.admin() as admin:
        patched = admin.patch(f"/admin/keys/{made_admin['id']}", json={"scopes": ["chat", "files", "admin"]})
    assert patched.status_code == 200 and patched.json()["is_admin"] is True
    cli("revoke", created["id"])
    deadline = time.monotonic() + 2
    while call(gateway.url, created["key"]) != 401:
        assert time.monotonic() < deadline
        time.sleep(0.05)
