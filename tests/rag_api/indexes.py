"""A VectorIndex wrapper for the API tests that fails after a partial write, like a full disk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.types import ChunkRecord

FAILURE_TRIGGER = "INDEX-FAILURE-TRIGGER"


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
