"""The Lua copy of the UTC calendar agrees with Python's on every boundary that matters."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from gateway.limits.factory import redis_client
from gateway.limits.lua import _COMMON
from gateway.limits.periods import period_end_s, period_index

PROBE = (
    _COMMON
    + "local idx = period_index(ARGV[3], tonumber(ARGV[1]))\n"
    + "return {idx, period_end_ms(ARGV[3], idx)}"
)


def moments() -> list[float]:
    edges = []
    for year in (1970, 1999, 2000, 2024, 2026, 2027, 2028, 2100, 2400):
        for month in range(1, 13):
            start = datetime(year, month, 1, tzinfo=UTC)
            edges += [start.timestamp(), (start - timedelta(milliseconds=1)).timestamp()]
    rng = random.Random(3)
    return [e for e in edges if e >= 0] + [rng.uniform(0, 8e9) for _ in range(200)]


@pytest.mark.parametrize("period", ["day", "month", "total"])
async def test_lua_periods_match_python(redis_server, period):
    client = redis_client(redis_server.url)
    try:
        code = {"day": "bd", "month": "bm", "total": "bt"}[period]
        for moment in moments():
            now_ms = int(moment * 1000)
            index, end_ms = await client.eval(PROBE, 0, now_ms, 60, code)
            expected_index = period_index(period, now_ms / 1000)
            expected_end = period_end_s(period, expected_index)
            assert int(index) == expected_index, moment
            assert int(end_ms) == (-1 if expected_end is None else expected_end * 1000), moment
    finally:
        await client.aclose()
