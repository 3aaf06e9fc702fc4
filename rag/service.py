"""RagService: what the Files and Vector Stores routers call; built once by create_app (app.state.rag)."""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import unicodedata
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from gateway.errors import GatewayError
from gateway.storage.db import Database
from rag.answer import Citation, build_rag_messages
from rag.catalog import Catalog, FileRow, FileStatus, Order, Page, StoreFileRow, StoreRow
from rag.chunking import ChunkingOptions, ChunkingStrategyError
from rag.embedding import Embedder
from rag.ingest import IngestionRunner, IngestJob, encode_blocks
from rag.loaders import DocumentError, LoaderLimits, load_document
from rag.retrieval import Retriever
from rag.stores.base import IndexError_, InvalidFilterError, SearchMode, VectorIndex
from rag.types import Hit

SUPPORTED_PURPOSES = frozenset({"assistants", "user_data", "batch", "fine-tune"})
_MAX_METADATA_PAIRS = 16
_ATTRIBUTE_KEY = re.compile(r"^[A-Za-z0-9_\-:]{1,64}$")


@dataclass(frozen=True, slots=True)
class RagSettings:
    """Limits and defaults of the RAG layer (the app maps its Settings onto these)."""

    max_upload_bytes: int = 25 * 1024 * 1024
    max_json_bytes: int = 1024 * 1024
    chunking: ChunkingOptions = field(default_factory=ChunkingOptions)
    max_concurrent_ingestions: int = 2
    max_concurrent_parses: int = 2
    poll_after_ms: int = 200  # hint the SDK's poll helpers read from the `openai-poll-after-ms` header
    search_mode: SearchMode = "hybrid"
    loader_limits: LoaderLimits | None = None

    def limits(self) -> LoaderLimits:
        return self.loader_limits or LoaderLimits(max_bytes=self.max_upload_bytes)


def not_found(kind: str, object_id: str, param: str | None = None) -> GatewayError:
    return GatewayError(404, f"No {kind} found with id '{object_id}'.", code="not_found", param=param)


class RagService:
    """Files, vector stores, attachments and search for one tenant at a time."""

    def __init__(
        self,
        *,
        database: Database,
        embedder: Embedder,
        index: VectorIndex,
        settings: RagSettings | None = None,
    ) -> None:
        self.settings = settings or RagSettings()
        self.catalog = Catalog(database.pool)
        self.embedder = embedder
        self.index = index
        self.retriever = Retriever(embedder=embedder, index=index)
        self.ingestion = IngestionRunner(
            catalog=self.catalog,
            embedder=embedder,
            index=index,
            max_concurrent=self.settings.max_concurrent_ingestions,
        )
        self._parse_slots = asyncio.Semaphore(self.settings.max_concurrent_parses)
        # One attachment's attach and detach, one at a time in this process: a detach stops the running
        # job and sweeps the attachment's chunks, and an attach in the middle would have its job refused
        # (the old one still running) or its chunks swept. Kept only while in use.
        self._attachment_locks: weakref.WeakValueDictionary[tuple[str, str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def _attachment_lock(self, tenant: str, store_id: str, file_id: str) -> asyncio.Lock:
        key = (tenant, store_id, file_id)
        lock = self._attachment_locks.get(key)
        if lock is None:
            lock = self._attachment_locks[key] = asyncio.Lock()
        return lock

    async def start(self) -> None:
        await asyncio.to_thread(self.index.ensure_ready)
        await self.resume_interrupted()

    async def resume_interrupted(self) -> int:
        """Restart ingestion of attachments a previous process left in_progress.

        Safe with several replicas: chunk ids are deterministic, so a job run twice writes the same chunks.
        """
        rows = await self.catalog.in_progress()
        for row in rows:
            options = ChunkingOptions.from_openai(row.chunking, default=self.settings.chunking)
            self.ingestion.submit(
                IngestJob(
                    tenant=row.tenant,
                    store_id=row.store_id,
                    file_id=row.file_id,
                    chunking=options,
                    attributes=row.attributes,
                )
            )
        return len(rows)

    async def close(self) -> None:
        await self.ingestion.close()

    # Files -------------------------------------------------------------------------------------------

    async def upload_file(
        self, tenant: str, *, filename: str, content_type: str | None, data: bytes, purpose: str
    ) -> FileRow:
        """Validate and parse the upload in a thread, then store it; the same content gives the same file."""
        if purpose not in SUPPORTED_PURPOSES:
            allowed = ", ".join(sorted(SUPPORTED_PURPOSES))
            raise GatewayError(
                400, f"purpose must be one of: {allowed}", param="purpose", code="invalid_value"
            )
        if len(data) > self.settings.max_upload_bytes:
            raise upload_too_large(self.settings.max_upload_bytes)
        name = clean_filename(filename)
        async with self._parse_slots:
            try:
                parsed = await asyncio.to_thread(
                    parse_upload,
                    data,
                    filename=name,
                    content_type=content_type,
                    limits=self.settings.limits(),
                )
            except DocumentError as exc:
                raise GatewayError(exc.status, f"{name}: {exc}", code=exc.code, param="file") from None
        row, _created = await self.catalog.insert_file(
            tenant=tenant,
            filename=name,
            purpose=purpose,
            kind=parsed.kind,
            data=data,
            sha256=parsed.sha256,
            blocks_json=parsed.blocks_json,
        )
        return row

    async def get_file(self, tenant: str, file_id: str) -> FileRow:
        row = await self.catalog.get_file(tenant=tenant, file_id=file_id)
        if row is None:
            raise not_found("file", file_id)
        return row

    async def list_files(
        self, tenant: str, *, purpose: str | None, after: str | None, limit: int, order: Order
    ) -> Page[FileRow]:
        return await self.catalog.list_files(
            tenant=tenant, purpose=purpose, after=after, limit=_bounded_limit(limit, 10_000), order=order
        )

    async def file_content(self, tenant: str, file_id: str) -> tuple[FileRow, bytes]:
        row = await self.get_file(tenant, file_id)
        content = await self.catalog.get_file_content(tenant=tenant, file_id=file_id)
        if content is None:
            raise not_found("file", file_id)
        return row, content

    async def delete_file(self, tenant: str, file_id: str) -> None:
        """Delete the file, detach it from every store and delete its chunks everywhere."""
        stores = await self.catalog.delete_file(tenant=tenant, file_id=file_id)
        if stores is None:
            raise not_found("file", file_id)
        for store_id in stores:
            await self._remove_chunks(tenant, store_id, file_id)

    # Vector stores -----------------------------------------------------------------------------------

    async def create_store(
        self,
        tenant: str,
        *,
        name: str | None,
        metadata: Mapping[str, Any] | None,
        file_ids: Sequence[str],
        chunking_strategy: Mapping[str, Any] | None,
        expires_after: Mapping[str, Any] | None,
    ) -> StoreRow:
        meta = validate_metadata(metadata)
        options = self._chunking(chunking_strategy)
        for file_id in file_ids:  # every file must exist before anything is created
            await self.get_file(tenant, file_id)
        store_id = await self.catalog.create_store(
            tenant=tenant,
            name=name or "",
            metadata=meta,
            expires_after=dict(expires_after) if expires_after else None,
        )
        for file_id in dict.fromkeys(file_ids):
            await self._attach(tenant, store_id, file_id, attributes={}, options=options)
        return await self.get_store(tenant, store_id)

    async def get_store(self, tenant: str, store_id: str) -> StoreRow:
        row = await self.catalog.get_store(tenant=tenant, store_id=store_id)
        if row is None:
            raise not_found("vector store", store_id)
        return row

    async def list_stores(
        self, tenant: str, *, after: str | None, before: str | None, limit: int, order: Order
    ) -> Page[StoreRow]:
        return await self.catalog.list_stores(
            tenant=tenant, after=after, before=before, limit=_bounded_limit(limit, 100), order=order
        )

    async def update_store(
        self,
        tenant: str,
        store_id: str,
        *,
        name: str | None,
        metadata: Mapping[str, Any] | None,
        expires_after: Mapping[str, Any] | None,
    ) -> StoreRow:
        meta = validate_metadata(metadata) if metadata is not None else None
        updated = await self.catalog.update_store(
            tenant=tenant,
            store_id=store_id,
            name=name,
            metadata=meta,
            expires_after=dict(expires_after) if expires_after else None,
        )
        if not updated:
            raise not_found("vector store", store_id)
        return await self.get_store(tenant, store_id)

    async def delete_store(self, tenant: str, store_id: str) -> None:
        if not await self.catalog.delete_store(tenant=tenant, store_id=store_id):
            raise not_found("vector store", store_id)
        await self.ingestion.stop_store(tenant, store_id)
        await asyncio.to_thread(self.index.delete_store, tenant=tenant, store_id=store_id)

    # Attachments -------------------------------------------------------------------------------------

    async def attach_file(
        self,
        tenant: str,
        store_id: str,
        *,
        file_id: str,
        attributes: Mapping[str, Any] | None,
        chunking_strategy: Mapping[str, Any] | None,
    ) -> StoreFileRow:
        """Attach a file and start its ingestion; attaching the same file again indexes it only once."""
        await self.get_store(tenant, store_id)
        await self.get_file(tenant, file_id)
        options = self._chunking(chunking_strategy)
        return await self._attach(
            tenant, store_id, file_id, attributes=validate_attributes(attributes), options=options
        )

    async def _attach(
        self,
        tenant: str,
        store_id: str,
        file_id: str,
        *,
        attributes: dict[str, Any],
        options: ChunkingOptions,
    ) -> StoreFileRow:
        async with self._attachment_lock(tenant, store_id, file_id):
            try:
                row, start = await self.catalog.attach(
                    tenant=tenant,
                    store_id=store_id,
                    file_id=file_id,
                    attributes=attributes,
                    chunking=options.to_openai(),
                )
            except psycopg.errors.ForeignKeyViolation:  # the store or file was deleted a moment ago
                raise not_found("file", file_id) from None
            if start:
                job = IngestJob(
                    tenant=tenant, store_id=store_id, file_id=file_id, chunking=options, attributes=attributes
                )
                self.ingestion.submit(job)
        return row

    async def get_store_file(self, tenant: str, store_id: str, file_id: str) -> StoreFileRow:
        row = await self.catalog.get_store_file(tenant=tenant, store_id=store_id, file_id=file_id)
        if row is None:
            await self.get_store(tenant, store_id)
            raise not_found("file", file_id)
        return row

    async def list_store_files(
        self,
        tenant: str,
        store_id: str,
        *,
        status: str | None,
        after: str | None,
        before: str | None,
        limit: int,
        order: Order,
    ) -> Page[StoreFileRow]:
        await self.get_store(tenant, store_id)
        if status is not None and status not in ("in_progress", "completed", "failed", "cancelled"):
            raise GatewayError(
                400, "filter must be in_progress, completed, failed or cancelled", param="filter"
            )
        checked: FileStatus | None = status  # type: ignore[assignment]
        return await self.catalog.list_store_files(
            tenant=tenant,
            store_id=store_id,
            status=checked,
            after=after,
            before=before,
            limit=_bounded_limit(limit, 100),
            order=order,
        )

    async def detach_file(self, tenant: str, store_id: str, file_id: str) -> None:
        async with self._attachment_lock(tenant, store_id, file_id):
            if not await self.catalog.detach(tenant=tenant, store_id=store_id, file_id=file_id):
                await self.get_store(tenant, store_id)
                raise not_found("file", file_id)
            await self._sweep(tenant, store_id, file_id)

    async def _remove_chunks(self, tenant: str, store_id: str, file_id: str) -> None:
        async with self._attachment_lock(tenant, store_id, file_id):
            await self._sweep(tenant, store_id, file_id)

    async def _sweep(self, tenant: str, store_id: str, file_id: str) -> None:
        # The row is gone, so a running job cannot complete; stop it, then sweep whatever it wrote.
        await self.ingestion.stop((tenant, store_id, file_id))
        await asyncio.to_thread(self.index.delete_file, tenant=tenant, store_id=store_id, file_id=file_id)

    # Search ------------------------------------------------------------------------------------------

    async def search(
        self,
        tenant: str,
        store_id: str,
        *,
        query: str | Sequence[str],
        max_num_results: int = 10,
        filters: Mapping[str, Any] | None = None,
        score_threshold: float | None = None,
    ) -> dict[str, Any]:
        """OpenAI's `vector_store.search_results.page` for one store of the tenant."""
        await self.get_store(tenant, store_id)
        queries = [query] if isinstance(query, str) else list(query)
        if not queries or not all(isinstance(q, str) and q.strip() for q in queries):
            raise GatewayError(400, "query must be a non-empty string or list of strings", param="query")
        if not isinstance(max_num_results, int) or not 1 <= max_num_results <= 50:
            raise GatewayError(400, "max_num_results must be between 1 and 50", param="max_num_results")
        hits = await self.retrieve(tenant, [store_id], " ".join(queries), k=max_num_results, filters=filters)
        if score_threshold is not None:
            hits = [h for h in hits if h.score >= score_threshold]
        names = await self.catalog.filenames(tenant=tenant, file_ids=[h.chunk.file_id for h in hits])
        await self.catalog.touch_store(tenant=tenant, store_id=store_id)
        return {
            "object": "vector_store.search_results.page",
            "search_query": queries,
            "data": [
                {
                    "file_id": hit.chunk.file_id,
                    "filename": names.get(hit.chunk.file_id, ""),
                    "score": hit.score,
                    "attributes": hit.chunk.attributes,
                    "content": [{"type": "text", "text": hit.chunk.text}],
                }
                for hit in hits
            ],
            "has_more": False,
            "next_page": None,
        }

    async def retrieve(
        self,
        tenant: str,
        store_ids: Sequence[str],
        query: str,
        *,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        """Hits from the tenant's stores (embedding and index search run in a thread)."""

        try:
            return await asyncio.to_thread(
                self.retriever.search,
                tenant=tenant,
                store_ids=list(store_ids),
                query=query,
                k=k,
                mode=self.settings.search_mode,
                filters=filters,
            )
        except InvalidFilterError as exc:
            raise GatewayError(
                400, f"invalid filters: {exc}", param="filters", code="invalid_filter"
            ) from None
        except IndexError_ as exc:
            raise GatewayError(400, f"invalid search: {exc}", param="query", code="invalid_search") from None

    async def augment(
        self, tenant: str, store_ids: Sequence[str], messages: list[dict[str, Any]], *, k: int = 5
    ) -> tuple[list[dict[str, Any]], list[Citation]]:
        """Retrieve for the last user message and return the messages with quoted excerpts, plus citations."""
        known = await self.catalog.store_ids_existing(tenant=tenant, store_ids=store_ids)
        for store_id in store_ids:
            if store_id not in known:
                raise not_found("vector store", store_id, param="vector_store_ids")
        query = last_user_text(messages)
        if not query:
            return messages, []
        hits = await self.retrieve(tenant, store_ids, query, k=k)
        names = await self.catalog.filenames(tenant=tenant, file_ids=[h.chunk.file_id for h in hits])
        return build_rag_messages(messages, hits, filenames=names)

    def _chunking(self, strategy: Mapping[str, Any] | None) -> ChunkingOptions:
        try:
            return ChunkingOptions.from_openai(strategy, default=self.settings.chunking)
        except ChunkingStrategyError as exc:
            raise GatewayError(400, str(exc), param="chunking_strategy", code="invalid_value") from None


@dataclass(frozen=True, slots=True)
class ParsedUpload:
    kind: str
    sha256: bytes
    blocks_json: str


def parse_upload(
    data: bytes, *, filename: str, content_type: str | None, limits: LoaderLimits
) -> ParsedUpload:
    """Everything CPU-bound about an upload, for one worker thread: parse, hash, serialise the blocks."""
    document = load_document(data, filename=filename, content_type=content_type, limits=limits)
    return ParsedUpload(
        kind=document.kind, sha256=hashlib.sha256(data).digest(), blocks_json=encode_blocks(document.blocks)
    )


def upload_too_large(limit: int) -> GatewayError:
    return GatewayError(413, f"the file is larger than the {limit} byte upload limit", code="file_too_large")


def clean_filename(filename: str | None) -> str:
    """The base name, without control characters or path parts, at most 255 characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:255] or "upload"


def validate_metadata(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    """OpenAI's rule: at most 16 pairs, keys up to 64 characters, string values up to 512."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping) or len(metadata) > _MAX_METADATA_PAIRS:
        raise GatewayError(400, "metadata must be an object of at most 16 pairs", param="metadata")
    for key, value in metadata.items():
        if not isinstance(key, str) or len(key) > 64 or not isinstance(value, str) or len(value) > 512:
            raise GatewayError(
                400,
                "metadata keys are strings up to 64 characters, values strings up to 512",
                param="metadata",
            )
    return dict(metadata)


def validate_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """At most 16 pairs; values are strings (up to 512 characters), numbers or booleans."""
    if attributes is None:
        return {}
    if not isinstance(attributes, Mapping) or len(attributes) > _MAX_METADATA_PAIRS:
        raise GatewayError(400, "attributes must be an object of at most 16 pairs", param="attributes")
    for key, value in attributes.items():
        ok_value = isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 512)
        if not isinstance(key, str) or not _ATTRIBUTE_KEY.match(key):
            # The same rule as search filters (rag.stores.filters), so every attribute can be filtered on.
            raise GatewayError(
                400, "attribute keys are 1-64 letters, digits, '_', '-' or ':'", param="attributes"
            )
        if not ok_value or (isinstance(value, float) and not math.isfinite(value)):
            raise GatewayError(
                400,
                "attribute values must be strings (up to 512 characters), finite numbers or booleans",
                param="attributes",
            )
    return dict(attributes)


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text of the last user message (string content or its text parts)."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return " ".join(
                p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("type") == "text"
            )
    return ""


def _bounded_limit(limit: int, maximum: int) -> int:
    if not 1 <= limit <= maximum:
        raise GatewayError(400, f"limit must be between 1 and {maximum}", param="limit")
    return limit
