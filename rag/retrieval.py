"""Query-time retrieval: embed the query once, then search the index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from rag.embedding import Embedder
from rag.stores.base import InvalidSearchError, SearchMode, VectorIndex
from rag.types import Hit

MAX_QUERY_CHARS = 8_000


class Retriever:
    """Embeds the query and searches the index (dense, lexical or hybrid)."""

    def __init__(self, *, embedder: Embedder, index: VectorIndex) -> None:
        self.embedder = embedder
        self.index = index

    def search(
        self,
        *,
        tenant: str,
        store_ids: Sequence[str],
        query: str,
        k: int = 10,
        mode: SearchMode = "hybrid",
        filters: Mapping[str, object] | None = None,
    ) -> list[Hit]:
        """Return up to k hits, best first; an empty or whitespace query is refused."""
        if not isinstance(query, str) or not query.strip():
            raise InvalidSearchError("query must be a non-empty string")
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidSearchError(f"query is longer than {MAX_QUERY_CHARS} characters")
        if not store_ids:
            return []
        # Lexical-only search never looks at the vector; skip the embedding cost.
        if mode == "lexical":
            vector = np.zeros(self.embedder.dim, dtype=np.float32)
        else:
            vector = self.embedder.embed_query(query)
        return self.index.search(
            tenant=tenant,
            store_ids=store_ids,
            query_text=query,
            query_vector=vector,
            k=k,
            mode=mode,
            filters=filters,
        )
