"""VectorIndex implementations for the API tests: a brute-force in-memory index and a failure injector."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rag.stores.base import InvalidFilterError, SearchMode
from rag.types import ChunkRecord, Hit

FAILURE_TRIGGER = "INDEX-FAILURE-TRIGGER"


class MemoryIndex:
    """Exact cosine search over every stored chunk, tenant- and store-scoped; OpenAI-style filters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str], tuple[ChunkRecord, np.ndarray]] = {}

    def ensure_ready(self) -> None:
        return None

    def upsert(self, chunks: Sequence[ChunkRecord], vectors: np.ndarray) -> None:
        with self._lock:
            for chunk, vector in zip(chunks, vectors, strict=True):
                self._rows[(chunk.tenant, chunk.chunk_id)] = (chunk, np.asarray(vector, dtype=np.float32))

    def delete_file(self, *, tenant: str, store_id: str, file_id: str) -> int:
        return self._delete(lambda c: c.tenant == tenant and c.store_id == store_id and c.file_id == file_id)

    def delete_store(self, *, tenant: str, store_id: str) -> int:
        return self._delete(lambda c: c.tenant == tenant and c.store_id == store_id)

    def _delete(self, match: Any) -> int:
        with self._lock:
            keys = [key for key, (chunk, _) in self._rows.items() if match(chunk)]
            for key in keys:
                del self._rows[key]
        return len(keys)

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
        with self._lock:
            rows = [
                (chunk, vector)
                for chunk, vector in self._rows.values()
                if chunk.tenant == tenant
                and chunk.store_id in store_ids
                and _matches(chunk.attributes, filters)
            ]
        scored = [Hit(chunk=chunk, score=float(vector @ query_vector)) for chunk, vector in rows]
        return sorted(scored, key=lambda h: -h.score)[:k]

    def close(self) -> None:
        return None


def _matches(attributes: Mapping[str, Any], spec: Mapping[str, Any] | None) -> bool:
    if not spec:
        return True
    kind = spec.get("type")
    if kind in ("and", "or"):
        parts = [_matches(attributes, s) for s in spec.get("filters", [])]
        return all(parts) if kind == "and" else any(parts)
    if kind not in ("eq", "ne") or "key" not in spec:
        raise InvalidFilterError(f"unsupported filter {spec!r}")
    equal = attributes.get(str(spec["key"])) == spec.get("value")
    return equal if kind == "eq" else not equal


class FailingIndex:
    """Wraps an index; an upsert holding the trigger text writes its chunks, then fails like a full disk."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def upsert(self, chunks: Sequence[ChunkRecord], vectors: np.ndarray) -> None:
        self.inner.upsert(chunks, vectors)
        if any(FAILURE_TRIGGER in chunk.text for chunk in chunks):
            raise OSError("simulated index failure after a partial write")
