"""POST /v1/embeddings — wiring only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.api.common import read_json_object
from gateway.api.responses import json_response
from gateway.auth.deps import require_scope

router = APIRouter()


@router.post("/v1/embeddings")
async def create_embeddings(request: Request) -> Response:
    state = request.app.state
    principal = await require_scope("embeddings")(await state.auth.authenticate(request.headers))
    body = await read_json_object(request, state.settings.max_request_bytes)
    return json_response(await state.embeddings.create(principal, body, request_id=request.state.request_id))
