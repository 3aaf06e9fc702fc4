"""Retriever: embeds the query once and searches; refuses empty queries."""

from __future__ import annotations

import pytest

from rag.embedding import Embedder
from rag.retrieval import Retriever
from rag.stores import IndexError_, VectorIndex


def test_retriever_answers_a_paraphrase_from_meaning(filled_index: VectorIndex, embedder: Embedder) -> None:
    retriever = Retriever(embedder=embedder, index=filled_index)
    hits = retriever.search(
        tenant="team-a", store_ids=["vs_main"], query="medicine for high blood sugar", k=3
    )
    assert hits[0].chunk.chunk_id == "file-medicine:2"


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_retriever_passes_mode_k_and_filters(
    filled_index: VectorIndex, embedder: Embedder, mode: str
) -> None:
    retriever = Retriever(embedder=embedder, index=filled_index)
    hits = retriever.search(
        tenant="team-a",
        store_ids=["vs_main"],
        query="interest rates inflation savings",
        k=2,
        mode=mode,  # type: ignore[arg-type]
        filters={"topic": "finance"},
    )
    assert len(hits) == 2 and {h.chunk.attributes["topic"] for h in hits} == {"finance"}


@pytest.mark.parametrize("query", ["", "   ", "x" * 8001])
def test_empty_or_huge_queries_are_refused(filled_index: VectorIndex, embedder: Embedder, query: str) -> None:
    with pytest.raises(IndexError_):
        Retriever(embedder=embedder, index=filled_index).search(
            tenant="team-a", store_ids=["vs_main"], query=query
        )
