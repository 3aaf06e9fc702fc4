"""OpenAI Vector Stores API subset: stores, their files, and search, under /v1/vector_stores."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.api.common import read_json_object
from gateway.api.files import FilesPrincipal, json_reply, list_reply, query_int, query_order, rag_service
from gateway.errors import GatewayError

router = APIRouter()


def _optional(body: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise GatewayError(400, f"'{name}' has the wrong type", param=name, code="invalid_value")
    return value


def _string_list(body: Mapping[str, Any], name: str) -> list[str]:
    value = _optional(body, name, list) or []
    if not all(isinstance(item, str) and item for item in value):
        raise GatewayError(400, f"'{name}' must be a list of ids", param=name, code="invalid_value")
    return list(value)


async def _body(request: Request) -> dict[str, Any]:
    return await read_json_object(request, rag_service(request).settings.max_json_bytes)


@router.post("/v1/vector_stores")
async def create_vector_store(request: Request, principal: FilesPrincipal) -> Response:
    body = await _body(request)
    store = await rag_service(request).create_store(
        principal.team,
        name=_optional(body, "name", str),
        metadata=_optional(body, "metadata", dict),
        file_ids=_string_list(body, "file_ids"),
        chunking_strategy=_optional(body, "chunking_strategy", dict),
        expires_after=_optional(body, "expires_after", dict),
    )
    return json_reply(store.to_openai())


@router.get("/v1/vector_stores")
async def list_vector_stores(request: Request, principal: FilesPrincipal) -> Response:
    page = await rag_service(request).list_stores(
        principal.team,
        after=request.query_params.get("after") or None,
        before=request.query_params.get("before") or None,
        limit=query_int(request, "limit", 20),
        order=query_order(request),
    )
    return list_reply(page.items, has_more=page.has_more, object_id=lambda row: row.id)


@router.get("/v1/vector_stores/{store_id}")
async def retrieve_vector_store(request: Request, store_id: str, principal: FilesPrincipal) -> Response:
    store = await rag_service(request).get_store(principal.team, store_id)
    return json_reply(store.to_openai())


@router.post("/v1/vector_stores/{store_id}")
async def update_vector_store(request: Request, store_id: str, principal: FilesPrincipal) -> Response:
    body = await _body(request)
    store = await rag_service(request).update_store(
        principal.team,
        store_id,
        name=_optional(body, "name", str),
        metadata=_optional(body, "metadata", dict),
        expires_after=_optional(body, "expires_after", dict),
    )
    return json_reply(store.to_openai())


@router.delete("/v1/vector_stores/{store_id}")
async def delete_vector_store(request: Request, store_id: str, principal: FilesPrincipal) -> Response:
    await rag_service(request).delete_store(principal.team, store_id)
    return json_reply({"id": store_id, "object": "vector_store.deleted", "deleted": True})


@router.post("/v1/vector_stores/{store_id}/files")
async def create_vector_store_file(request: Request, store_id: str, principal: FilesPrincipal) -> Response:
    body = await _body(request)
    file_id = _optional(body, "file_id", str)
    if not file_id:
        raise GatewayError(400, "'file_id' is required", param="file_id", code="invalid_value")
    row = await rag_service(request).attach_file(
        principal.team,
        store_id,
        file_id=file_id,
        attributes=_optional(body, "attributes", dict),
        chunking_strategy=_optional(body, "chunking_strategy", dict),
    )
    return json_reply(row.to_openai())


@router.get("/v1/vector_stores/{store_id}/files")
async def list_vector_store_files(request: Request, store_id: str, principal: FilesPrincipal) -> Response:
    page = await rag_service(request).list_store_files(
        principal.team,
        store_id,
        status=request.query_params.get("filter") or None,
        after=request.query_params.get("after") or None,
        before=request.query_params.get("before") or None,
        limit=query_int(request, "limit", 20),
        order=query_order(request),
    )
    return list_reply(page.items, has_more=page.has_more, object_id=lambda row: row.file_id)


@router.get("/v1/vector_stores/{store_id}/files/{file_id}")
async def retrieve_vector_store_file(
    request: Request, store_id: str, file_id: str, principal: FilesPrincipal
) -> Response:
    rag = rag_service(request)
    row = await rag.get_store_file(principal.team, store_id, file_id)
    # The SDK's poll helpers wait this long between retrievals.
    return json_reply(row.to_openai(), headers={"openai-poll-after-ms": str(rag.settings.poll_after_ms)})


@router.delete("/v1/vector_stores/{store_id}/files/{file_id}")
async def delete_vector_store_file(
    request: Request, store_id: str, file_id: str, principal: FilesPrincipal
) -> Response:
    await rag_service(request).detach_file(principal.team, store_id, file_id)
    return json_reply({"id": file_id, "object": "vector_store.file.deleted", "deleted": True})


@router.post("/v1/vector_stores/{store_id}/search")
async def search_vector_store(request: Request, store_id: str, principal: FilesPrincipal) -> Response:
    body = await _body(request)
    query = body.get("query")
    ranking = _optional(body, "ranking_options", dict) or {}
    threshold = ranking.get("score_threshold")
    if threshold is not None and not isinstance(threshold, int | float):
        raise GatewayError(400, "'score_threshold' must be a number", param="ranking_options.score_threshold")
    max_results = body.get("max_num_results", 10)
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        raise GatewayError(400, "'max_num_results' must be an integer", param="max_num_results")
    # rewrite_query is accepted and ignored: the query is searched as written (hybrid dense + lexical).
    _optional(body, "rewrite_query", bool)
    page = await rag_service(request).search(
        principal.team,
        store_id,
        query=query if isinstance(query, str | list) else "",
        max_num_results=max_results,
        filters=_optional(body, "filters", dict),
        score_threshold=float(threshold) if threshold is not None else None,
    )
    return json_reply(page)
