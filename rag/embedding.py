"""Sentence embeddings for chunks and queries: PyTorch reference path and a fast ONNX Runtime path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

EmbeddingBackend = Literal["onnx", "onnx-int8", "torch"]


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    model_name: str
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, dim) float32 array, rows L2-normalised."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Return a (dim,) float32 vector, L2-normalised."""
        ...


def build_embedder(
    backend: EmbeddingBackend = "onnx",
    *,
    model_path: str | None = None,
    cache_dir: str | Path | None = None,
) -> Embedder:
    """Build an embedder for a local sentence-transformers model (default: the bundled all-MiniLM-L6-v2)."""
    raise NotImplementedError("being implemented; interface is final")
