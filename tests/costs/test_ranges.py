"""Report ranges: ISO dates and date-times in UTC, month defaults, and every refusal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.accounting.reports import check_group_by, iso, parse_moment, resolve_range
from gateway.errors import GatewayError

NOW = datetime(2026, 11, 28, 13, 30, tzinfo=UTC)


def test_no_dates_mean_the_current_month() -> None:
    assert resolve_range(None, None, now=NOW) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )


def test_december_rolls_into_the_next_year() -> None:
    start, end = resolve_range(None, None, now=datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def test_only_start_runs_to_the_end_of_this_month() -> None:
    assert resolve_range("2026-09-15", None, now=NOW) == (
        datetime(2026, 9, 15, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )


def test_only_end_starts_at_the_beginning_of_its_month() -> None:
    # An end on a month's first instant is exclusive: the range is the month before.
    assert resolve_range(None, "2026-10-01", now=NOW) == (
        datetime(2026, 9, 1, tzinfo=UTC),
        datetime(2026, 10, 1, tzinfo=UTC),
    )
    assert resolve_range(None, "2026-10-01T00:00:01Z", now=NOW)[0] == datetime(2026, 10, 1, tzinfo=UTC)


def test_date_times_with_offsets_become_utc_and_naive_ones_are_utc() -> None:
    assert parse_moment("2026-11-01T02:00:00+02:00", "start") == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_moment("2026-11-01T12:00:00", "start") == datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert parse_moment("2026-11-01T12:00:00.250Z", "start") == datetime(
        2026, 11, 1, 12, 0, 0, 250000, tzinfo=UTC
    )
    assert iso(datetime(2026, 11, 1, 12, tzinfo=UTC)) == "2026-11-01T12:00:00Z"


@pytest.mark.parametrize(
    ("start", "end", "param", "code"),
    [
        ("2026-11-02", "2026-11-01", "end", "invalid_range"),
        ("2026-11-01", "2026-11-01", "end", "invalid_range"),
        ("2025-01-01", "2026-02-05T00:00:00.000001Z", "end", "range_too_long"),
        ("yesterday", "2026-11-01", "start", "invalid_value"),
        ("2026-11-01", "2026-13-01", "end", "invalid_value"),
        ("2026-02-30", None, "start", "invalid_value"),
        ("", "nope", "end", "invalid_value"),
        ("2026-11-01T25:00:00Z", None, "start", "invalid_value"),
        # the edges of what a datetime can hold: refused, never a 500
        (None, "0001-01-01", "end", "invalid_range"),
        ("0001-01-01T00:00:00+01:00", None, "start", "invalid_value"),
        ("9999-12-31T23:00:00-05:00", None, "start", "invalid_value"),
        ("9999-12-31", None, "end", "invalid_range"),
        ("10000-01-01", None, "start", "invalid_value"),
        ("2026-11-01\x00", None, "start", "invalid_value"),
    ],
)
def test_bad_ranges_are_refused_with_the_parameter(
    start: str | None, end: str | None, param: str, code: str
) -> None:
    with pytest.raises(GatewayError) as caught:
        resolve_range(start, end, now=NOW)
    assert caught.value.status == 400
    assert (caught.value.param, caught.value.code) == (param, code)


def test_exactly_400_days_is_allowed() -> None:
    start, end = resolve_range("2025-01-01", "2026-02-05", now=NOW)
    assert (end - start).days == 400


@pytest.mark.parametrize("group_by", ["", "models", "MODEL", "cost_usd", "ts; drop table ledger"])
def test_unknown_group_by_is_refused(group_by: str) -> None:
    with pytest.raises(GatewayError) as caught:
        check_group_by(group_by)
    assert (caught.value.status, caught.value.param) == (400, "group_by")
