"""Admin API for costs: `GET /admin/costs` (JSON or CSV) and `GET /admin/costs/savings`. Admin keys only."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.accounting.prices import Price, litellm_price
from gateway.accounting.reports import CostReports, Filters, check_group_by, resolve_range
from gateway.api.responses import json_response
from gateway.auth.deps import AdminPrincipal
from gateway.errors import GatewayError

router = APIRouter()

_FORMATS = ("json", "csv")


def _reports(request: Request) -> CostReports:
    return request.app.state.cost_reports  # type: ignore[no-any-return]


_MAX_FILTER_CHARS = 256


def cost_filters(key_id: str | None, team: str | None, target: str | None) -> Filters:
    for name, value in (("key_id", key_id), ("team", team), ("target", target)):
        # PostgreSQL text cannot hold NUL: refuse it here rather than fail in the query.
        if value and ("\x00" in value or len(value) > _MAX_FILTER_CHARS):
            raise GatewayError(
                400,
                f"'{name}' must be at most {_MAX_FILTER_CHARS} characters, without NUL",
                param=name,
                code="invalid_value",
            )
    return Filters(key_id=key_id or None, team=team or None, target=target or None)


def reference_price(request: Request, reference: str) -> Price:
    """The active policy's price for a target (what the gateway charges), else litellm's list price."""
    state = request.app.state
    router = getattr(state, "router", None)
    registries = [router.runtime().targets if router is not None else {}]
    registries.append(getattr(state, "embedding_targets", None) or {})
    for targets in registries:
        target = targets.get(reference)
        if target is not None:
            return target.price  # type: ignore[no-any-return]
    price = litellm_price(reference)
    if price is None:
        raise GatewayError(
            400,
            f"no price known for reference '{reference}': name a configured target or a model priced in"
            " litellm's map",
            param="reference",
            code="unknown_reference",
        )
    return price


@router.get("/admin/costs")
async def cost_report(
    request: Request,
    _: AdminPrincipal,
    group_by: str = "model",
    start: str | None = None,
    end: str | None = None,
    key_id: str | None = None,
    team: str | None = None,
    target: str | None = None,
    format: str = "json",
) -> Response:
    check_group_by(group_by)
    if format not in _FORMATS:
        raise GatewayError(
            400, f"unknown format '{format}'; one of: json, csv", param="format", code="invalid_value"
        )
    start_at, end_at = resolve_range(start, end, now=datetime.now(UTC))
    report = await _reports(request).report(
        group_by=group_by, start=start_at, end=end_at, filters=cost_filters(key_id, team, target)
    )
    if format == "csv":
        name = f"costs-{group_by}-{start_at:%Y%m%dT%H%M%S}-{end_at:%Y%m%dT%H%M%S}.csv"
        return Response(
            report.to_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )
    return json_response(report.to_json())


@router.get("/admin/costs/savings")
async def cost_savings(
    request: Request,
    _: AdminPrincipal,
    reference: str = "gpt-4o",
    start: str | None = None,
    end: str | None = None,
    key_id: str | None = None,
    team: str | None = None,
    target: str | None = None,
) -> Response:
    price = reference_price(request, reference)
    start_at, end_at = resolve_range(start, end, now=datetime.now(UTC))
    report = await _reports(request).savings(
        reference=reference,
        price=price,
        start=start_at,
        end=end_at,
        filters=cost_filters(key_id, team, target),
    )
    return json_response(report.to_json())
