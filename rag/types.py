"""Records that flow between ingestion, the vector indexes and retrieval."""

from __future__ import annotations

from dataclasses import dataclass, field

AttributeValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    """One chunk of one file in one vector store, owned by one tenant."""

    chunk_id: str  # unique, e.g. f"{file_id}:{position}"
    tenant: str  # the key's team; every query filters on it
    store_id: str  # vector store id ("vs_...")
    file_id: str  # "file-..."
    position: int  # chunk index within the file
    text: str
    heading_path: tuple[str, ...] = ()
    attributes: dict[str, AttributeValue] = field(default_factory=dict)  # user metadata, filterable


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk with its fused score and, where computed, the per-retriever scores."""

    chunk: ChunkRecord
    score: float  # fused score (RRF for hybrid), higher is better
    dense_score: float | None = None
    lexical_score: float | None = None
