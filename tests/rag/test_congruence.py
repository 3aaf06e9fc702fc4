"""Every backend answers the same calls alike: the same dense top hits, overlapping hybrid ones."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from rag.embedding import Embedder
from rag.stores import VectorIndex, build_index
from rag.types import ChunkRecord
from tests.rag.conftest import BACKENDS

QUERIES = [
    "how do stars die",
    "interest rates and bond prices",
    "making pasta sauce",
    "treating diabetes",
    "event loop concurrency in Python",
    "risk",
]


@pytest.fixture()
def all_indexes(
    database_url: str, tmp_path, corpus: tuple[list[ChunkRecord], np.ndarray]
) -> Iterator[dict[str, VectorIndex]]:
    import os

    chunks, vectors = corpus
    indexes: dict[str, VectorIndex] = {
        "qdrant-memory": build_index("qdrant", dim=384, qdrant_path=":memory:", model_name="congruence"),
        "qdrant-disk": build_index(
            "qdrant", dim=384, qdrant_path=str(tmp_path / "q"), model_name="congruence"
        ),
        "pgvector": build_index("pgvector", dim=384, database_url=database_url, model_name="congruence"),
    }
    if "qdrant-server" in BACKENDS:
        indexes["qdrant-server"] = build_index(
            "qdrant", dim=384, qdrant_url=os.environ["QDRANT_URL"], model_name="congruence"
        )
    for index in indexes.values():
        index.ensure_ready()
        index.delete_store(tenant="team-a", store_id="vs_main")
        index.upsert(chunks, vectors)
    yield indexes
    for index in indexes.values():
        index.close()


def ranked(index: VectorIndex, embedder: Embedder, query: str, mode: str, k: int = 5) -> list[str]:
    hits = index.search(
        tenant="team-a",
        store_ids=["vs_main"],
        query_text=query,
        query_vector=embedder.embed_query(query),
        k=k,
        mode=mode,  # type: ignore[arg-type]
    )
    return [hit.chunk.chunk_id for hit in hits]


@pytest.mark.parametrize("query", QUERIES)
def test_dense_top_hits_are_identical(
    all_indexes: dict[str, VectorIndex], embedder: Embedder, query: str
) -> None:
    results = {name: ranked(index, embedder, query, "dense") for name, index in all_indexes.items()}
    reference = results["qdrant-memory"]
    assert len(reference) == 5
    for name, ids in results.items():
        assert ids == reference, name


@pytest.mark.parametrize("query", QUERIES)
def test_lexical_and_hybrid_top_hits_overlap(
    all_indexes: dict[str, VectorIndex], embedder: Embedder, query: str
) -> None:
    for mode in ("lexical", "hybrid"):
        results = {name: ranked(index, embedder, query, mode) for name, index in all_indexes.items()}
        reference = set(results["qdrant-memory"])
        for name, ids in results.items():
            assert len(ids) == len(reference), (mode, name)
            # BM25 length normalisation differs (fixed vs measured average length): ranks may move a little.
            assert len(reference & set(ids)) >= 0.6 * len(reference), (mode, name, ids, reference)
        assert results["qdrant-disk"] == results["qdrant-memory"]  # same engine, same answer
