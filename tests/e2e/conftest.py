"""Fixtures for tests that need several gateway replicas sharing PostgreSQL and Redis."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.limits.conftest import RedisServer
from tests.support import Gateway, Simulator, gateway_env


@pytest.fixture(scope="module")
def redis_for_replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    server = RedisServer(binary, tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def two_replicas(
    pg_url: str, sim: Simulator, gateway: Gateway, redis_for_replicas: RedisServer, workdir: Path
) -> Iterator[tuple[Gateway, Gateway]]:
    replicas = []
    for i in range(2):
        env = gateway_env(
            database_url=pg_url,
            master_key=gateway.admin_key,
            sim=sim,
            data_dir=workdir / f"redis-replica-{i}",
            REDIS_URL=redis_for_replicas.url,
        )
        replicas.append(Gateway(env, workdir))
    yield replicas[0], replicas[1]
    for r in replicas:
        r.stop()
