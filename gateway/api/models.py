"""GET /v1/models: the targets the calling key may use."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.api.responses import json_response
from gateway.auth.deps import CurrentPrincipal
from gateway.errors import GatewayError

router = APIRouter()


def _model_entry(name: str, owner: str, created: int, simulated: bool, kind: str) -> dict[str, object]:
    return {
        "id": name,
        "object": "model",
        "created": created,
        "owned_by": owner,
        "type": kind,
        "simulated": simulated,
    }


@router.get("/v1/models")
async def list_models(request: Request, principal: CurrentPrincipal) -> Response:
    return json_response({"object": "list", "data": _visible(request, principal)})


@router.get("/v1/models/{model_id:path}")
async def retrieve_model(model_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    for entry in _visible(request, principal):
        if entry["id"] == model_id:
            return json_response(entry)
    raise GatewayError(404, f"The model '{model_id}' does not exist", param="model", code="model_not_found")


def _visible(request: Request, principal: CurrentPrincipal) -> list[dict[str, object]]:
    state = request.app.state
    created = state.started_at
    runtime = state.router.runtime()
    out = [
        _model_entry(t.name, t.provider.name, created, t.simulated, "chat")
        for t in runtime.targets.values()
        if principal.may_use(t.name)
    ]
    out += [
        _model_entry(
            e.name,
            e.provider.name if e.provider else "local",
            created,
            bool(e.provider and e.provider.simulated),
            "embedding",
        )
        for e in state.embedding_targets.values()
        if principal.may_use(e.name)
    ]
    out += [
        _model_entry(alias, "gateway", created, False, "router")
        for alias in runtime.policy.aliases
        if principal.may_use(alias)
    ]
    return out
