"""Shared by the limits tests: one admit call with defaults for what a test does not care about."""

from __future__ import annotations

from decimal import Decimal

ZERO = Decimal(0)


async def admit(
    limiter,
    *,
    key="k1",
    team="t1",
    target="gpt-4o",
    key_limits=None,
    team_limits=None,
    target_limits=None,
    tokens=0,
    cost=ZERO,
):
    """One admit with defaults for whatever a test does not care about."""
    return await limiter.admit(
        key_id=key,
        team=team,
        target=target,
        key_limits=key_limits,
        team_limits=team_limits,
        target_limits=target_limits,
        tokens=tokens,
        max_cost_usd=cost,
    )
