"""Fixtures of the console tests: a second gateway with short-lived sessions and a Secure cookie."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Gateway, Simulator, gateway_env

IDLE_S = 2.0
ABSOLUTE_S = 5.0


@pytest.fixture(scope="module")
def short_gateway(pg_url: str, sim: Simulator, workdir: Path) -> Iterator[Gateway]:
    """A gateway whose console sessions idle out after 2 s, end after 5 s, and whose cookie is Secure."""
    env = gateway_env(
        database_url=pg_url,
        master_key="sk-gw-admin-" + secrets.token_urlsafe(16),
        sim=sim,
        data_dir=workdir / "data-ui-short",
        GATEWAY_UI_IDLE_TIMEOUT_S=str(IDLE_S),
        GATEWAY_UI_ABSOLUTE_TIMEOUT_S=str(ABSOLUTE_S),
        GATEWAY_UI_SECURE_COOKIE="always",
    )
    gw = Gateway(env, workdir)
    yield gw
    gw.stop()
