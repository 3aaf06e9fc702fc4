"""Budget periods in UTC: day and month indexes and when they end. The Lua copy must agree (tested)."""

from __future__ import annotations

from datetime import UTC, datetime

DAY_S = 86_400


def period_index(period: str, now_s: float) -> int:
    """0 for "total"; days since the epoch for "day"; year*12 + month-1 for "month"."""
    if period == "day":
        return int(now_s // DAY_S)
    if period == "month":
        moment = datetime.fromtimestamp(now_s, UTC)
        return moment.year * 12 + moment.month - 1
    if period == "total":
        return 0
    raise ValueError(f"unknown budget period {period!r}")


def period_end_s(period: str, index: int) -> int | None:
    """Epoch seconds at which the period with this index ends; None for "total"."""
    if period == "day":
        return (index + 1) * DAY_S
    if period == "month":
        year, month = divmod(index + 1, 12)
        return int(datetime(year, month + 1, 1, tzinfo=UTC).timestamp())
    if period == "total":
        return None
    raise ValueError(f"unknown budget period {period!r}")
