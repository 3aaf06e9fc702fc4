"""Spend over time for the console's chart: one cost report per time bucket, top groups kept apart."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from gateway.accounting.reports import CostReports, Filters, money

MAX_SERIES = 6  # more groups than this are summed as "other" so the chart stays readable
OTHER = "(other)"
NONE_GROUP = "(none)"


def bucket_size(start: datetime, end: datetime) -> timedelta:
    """Hours for two days or less, days up to 100 days, weeks beyond (at most ~60 buckets)."""
    span = end - start
    if span <= timedelta(days=2):
        return timedelta(hours=1)
    if span <= timedelta(days=100):
        return timedelta(days=1)
    return timedelta(weeks=1)


async def spend_over_time(
    reports: CostReports, *, group_by: str, start: datetime, end: datetime, filters: Filters | None = None
) -> dict[str, Any]:
    """The whole range's report (the table) plus per-bucket spend of its biggest groups (the chart)."""
    whole = await reports.report(group_by=group_by, start=start, end=end, filters=filters)
    names = [row.group if row.group is not None else NONE_GROUP for row in whole.rows]
    kept = names[:MAX_SERIES]
    series = kept + ([OTHER] if len(names) > MAX_SERIES else [])
    step = bucket_size(start, end)
    buckets = []
    at = start
    while at < end:
        until = min(at + step, end)
        part = await reports.report(group_by=group_by, start=at, end=until, filters=filters)
        values: dict[str, Decimal] = {}
        for row in part.rows:
            name = row.group if row.group is not None else NONE_GROUP
            slot = name if name in kept else OTHER
            values[slot] = values.get(slot, Decimal(0)) + row.cost_usd
        buckets.append(
            {
                "start": at.isoformat(),
                "end": until.isoformat(),
                "requests": part.totals.requests,
                "cost_usd": {name: money(v) for name, v in values.items()},
            }
        )
        at = until
    return {
        "object": "cost_series",
        "group_by": group_by,
        "bucket_s": int(step.total_seconds()),
        "series": series,
        "buckets": buckets,
        "table": whole.to_json(),
    }
