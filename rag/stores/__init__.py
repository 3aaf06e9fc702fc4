"""Vector indexes behind one interface (`VectorIndex`): Qdrant (local or server) and pgvector."""

from __future__ import annotations

from typing import Literal

from rag.stores.base import (
    DimensionMismatchError,
    IndexError_,
    InvalidFilterError,
    InvalidSearchError,
    SearchMode,
    VectorIndex,
)
from rag.stores.lexical import LexicalAnalyzer

__all__ = [
    "DimensionMismatchError",
    "IndexError_",
    "InvalidFilterError",
    "InvalidSearchError",
    "LexicalAnalyzer",
    "SearchMode",
    "VectorIndex",
    "build_index",
]

IndexKind = Literal["qdrant", "pgvector"]


def build_index(
    kind: IndexKind,
    *,
    dim: int,
    qdrant_path: str | None = None,
    qdrant_url: str | None = None,
    database_url: str | None = None,
    model_name: str = "all-MiniLM-L6-v2",
    analyzer: LexicalAnalyzer | None = None,
) -> VectorIndex:
    """Build (not yet connect) an index; call ensure_ready() before use. Refuses ambiguous arguments."""
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    if kind == "qdrant":
        if database_url is not None:
            raise ValueError("database_url is for pgvector, not qdrant")
        if (qdrant_path is None) == (qdrant_url is None):
            raise ValueError(
                "qdrant needs exactly one of qdrant_path (a directory or ':memory:') and qdrant_url"
            )
        from rag.stores.qdrant import QdrantIndex

        return QdrantIndex(
            dim=dim, path=qdrant_path, url=qdrant_url, model_name=model_name, analyzer=analyzer
        )
    if kind == "pgvector":
        if qdrant_path is not None or qdrant_url is not None:
            raise ValueError("qdrant_path/qdrant_url are for qdrant, not pgvector")
        if not database_url:
            raise ValueError("pgvector needs database_url")
        from rag.stores.pgvector import PgVectorIndex

        return PgVectorIndex(dim=dim, database_url=database_url, model_name=model_name, analyzer=analyzer)
    raise ValueError(f"unknown index kind {kind!r}; expected 'qdrant' or 'pgvector'")
