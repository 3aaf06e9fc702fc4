"""OpenAI Files API subset: POST/GET /v1/files, GET/DELETE /v1/files/{id}, GET /v1/files/{id}/content."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive

from gateway.auth.deps import require_scope
from gateway.auth.principal import Principal
from gateway.errors import GatewayError
from rag.service import RagService, upload_too_large

router = APIRouter()

FilesPrincipal = Annotated[Principal, Depends(require_scope("files"))]
# Multipart framing around the file part: boundaries, part headers and the purpose field.
_MULTIPART_OVERHEAD = 64 * 1024


def rag_service(request: Request) -> RagService:
    service: RagService = request.app.state.rag
    return service


def json_reply(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def list_reply(items: Sequence[Any], *, has_more: bool, object_id: Callable[[Any], str]) -> Response:
    """OpenAI's cursor page: {object: list, data, first_id, last_id, has_more}."""
    return json_reply(
        {
            "object": "list",
            "data": [item.to_openai() for item in items],
            "first_id": object_id(items[0]) if items else None,
            "last_id": object_id(items[-1]) if items else None,
            "has_more": has_more,
        }
    )


def query_int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise GatewayError(400, f"'{name}' must be an integer", param=name, code="invalid_value") from None


def query_order(request: Request) -> Literal["asc", "desc"]:
    order = request.query_params.get("order") or "desc"
    if order not in ("asc", "desc"):
        raise GatewayError(400, "'order' must be asc or desc", param="order", code="invalid_value")
    return "asc" if order == "asc" else "desc"


def _capped_receive(receive: Receive, max_bytes: int, limit: int) -> Receive:
    received = 0

    async def capped() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise upload_too_large(limit)
        return message

    return capped


@router.post("/v1/files")
async def create_file(request: Request, principal: FilesPrincipal) -> Response:
    rag = rag_service(request)
    limit = rag.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _MULTIPART_OVERHEAD:
        raise upload_too_large(limit)  # refused before a byte of the body is read
    try:
        # Without a declared length (chunked), the body is cut off as it passes the limit, before the
        # multipart parser has spooled more of it to disk.
        capped = Request(request.scope, _capped_receive(request.receive, limit + _MULTIPART_OVERHEAD, limit))
        form = await capped.form(max_files=1, max_fields=16)
    except StarletteHTTPException as exc:
        raise GatewayError(400, f"invalid multipart body: {exc.detail}", code="invalid_request") from None
    try:
        upload = form.get("file")
        purpose = form.get("purpose")
        if not isinstance(upload, UploadFile):
            raise GatewayError(400, "a 'file' part is required (multipart/form-data)", param="file")
        if not isinstance(purpose, str) or not purpose:
            raise GatewayError(400, "a 'purpose' field is required", param="purpose")
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise upload_too_large(limit)
        row = await rag.upload_file(
            principal.team,
            filename=upload.filename or "upload",
            content_type=upload.content_type,
            data=data,
            purpose=purpose,
        )
    finally:
        await form.close()
    return json_reply(row.to_openai())


@router.get("/v1/files")
async def list_files(request: Request, principal: FilesPrincipal) -> Response:
    page = await rag_service(request).list_files(
        principal.team,
        purpose=request.query_params.get("purpose") or None,
        after=request.query_params.get("after") or None,
        limit=query_int(request, "limit", 10_000),
        order=query_order(request),
    )
    return list_reply(page.items, has_more=page.has_more, object_id=lambda row: row.id)


@router.get("/v1/files/{file_id}")
async def retrieve_file(request: Request, file_id: str, principal: FilesPrincipal) -> Response:
    row = await rag_service(request).get_file(principal.team, file_id)
    return json_reply(row.to_openai())


@router.delete("/v1/files/{file_id}")
async def delete_file(request: Request, file_id: str, principal: FilesPrincipal) -> Response:
    await rag_service(request).delete_file(principal.team, file_id)
    return json_reply({"id": file_id, "object": "file", "deleted": True})


@router.get("/v1/files/{file_id}/content")
async def file_content(request: Request, file_id: str, principal: FilesPrincipal) -> Response:
    row, content = await rag_service(request).file_content(principal.team, file_id)
    safe_name = row.filename.replace('"', "").encode("ascii", "replace").decode()
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"content-disposition": f'attachment; filename="{safe_name}"'},
    )
