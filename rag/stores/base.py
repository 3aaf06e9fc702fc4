"""The interface every vector index implements, and the errors it raises."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from rag.types import ChunkRecord, Hit

SearchMode = Literal["hybrid", "dense", "lexical"]


class IndexError_(ValueError):
    """Base of the errors an index raises for bad input (maps to HTTP 400 upstream)."""


class InvalidFilterError(IndexError_):
    """A metadata filter that the index cannot evaluate."""


class DimensionMismatchError(IndexError_):
    """Vectors whose dimension differs from the index's."""


class InvalidSearchError(IndexError_):
    """Search or upsert arguments out of range (k, mode, tenant, non-finite vectors, bad records)."""


@runtime_checkable
class VectorIndex(Protocol):
    """A tenant-isolated chunk index with dense, lexical and hybrid search; synchronous.

    The API calls it through asyncio.to_thread. Every read and delete is restricted to `tenant`.
    """

    def ensure_ready(self) -> None:
        """Create collections/tables/indexes idempotently."""
        ...

    def upsert(self, chunks: Sequence[ChunkRecord], vectors: np.ndarray) -> None:
        """Insert or replace chunks (by chunk_id within tenant) with their (n, dim) vectors."""
        ...

    def delete_file(self, *, tenant: str, store_id: str, file_id: str) -> int:
        """Delete one file's chunks from one store; returns how many were deleted."""
        ...

    def delete_store(self, *, tenant: str, store_id: str) -> int:
        """Delete all chunks of one store; returns how many were deleted."""
        ...

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
        """Return up to k hits from the given stores of the tenant, best first."""
        ...

    def close(self) -> None:
        """Release clients, pools and file locks."""
        ...
