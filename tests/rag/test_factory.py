"""build_index refuses ambiguous or incomplete arguments."""

from __future__ import annotations

import pytest

from rag.stores import VectorIndex, build_index
from rag.stores.pgvector import table_name
from rag.stores.qdrant import collection_name, point_id


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "qdrant", "dim": 384},
        {"kind": "qdrant", "dim": 384, "qdrant_path": ":memory:", "qdrant_url": "http://127.0.0.1:6333"},
        {"kind": "qdrant", "dim": 384, "qdrant_path": ":memory:", "database_url": "postgresql://x"},
        {"kind": "pgvector", "dim": 384},
        {"kind": "pgvector", "dim": 384, "database_url": "postgresql://x", "qdrant_path": ":memory:"},
        {"kind": "pgvector", "dim": 0, "database_url": "postgresql://x"},
        {"kind": "faiss", "dim": 384},
    ],
)
def test_bad_arguments_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        build_index(**kwargs)


def test_builds_each_kind_without_connecting() -> None:
    index = build_index("qdrant", dim=8, qdrant_path=":memory:")
    assert isinstance(index, VectorIndex)
    index.close()
    assert isinstance(build_index("pgvector", dim=8, database_url="postgresql://nowhere/db"), VectorIndex)


def test_one_collection_per_model_and_distinct_point_ids_per_tenant() -> None:
    assert collection_name("all-MiniLM-L6-v2", 384) == "chunks_all_minilm_l6_v2_384"
    assert table_name("all-MiniLM-L6-v2", 384) == "rag_chunks_all_minilm_l6_v2_384"
    assert point_id("t1", "file-1:0") != point_id("t2", "file-1:0")
    assert point_id("t1", "file-1:0") == point_id("t1", "file-1:0")
