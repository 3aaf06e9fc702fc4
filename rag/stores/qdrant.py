"""Qdrant backend: embedded local mode (path or ":memory:") or a server URL.

One collection per embedding model holds every tenant; `tenant` is a payload field with a tenant
index, and every read and delete is filtered on it. Dense cosine vectors plus a sparse BM25 vector
with Qdrant's IDF modifier (IDF scoped to the caller's stores), fused here with RRF.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from rag.stores.base import DimensionMismatchError, InvalidSearchError, SearchMode
from rag.stores.filters import Comparison, Compound, Filter, parse_filters
from rag.stores.fusion import (
    Scored,
    candidate_count,
    check_search_args,
    check_upsert_args,
    rrf_fuse,
    single_list_hits,
)
from rag.stores.lexical import LexicalAnalyzer
from rag.types import ChunkRecord, Hit

DENSE = "dense"
LEXICAL = "lexical"
_POINT_NAMESPACE = uuid.UUID("5b0f3f5e-2c4a-4d61-9a57-6a0c1b7e9d21")
_UPSERT_BATCH = 256


def collection_name(model_name: str, dim: int) -> str:
    """The collection for one embedding model: chunks_<model slug>_<dim>."""
    slug = re.sub(r"[^a-z0-9]+", "_", model_name.lower()).strip("_") or "model"
    return f"chunks_{slug}_{dim}"


def point_id(tenant: str, chunk_id: str) -> str:
    """A UUID per (tenant, chunk_id): two tenants' equal chunk ids never overwrite each other."""
    return str(uuid.uuid5(_POINT_NAMESPACE, f"{tenant}\x00{chunk_id}"))


class QdrantIndex:
    """VectorIndex over Qdrant; `location` is a directory, ":memory:", or (with `url`) a server."""

    def __init__(
        self,
        *,
        dim: int,
        path: str | None = None,
        url: str | None = None,
        api_key: str | None = None,
        model_name: str = "all-MiniLM-L6-v2",
        analyzer: LexicalAnalyzer | None = None,
    ) -> None:
        if (path is None) == (url is None):
            raise ValueError("give exactly one of path (a directory or ':memory:') and url")
        self.dim = dim
        self.collection = collection_name(model_name, dim)
        self.analyzer = analyzer or LexicalAnalyzer()
        self._is_server = url is not None
        if url is not None:
            self._client = QdrantClient(url=url, api_key=api_key)
        elif path == ":memory:":
            self._client = QdrantClient(location=":memory:")
        else:
            self._client = QdrantClient(path=path)
        self._ready = False

    def ensure_ready(self) -> None:
        """Create the collection and payload indexes if missing; check the dimension if present."""
        if self._ready:
            return
        if not self._client.collection_exists(self.collection):
            try:
                self._client.create_collection(
                    self.collection,
                    vectors_config={
                        DENSE: models.VectorParams(size=self.dim, distance=models.Distance.COSINE)
                    },
                    sparse_vectors_config={LEXICAL: models.SparseVectorParams(modifier=models.Modifier.IDF)},
                )
            except Exception:
                # Another process may have created it between our check and create.
                if not self._client.collection_exists(self.collection):
                    raise
        self._check_dimension()
        if self._is_server:  # local mode searches by brute force and warns that payload indexes do nothing
            self._create_payload_indexes()
        self._ready = True

    def _check_dimension(self) -> None:
        vectors = self._client.get_collection(self.collection).config.params.vectors
        dense = vectors.get(DENSE) if isinstance(vectors, dict) else None
        if dense is None or dense.size != self.dim:
            found = dense.size if dense is not None else None
            raise DimensionMismatchError(
                f"collection {self.collection} has dense size {found}, need {self.dim}"
            )

    def _create_payload_indexes(self) -> None:
        tenant_index = models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True)
        keyword = models.PayloadSchemaType.KEYWORD
        schema: dict[str, Any] = {"tenant": tenant_index, "store_id": keyword, "file_id": keyword}
        for field_name, field_schema in schema.items():
            # Idempotent on the server.
            self._client.create_payload_index(self.collection, field_name, field_schema=field_schema)

    def upsert(self, chunks: Sequence[ChunkRecord], vectors: np.ndarray) -> None:
        """Insert or replace chunks by (tenant, chunk_id)."""
        matrix = check_upsert_args(chunks, vectors, dim=self.dim)
        self.ensure_ready()
        points = [self._point(chunk, vector) for chunk, vector in zip(chunks, matrix, strict=True)]
        for start in range(0, len(points), _UPSERT_BATCH):
            self._client.upsert(self.collection, points=points[start : start + _UPSERT_BATCH], wait=True)

    def _point(self, chunk: ChunkRecord, vector: np.ndarray) -> models.PointStruct:
        sparse = self.analyzer.document_vector(chunk.text)
        payload = {
            "tenant": chunk.tenant,
            "store_id": chunk.store_id,
            "file_id": chunk.file_id,
            "chunk_id": chunk.chunk_id,
            "position": chunk.position,
            "text": chunk.text,
            "heading_path": list(chunk.heading_path),
            "attributes": dict(chunk.attributes),
        }
        vector_map: dict[str, Any] = {DENSE: vector.tolist()}
        if sparse.indices:
            vector_map[LEXICAL] = models.SparseVector(indices=sparse.indices, values=sparse.values)
        return models.PointStruct(
            id=point_id(chunk.tenant, chunk.chunk_id), vector=vector_map, payload=payload
        )

    def delete_file(self, *, tenant: str, store_id: str, file_id: str) -> int:
        """Delete one file's chunks in one store of the tenant; returns the count."""
        _check_ids(tenant=tenant, store_id=store_id, file_id=file_id)
        return self._delete_where(_scope(tenant, [store_id], file_id=file_id))

    def delete_store(self, *, tenant: str, store_id: str) -> int:
        """Delete every chunk in one store of the tenant; returns the count."""
        _check_ids(tenant=tenant, store_id=store_id)
        return self._delete_where(_scope(tenant, [store_id]))

    def _delete_where(self, condition: models.Filter) -> int:
        self.ensure_ready()
        count = self._client.count(self.collection, count_filter=condition, exact=True).count
        if count:
            self._client.delete(
                self.collection, points_selector=models.FilterSelector(filter=condition), wait=True
            )
        return count

    def search(
        self,
        *,
        tenant: str,
        store_ids: Sequence[str],
        query_text: str,
        query_vector: np.ndarray,
        k: int = 10,
        mode: SearchMode = "hybrid",
        filters: Mapping[str, object] | None = None,
    ) -> list[Hit]:
        """Dense, lexical (BM25) or hybrid (RRF of both) search within the tenant's stores."""
        vector = check_search_args(
            tenant=tenant, store_ids=store_ids, query_vector=query_vector, dim=self.dim, k=k, mode=mode
        )
        parsed = parse_filters(filters)
        if not store_ids:
            return []
        self.ensure_ready()
        scope = _scope(tenant, store_ids)
        query_filter = scope if parsed is None else models.Filter(must=[scope, _to_qdrant(parsed)])
        limit = k if mode != "hybrid" else candidate_count(k)
        dense = self._dense(vector, query_filter, limit) if mode != "lexical" else []
        lexical = self._lexical(query_text, scope, query_filter, limit) if mode != "dense" else []
        if mode == "hybrid":
            return rrf_fuse(dense, lexical, k=k)
        return single_list_hits(dense if mode == "dense" else lexical, dense=mode == "dense", k=k)

    def _dense(self, vector: np.ndarray, query_filter: models.Filter, limit: int) -> list[Scored]:
        response = self._client.query_points(
            self.collection, query=vector.tolist(), using=DENSE, query_filter=query_filter, limit=limit
        )
        return _best_first(response.points)

    def _lexical(
        self, text: str, scope: models.Filter, query_filter: models.Filter, limit: int
    ) -> list[Scored]:
        sparse = self.analyzer.query_vector(text)
        if not sparse.indices:
            return []
        response = self._client.query_points(
            self.collection,
            query=models.SparseVector(indices=sparse.indices, values=sparse.values),
            using=LEXICAL,
            query_filter=query_filter,
            # IDF over the caller's own stores: other tenants' documents must not shift the scores.
            search_params=models.SearchParams(idf=models.IdfCorpusParams(corpus=scope)),
            limit=limit,
        )
        return _best_first(response.points)

    def close(self) -> None:
        """Close the client (releases the local-mode directory lock)."""
        self._client.close()


def _best_first(points: Sequence[models.ScoredPoint]) -> list[Scored]:
    # Ties ordered by chunk id, as the PostgreSQL backend does, so the backends agree on ties.
    scored = [Scored(_chunk(point.payload or {}), float(point.score)) for point in points]
    return sorted(scored, key=lambda item: (-item.score, item.chunk.chunk_id))


def _check_ids(**ids: str) -> None:
    for name, value in ids.items():
        if not isinstance(value, str) or not value:
            raise InvalidSearchError(f"{name} must be a non-empty string")


def _scope(tenant: str, store_ids: Sequence[str], *, file_id: str | None = None) -> models.Filter:
    must: list[models.Condition] = [
        models.FieldCondition(key="tenant", match=models.MatchValue(value=tenant)),
        models.FieldCondition(key="store_id", match=models.MatchAny(any=list(store_ids))),
    ]
    if file_id is not None:
        must.append(models.FieldCondition(key="file_id", match=models.MatchValue(value=file_id)))
    return models.Filter(must=must)


def _to_qdrant(node: Filter) -> models.Filter:
    if isinstance(node, Compound):
        parts: list[models.Condition] = [_to_qdrant(child) for child in node.filters]
        return models.Filter(must=parts) if node.op == "and" else models.Filter(should=parts)
    return _comparison(node)


def _comparison(node: Comparison) -> models.Filter:
    key = f"attributes.{node.key}"
    if node.op in ("in", "nin"):
        values = node.value if isinstance(node.value, tuple) else (node.value,)
        equals: list[models.Condition] = [_equals(key, value) for value in values]
        return models.Filter(should=equals) if node.op == "in" else models.Filter(must_not=equals)
    assert not isinstance(node.value, tuple)
    if node.op == "eq":
        return models.Filter(must=[_equals(key, node.value)])
    if node.op == "ne":
        return models.Filter(must_not=[_equals(key, node.value)])
    bound = float(node.value)
    return models.Filter(must=[models.FieldCondition(key=key, range=models.Range(**{node.op: bound}))])


def _equals(key: str, value: str | int | float | bool) -> models.FieldCondition:
    if isinstance(value, str | bool):
        return models.FieldCondition(key=key, match=models.MatchValue(value=value))
    # Numbers match numerically (1 == 1.0), as PostgreSQL's jsonb does.
    return models.FieldCondition(key=key, range=models.Range(gte=float(value), lte=float(value)))


def _chunk(payload: Mapping[str, Any]) -> ChunkRecord:
    return ChunkRecord(
        chunk_id=payload["chunk_id"],
        tenant=payload["tenant"],
        store_id=payload["store_id"],
        file_id=payload["file_id"],
        position=int(payload["position"]),
        text=payload["text"],
        heading_path=tuple(payload.get("heading_path") or ()),
        attributes=dict(payload.get("attributes") or {}),
    )
