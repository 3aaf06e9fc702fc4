"""Cost reports read from the ledger: totals per group and the savings against one reference price.

Money stays `Decimal` from PostgreSQL's `numeric` to the formatted string, so a report's total equals
`SELECT sum(cost_usd) FROM ledger` over the same range to the last digit. The range is `[start, end)` in UTC.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from psycopg import sql

from gateway.accounting.prices import Price
from gateway.errors import GatewayError
from gateway.storage.db import Database

# group_by name -> the SQL expression it groups on (days are UTC calendar days).
GROUPS: dict[str, sql.Composable] = {
    "model": sql.Identifier("requested_model"),
    "target": sql.Identifier("target"),
    "key": sql.Identifier("key_id"),
    "team": sql.Identifier("team"),
    "rule": sql.Identifier("rule"),
    "provider": sql.Identifier("provider"),
    # UTC days from the instant itself, whatever the session's TimeZone.
    "day": sql.SQL("date_bin('1 day', ts, timestamptz '2000-01-01 00:00:00+00')"),
}
MAX_RANGE = timedelta(days=400)
_EARLIEST = datetime.min.replace(tzinfo=UTC)
CSV_FIELDS = (
    "group",
    "requests",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cost_usd",
)
TOTAL_LABEL = "TOTAL"
# Rows of these endpoints are not chat traffic a router could have sent elsewhere.
NOT_ROUTED_ENDPOINTS = ("embeddings",)
_TEN_PLACES = Decimal("1E-10")
_PERCENT_PLACES = Decimal("0.01")
# Enough significant digits that no sum of numeric(20, 10) amounts is ever rounded.
_SUM_PRECISION = 60
# Spreadsheets run cells that start with these as formulas; requested_model comes from clients.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def money(value: Decimal) -> str:
    """A USD amount as a plain decimal string, never in exponent form ("0E-10")."""
    return format(value, "f")


@dataclass(frozen=True, slots=True)
class Filters:
    key_id: str | None = None
    team: str | None = None
    target: str | None = None


@dataclass(frozen=True, slots=True)
class CostRow:
    group: str | None
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost_usd: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "requests": self.requests,
            "errors": self.errors,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "cost_usd": money(self.cost_usd),
        }


@dataclass(frozen=True, slots=True)
class CostReport:
    group_by: str
    start: datetime
    end: datetime
    filters: Filters
    rows: list[CostRow]
    totals: CostRow

    def to_json(self) -> dict[str, Any]:
        totals = self.totals.to_json()
        del totals["group"]
        return {
            "object": "cost_report",
            "group_by": self.group_by,
            "start": iso(self.start),
            "end": iso(self.end),
            "currency": "USD",
            "filters": {k: v for k, v in _filter_items(self.filters) if v is not None},
            "rows": [r.to_json() for r in self.rows],
            "totals": totals,
        }

    def to_csv(self) -> str:
        """A header row, one line per group (no group: empty cell), then a `TOTAL` line."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_FIELDS)
        for row in self.rows:
            writer.writerow(_csv_cells(row, csv_safe(row.group) if row.group is not None else ""))
        writer.writerow(_csv_cells(self.totals, TOTAL_LABEL))
        return out.getvalue()


@dataclass(frozen=True, slots=True)
class SavingsRow:
    target: str | None
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost_usd: Decimal
    reference_cost_usd: Decimal

    @property
    def saving_usd(self) -> Decimal:
        return self.reference_cost_usd - self.cost_usd

    @property
    def saving_percent(self) -> Decimal | None:
        if not self.reference_cost_usd:
            return None
        return (self.saving_usd * 100 / self.reference_cost_usd).quantize(_PERCENT_PLACES, ROUND_HALF_EVEN)

    def to_json(self) -> dict[str, Any]:
        percent = self.saving_percent
        return {
            "target": self.target,
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "cost_usd": money(self.cost_usd),
            "reference_cost_usd": money(self.reference_cost_usd),
            "saving_usd": money(self.saving_usd),
            "saving_percent": money(percent) if percent is not None else None,
        }


@dataclass(frozen=True, slots=True)
class SavingsReport:
    reference: str
    reference_price: Price
    start: datetime
    end: datetime
    filters: Filters
    rows: list[SavingsRow]
    totals: SavingsRow

    def to_json(self) -> dict[str, Any]:
        totals = self.totals.to_json()
        del totals["target"]
        million = Decimal(1_000_000)
        cached = self.reference_price.cached_input
        return {
            "object": "cost_savings",
            "reference": self.reference,
            "reference_price_per_million": {
                "input": money((self.reference_price.input * million).normalize()),
                "output": money((self.reference_price.output * million).normalize()),
                "cached_input": money((cached * million).normalize()) if cached is not None else None,
            },
            "start": iso(self.start),
            "end": iso(self.end),
            "currency": "USD",
            "filters": {k: v for k, v in _filter_items(self.filters) if v is not None},
            "rows": [r.to_json() for r in self.rows],
            "totals": totals,
        }


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def csv_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: a leading quote before anything it would evaluate."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def parse_moment(text: str, param: str) -> datetime:
    """An ISO date (midnight UTC) or date-time (UTC unless it names an offset)."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: an offset that moves it out of years 1-9999
        raise GatewayError(
            400,
            f"'{param}' must be an ISO date (2026-11-01) or date-time (2026-11-01T12:00:00Z),"
            f" not '{text[:64]}'",
            param=param,
            code="invalid_value",
        ) from None


def month_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(moment: datetime) -> datetime:
    return datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=UTC)


def resolve_range(start: str | None, end: str | None, *, now: datetime) -> tuple[datetime, datetime]:
    """`[start, end)`; no end: the end of the current month; no start: the start of end's month."""
    end_at = parse_moment(end, "end") if end else next_month(now)
    if start:
        start_at = parse_moment(start, "start")
    elif end_at > _EARLIEST:
        start_at = month_start(end_at - timedelta(microseconds=1))
    else:
        start_at = end_at  # nothing can come before the first instant of year 1
    if end_at <= start_at:
        raise GatewayError(400, "'end' must be after 'start'", param="end", code="invalid_range")
    if end_at - start_at > MAX_RANGE:
        raise GatewayError(
            400, f"the range may span at most {MAX_RANGE.days} days", param="end", code="range_too_long"
        )
    return start_at, end_at


def check_group_by(group_by: str) -> str:
    if group_by not in GROUPS:
        raise GatewayError(
            400,
            f"unknown group_by '{group_by}'; one of: {', '.join(GROUPS)}",
            param="group_by",
            code="invalid_value",
        )
    return group_by


class CostReports:
    """Aggregates the ledger, one query per report; totals are the exact sum of the groups."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def report(
        self, *, group_by: str, start: datetime, end: datetime, filters: Filters | None = None
    ) -> CostReport:
        group = GROUPS[check_group_by(group_by)]
        filters = filters or Filters()
        where, params = _where(start, end, filters)
        # A plain GROUP BY, not GROUPING SETS: only this gets a parallel plan (~2x faster, evals/bench_costs).
        query = sql.SQL(
            "SELECT {g} AS grp, count(*), count(*) FILTER (WHERE status >= 400),"
            " sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cost_usd)"
            " FROM ledger WHERE {where} GROUP BY 1"
        ).format(g=group, where=where)
        rows = [
            CostRow(
                _group_label(grp),
                int(n),
                int(errors),
                int(prompt),
                int(completion),
                int(cached),
                Decimal(cost),
            )
            for grp, n, errors, prompt, completion, cached, cost in await self._fetch(query, params)
        ]
        totals = total_of(rows)
        rows.sort(key=_order_for(group_by))
        return CostReport(group_by, start, end, filters, rows, totals)

    async def savings(
        self,
        *,
        reference: str,
        price: Price,
        start: datetime,
        end: datetime,
        filters: Filters | None = None,
    ) -> SavingsReport:
        """What the routed calls cost per target, against the same tokens at the reference's price."""
        filters = filters or Filters()
        where, params = _where(start, end, filters)
        query = sql.SQL(
            "SELECT target, count(*), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0),"
            " coalesce(sum(cached_tokens), 0),"
            " coalesce(sum(least(greatest(cached_tokens, 0), prompt_tokens)), 0),"
            " coalesce(sum(cost_usd), 0)"
            " FROM ledger WHERE {where} AND endpoint <> ALL(%(not_routed)s) GROUP BY target"
        ).format(where=where)
        params["not_routed"] = list(NOT_ROUTED_ENDPOINTS)
        rows = [
            SavingsRow(
                target,
                int(requests),
                int(prompt),
                int(completion),
                int(cached),
                Decimal(cost),
                reference_cost(price, int(prompt), int(completion), int(billable_cached)),
            )
            for target, requests, prompt, completion, cached, billable_cached, cost in await self._fetch(
                query, params
            )
        ]
        rows.sort(key=lambda r: (-r.cost_usd, r.target or ""))
        with localcontext(prec=_SUM_PRECISION):
            totals = SavingsRow(
                None,
                sum(r.requests for r in rows),
                sum(r.prompt_tokens for r in rows),
                sum(r.completion_tokens for r in rows),
                sum(r.cached_tokens for r in rows),
                sum((r.cost_usd for r in rows), Decimal(0)),
                sum((r.reference_cost_usd for r in rows), Decimal(0)),
            )
        return SavingsReport(reference, price, start, end, filters, rows, totals)

    async def _fetch(self, query: sql.Composed, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        async with self._db.pool.connection() as conn:
            cur = await conn.execute(query, params)
            return await cur.fetchall()


def total_of(rows: Sequence[CostRow]) -> CostRow:
    """The groups' sum; Decimal addition with room for every digit is exact, like SQL's numeric sum."""
    with localcontext(prec=_SUM_PRECISION):
        return CostRow(
            None,
            sum(r.requests for r in rows),
            sum(r.errors for r in rows),
            sum(r.prompt_tokens for r in rows),
            sum(r.completion_tokens for r in rows),
            sum(r.cached_tokens for r in rows),
            sum((r.cost_usd for r in rows), Decimal(0)),
        )


def _group_label(value: object) -> str | None:
    """Group values as text; a day (a UTC midnight) as YYYY-MM-DD."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d")
    return str(value)


def reference_cost(price: Price, prompt: int, completion: int, billable_cached: int) -> Decimal:
    """Summed tokens at one price; `billable_cached` is already clamped per row to that row's prompt."""
    if price.cached_input is None:
        billable_cached = 0
    total = (prompt - billable_cached) * price.input + completion * price.output
    if billable_cached and price.cached_input is not None:
        total += billable_cached * price.cached_input
    return total.quantize(_TEN_PLACES, ROUND_HALF_EVEN)


def _where(start: datetime, end: datetime, filters: Filters) -> tuple[sql.Composable, dict[str, Any]]:
    clauses: list[sql.Composable] = [sql.SQL("ts >= %(start)s AND ts < %(end)s")]
    params: dict[str, Any] = {"start": start, "end": end}
    for column, value in _filter_items(filters):
        if value is not None:
            clauses.append(sql.SQL("{} = %({})s").format(sql.Identifier(column), sql.SQL(column)))
            params[column] = value
    return sql.SQL(" AND ").join(clauses), params


def _filter_items(filters: Filters) -> Sequence[tuple[str, str | None]]:
    return (("key_id", filters.key_id), ("team", filters.team), ("target", filters.target))


def _order_for(group_by: str) -> Any:
    if group_by == "day":
        return lambda r: r.group or ""
    return lambda r: (-r.cost_usd, -r.requests, r.group is None, r.group or "")


def _csv_cells(row: CostRow, label: str) -> list[str | int]:
    return [
        label,
        row.requests,
        row.errors,
        row.prompt_tokens,
        row.completion_tokens,
        row.cached_tokens,
        money(row.cost_usd),
    ]
