"""Two gateway processes sharing a database of their own, so policy edits here never reach other tests."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.support import Gateway, Simulator, gateway_env


@pytest.fixture(scope="session")
def policies_db_url(pg_url: str) -> str:
    """A fresh database on the shared PostgreSQL server."""
    name = "policies_" + secrets.token_hex(4)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # a generated identifier, not user input
    parts = urlsplit(pg_url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def policy_gateway(policies_db_url: str, sim: Simulator, workdir: Path) -> Iterator[Gateway]:
    env = gateway_env(
        database_url=policies_db_url,
        master_key="sk-gw-admin-" + secrets.token_urlsafe(16),
        sim=sim,
        data_dir=workdir / "policies-data-1",
    )
    gw = Gateway(env, workdir)
    yield gw
    gw.stop()


@pytest.fixture(scope="session")
def second_policy_gateway(
    policies_db_url: str, sim: Simulator, policy_gateway: Gateway, workdir: Path
) -> Iterator[Gateway]:
    env = gateway_env(
        database_url=policies_db_url,
        master_key=policy_gateway.admin_key,
        sim=sim,
        data_dir=workdir / "policies-data-2",
    )
    gw = Gateway(env, workdir)
    yield gw
    gw.stop()


@pytest.fixture(scope="session")
def policy_user_key(policy_gateway: Gateway) -> dict[str, Any]:
    return policy_gateway.create_key(name="policies-user", team="team-p")
