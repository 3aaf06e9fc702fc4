"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.api.responses import json_response
from gateway.auth.deps import AdminPrincipal

router = APIRouter()


@router.get("/healthz")
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    state = request.app.state
    if getattr(state, "draining", False):
        return json_response({"status": "draining"}, status=503)
    db_ok = await state.db.ping()
    body = {
        "status": "ready" if db_ok else "not_ready",
        "database": db_ok,
        "ledger_pending": state.ledger.pending,
    }
    return json_response(body, status=200 if db_ok else 503)


@router.get("/admin/drift")
async def drift(request: Request, _: AdminPrincipal) -> Response:
    """PSI per classification feature with both distributions (stable < 0.1 ≤ watch ≤ 0.2 < investigate)."""
    return json_response({"object": "drift_report", "features": request.app.state.drift.report()})


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    state = request.app.state
    state.metrics.ledger_pending.set(state.ledger.pending)
    for feature, row in state.drift.report().items():
        if row["psi"] is not None:
            state.metrics.drift_psi.labels(feature).set(row["psi"])
    return Response(state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
