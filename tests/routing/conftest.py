"""Fixtures for the routing tests."""

from __future__ import annotations

import pytest

from gateway.routing import Policy, load_policy_file

from .builders import DEFAULT_POLICY


@pytest.fixture(scope="session")
def default_policy() -> Policy:
    loaded = load_policy_file(DEFAULT_POLICY)
    assert isinstance(loaded, Policy), "\n".join(str(p) for p in loaded)
    return loaded
