"""Shared fixtures: a real PostgreSQL, a simulated upstream process and a gateway process in front of it."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import Gateway, Simulator, gateway_env, start_postgres

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    artifacts = os.environ.get("TEST_ARTIFACTS_DIR")
    if artifacts:
        path = Path(artifacts)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("gateway")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    url, server, _ = start_postgres()
    yield url
    server.cleanup()


@pytest.fixture(scope="session")
def sim(workdir: Path) -> Iterator[Simulator]:
    simulator = Simulator(workdir)
    yield simulator
    simulator.stop()


@pytest.fixture(scope="session")
def gateway(pg_url: str, sim: Simulator, workdir: Path) -> Iterator[Gateway]:
    # Many tests inject upstream faults through this one process; its circuit breakers must not open and
    # turn later tests' calls into fast 503s (the breaker has a gateway of its own in test_routing.py).
    env = gateway_env(
        database_url=pg_url,
        master_key="sk-gw-admin-" + secrets.token_urlsafe(16),
        sim=sim,
        data_dir=workdir / "data",
        GATEWAY_BREAKER_FAILURES="1000000",
    )
    gw = Gateway(env, workdir)
    yield gw
    gw.stop()


@pytest.fixture()
def clean_sim(sim: Simulator) -> Iterator[Simulator]:
    sim.clear()
    yield sim
    sim.clear()


@pytest.fixture(scope="session")
def user_key(gateway: Gateway) -> dict[str, Any]:
    return gateway.create_key(name="e2e-user", team="team-a")
