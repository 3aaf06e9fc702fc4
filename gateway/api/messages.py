"""POST /v1/messages — the Anthropic Messages API, wiring only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from gateway.api.chat import SSE_HEADERS
from gateway.api.common import read_json_object
from gateway.api.responses import json_response, target_headers
from gateway.auth.deps import require_scope
from gateway.serving.chat import JsonReply

router = APIRouter()


@router.post("/v1/messages")
async def create_message(request: Request) -> Response:
    state = request.app.state
    principal = await require_scope("chat")(await state.auth.authenticate(request.headers))
    request.state.principal = principal
    body = await read_json_object(request, state.settings.max_request_bytes)
    reply = await state.messages.create(principal, body, request_id=request.state.request_id)
    headers = target_headers(reply.target)
    if isinstance(reply, JsonReply):
        return json_response(reply.body, headers=headers)
    return StreamingResponse(reply.body, media_type="text/event-stream", headers={**headers, **SSE_HEADERS})
