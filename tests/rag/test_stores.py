"""Behaviour every VectorIndex backend must share: search modes, filters, deletes, tenant isolation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rag.embedding import Embedder
from rag.stores import DimensionMismatchError, IndexError_, InvalidFilterError, VectorIndex
from rag.types import ChunkRecord
from tests.rag.conftest import IndexFactory, corpus_chunks


def search(index: VectorIndex, embedder: Embedder, query: str, **kwargs: object) -> list[str]:
    """Chunk ids of a search for team-a in vs_main (arguments overridable)."""
    args: dict[str, object] = {
        "tenant": "team-a",
        "store_ids": ["vs_main"],
        "query_text": query,
        "query_vector": embedder.embed_query(query),
        "k": 5,
        "mode": "hybrid",
    }
    args.update(kwargs)
    return [hit.chunk.chunk_id for hit in index.search(**args)]  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_each_mode_finds_the_on_topic_chunk_first(
    filled_index: VectorIndex, embedder: Embedder, mode: str
) -> None:
    ids = search(filled_index, embedder, "supernova explosion of a massive star", mode=mode)
    assert ids[0] == "file-astronomy:1"


def test_hits_carry_the_whole_record_and_scores(
    filled_index: VectorIndex, embedder: Embedder, corpus
) -> None:
    chunks, _ = corpus
    hits = filled_index.search(
        tenant="team-a",
        store_ids=["vs_main"],
        query_text="bread dough",
        query_vector=embedder.embed_query("bread dough"),
        k=3,
    )
    assert hits[0].chunk == next(c for c in chunks if c.chunk_id == "file-cooking:0")
    assert hits[0].dense_score is not None and hits[0].lexical_score is not None
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_dense_scores_are_cosine_similarities(filled_index: VectorIndex, embedder: Embedder, corpus) -> None:
    chunks, vectors = corpus
    query = embedder.embed_query("interest rates and bonds")
    hits = filled_index.search(
        tenant="team-a", store_ids=["vs_main"], query_text="", query_vector=query, k=4, mode="dense"
    )
    expected = {chunk.chunk_id: float(vector @ query) for chunk, vector in zip(chunks, vectors, strict=True)}
    for hit in hits:
        assert hit.score == pytest.approx(expected[hit.chunk.chunk_id], abs=1e-4)
        assert hit.lexical_score is None


def test_lexical_mode_returns_only_chunks_sharing_a_term(
    filled_index: VectorIndex, embedder: Embedder
) -> None:
    ids = search(filled_index, embedder, "insulin", mode="lexical", k=10)
    assert ids == ["file-medicine:2"]


def test_lexical_query_of_only_stopwords_finds_nothing(filled_index: VectorIndex, embedder: Embedder) -> None:
    assert search(filled_index, embedder, "the of and", mode="lexical") == []
    # hybrid still answers from the dense side
    assert len(search(filled_index, embedder, "the of and", mode="hybrid")) == 5


def test_k_limits_and_empty_store_list(filled_index: VectorIndex, embedder: Embedder) -> None:
    assert len(search(filled_index, embedder, "money", k=1)) == 1
    assert len(search(filled_index, embedder, "money", k=100, mode="dense")) == 20
    assert search(filled_index, embedder, "money", store_ids=[]) == []
    assert search(filled_index, embedder, "money", store_ids=["vs_unknown"]) == []


@pytest.mark.parametrize(
    ("filters", "expected_files"),
    [
        ({"topic": "finance"}, {"file-finance"}),
        ({"type": "eq", "key": "topic", "value": "cooking"}, {"file-cooking"}),
        (
            {"type": "ne", "key": "topic", "value": "cooking"},
            {"file-astronomy", "file-finance", "file-medicine", "file-programming"},
        ),
        ({"type": "in", "key": "topic", "value": ["finance", "medicine"]}, {"file-finance", "file-medicine"}),
        (
            {"type": "nin", "key": "topic", "value": ["finance", "medicine", "cooking"]},
            {"file-astronomy", "file-programming"},
        ),
        (
            {
                "type": "and",
                "filters": [
                    {"type": "eq", "key": "topic", "value": "finance"},
                    {"type": "gte", "key": "position", "value": 2},
                ],
            },
            {"file-finance"},
        ),
        (
            {
                "type": "or",
                "filters": [
                    {"type": "eq", "key": "topic", "value": "finance"},
                    {"type": "eq", "key": "topic", "value": "medicine"},
                ],
            },
            {"file-finance", "file-medicine"},
        ),
        ({"type": "eq", "key": "missing", "value": "x"}, set()),
    ],
)
@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_filters_restrict_results(
    filled_index: VectorIndex, embedder: Embedder, filters: dict, expected_files: set[str], mode: str
) -> None:
    hits = filled_index.search(
        tenant="team-a",
        store_ids=["vs_main"],
        query_text="interest rates",
        query_vector=embedder.embed_query("interest rates"),
        k=20,
        mode=mode,  # type: ignore[arg-type]
        filters=filters,
    )
    assert {hit.chunk.file_id for hit in hits} == expected_files


@pytest.mark.parametrize(
    ("filters", "expected_positions"),
    [
        ({"type": "gt", "key": "position", "value": 2}, {3}),
        ({"type": "gte", "key": "position", "value": 2}, {2, 3}),
        ({"type": "lt", "key": "position", "value": 1}, {0}),
        ({"type": "lte", "key": "position", "value": 1.5}, {0, 1}),
        ({"type": "eq", "key": "position", "value": 1.0}, {1}),  # numbers compare numerically
        ({"type": "eq", "key": "even", "value": True}, {0, 2}),
        ({"type": "eq", "key": "even", "value": 1}, set()),  # a boolean is not the number 1
        ({"type": "gt", "key": "topic", "value": 1}, set()),  # a string never satisfies a range
    ],
)
def test_numeric_and_boolean_filters(
    filled_index: VectorIndex, embedder: Embedder, filters: dict, expected_positions: set[int]
) -> None:
    hits = filled_index.search(
        tenant="team-a",
        store_ids=["vs_main"],
        query_text="",
        query_vector=embedder.embed_query("anything"),
        k=20,
        mode="dense",
        filters=filters,
    )
    assert {hit.chunk.position for hit in hits} == expected_positions


@pytest.mark.parametrize(
    "filters",
    [
        {"type": "eq", "key": "topic"},
        {"type": "and", "filters": []},
        {"type": "gt", "key": "position", "value": "3"},
        {"type": "in", "key": "topic", "value": "finance"},
        {"type": "eq", "key": "a.b", "value": 1},
        {"type": "eq", "key": "topic", "value": {"nested": 1}},
        {"type": "eq", "key": "x", "value": float("nan")},
        {"topic": {"nested": 1}},
    ],
)
def test_invalid_filters_are_refused(filled_index: VectorIndex, embedder: Embedder, filters: dict) -> None:
    with pytest.raises(InvalidFilterError):
        search(filled_index, embedder, "money", filters=filters)


def test_upsert_replaces_a_chunk_with_the_same_id(make_index: IndexFactory, embedder: Embedder) -> None:
    index = make_index()
    first = ChunkRecord("file-x:0", "team-a", "vs_main", "file-x", 0, "giraffes are tall")
    index.upsert([first], embedder.embed_documents([first.text]))
    second = dataclasses.replace(first, text="penguins cannot fly")
    index.upsert([second], embedder.embed_documents([second.text]))
    assert search(index, embedder, "penguins", mode="lexical") == ["file-x:0"]
    assert search(index, embedder, "giraffes", mode="lexical") == []
    assert len(search(index, embedder, "anything", mode="dense", k=10)) == 1


def test_delete_file_and_store_return_counts(filled_index: VectorIndex, embedder: Embedder) -> None:
    assert filled_index.delete_file(tenant="team-a", store_id="vs_main", file_id="file-cooking") == 4
    assert filled_index.delete_file(tenant="team-a", store_id="vs_main", file_id="file-cooking") == 0
    ids = search(filled_index, embedder, "bread dough", k=20, mode="dense")
    assert len(ids) == 16 and not any(i.startswith("file-cooking") for i in ids)
    assert filled_index.delete_store(tenant="team-a", store_id="vs_main") == 16
    assert search(filled_index, embedder, "bread dough") == []


def test_tenant_isolation_in_search_and_delete(make_index: IndexFactory, embedder: Embedder, corpus) -> None:
    """Another tenant with the same store and chunk ids: never seen, never deleted, never overwritten."""
    index = make_index()
    chunks, vectors = corpus
    index.upsert(chunks, vectors)
    intruder = [dataclasses.replace(c, tenant="team-b", text=c.text + " secret-b") for c in corpus_chunks()]
    index.upsert(intruder, vectors)
    for mode in ("dense", "lexical", "hybrid"):
        for filters in (
            None,
            {
                "type": "or",
                "filters": [
                    {"type": "eq", "key": "topic", "value": "finance"},
                    {"type": "ne", "key": "topic", "value": "finance"},
                ],
            },
        ):
            hits = index.search(
                tenant="team-a",
                store_ids=["vs_main", "vs_other"],
                query_text="secret-b interest",
                query_vector=embedder.embed_query("secret-b interest"),
                k=100,
                mode=mode,  # type: ignore[arg-type]
                filters=filters,
            )
            assert hits and all(h.chunk.tenant == "team-a" and "secret-b" not in h.chunk.text for h in hits)
    assert index.delete_store(tenant="team-a", store_id="vs_main") == 20
    remaining = index.search(
        tenant="team-b", store_ids=["vs_main"], query_text="", query_vector=vectors[0], k=100, mode="dense"
    )
    assert len(remaining) == 20 and all(h.chunk.tenant == "team-b" for h in remaining)
    assert index.delete_file(tenant="team-c", store_id="vs_main", file_id="file-finance") == 0
    assert (
        index.search(tenant="team-c", store_ids=["vs_main"], query_text="interest", query_vector=vectors[0])
        == []
    )


def test_lexical_statistics_ignore_other_tenants(
    make_index: IndexFactory, embedder: Embedder, corpus
) -> None:
    """BM25 scores of team-a do not move when team-b adds documents full of the query term."""
    index = make_index()
    chunks, vectors = corpus
    index.upsert(chunks, vectors)

    def scores() -> list[float]:
        hits = index.search(
            tenant="team-a",
            store_ids=["vs_main"],
            query_text="interest rates",
            query_vector=vectors[0],
            mode="lexical",
        )
        return [h.score for h in hits]

    before = scores()
    flood = [
        ChunkRecord(f"file-flood:{i}", "team-b", "vs_main", "file-flood", i, "interest interest rates")
        for i in range(30)
    ]
    index.upsert(flood, np.repeat(vectors[:1], 30, axis=0))
    assert scores() == pytest.approx(before)


def test_stores_are_searched_together_or_apart(make_index: IndexFactory, embedder: Embedder, corpus) -> None:
    index = make_index()
    chunks, vectors = corpus
    index.upsert(chunks, vectors)
    other = corpus_chunks(store_id="vs_second")[:4]
    index.upsert(other, vectors[:4])
    both = search(
        index, embedder, "telescope galaxies", store_ids=["vs_main", "vs_second"], k=100, mode="dense"
    )
    assert len(both) == 20  # same chunk ids in two stores of one tenant: the later upsert moved them
    assert len(search(index, embedder, "telescope", store_ids=["vs_second"], k=100, mode="dense")) == 4


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"tenant": ""}, IndexError_),
        ({"k": 0}, IndexError_),
        ({"k": True}, IndexError_),
        ({"mode": "semantic"}, IndexError_),
        ({"store_ids": "vs_main"}, IndexError_),
        ({"query_vector": np.ones(10, dtype=np.float32)}, DimensionMismatchError),
        ({"query_vector": np.full(384, np.nan, dtype=np.float32)}, IndexError_),
    ],
)
def test_bad_search_arguments_are_refused(
    filled_index: VectorIndex, embedder: Embedder, kwargs: dict, error: type[Exception]
) -> None:
    with pytest.raises(error):
        search(filled_index, embedder, "money", **kwargs)


def test_bad_upserts_are_refused(make_index: IndexFactory, corpus) -> None:
    index = make_index()
    chunks, vectors = corpus
    with pytest.raises(DimensionMismatchError):
        index.upsert(chunks[:2], np.ones((2, 10), dtype=np.float32))
    with pytest.raises(IndexError_):
        index.upsert(chunks[:2], vectors[:3])
    with pytest.raises(IndexError_):
        index.upsert([chunks[0], chunks[0]], vectors[:2])
    with pytest.raises(IndexError_):
        index.upsert([dataclasses.replace(chunks[0], tenant="")], vectors[:1])
    with pytest.raises(IndexError_):
        index.upsert([dataclasses.replace(chunks[0], attributes={"tags": ["a"]})], vectors[:1])  # type: ignore[dict-item]
    with pytest.raises(IndexError_):
        index.upsert(chunks[:1], np.full((1, 384), np.inf, dtype=np.float32))
    index.upsert([], np.empty((0, 384), dtype=np.float32))


def test_delete_refuses_empty_ids(filled_index: VectorIndex) -> None:
    with pytest.raises(IndexError_):
        filled_index.delete_store(tenant="", store_id="vs_main")
    with pytest.raises(IndexError_):
        filled_index.delete_file(tenant="team-a", store_id="vs_main", file_id="")


def test_ensure_ready_is_idempotent(make_index: IndexFactory, embedder: Embedder, corpus) -> None:
    index = make_index()
    chunks, vectors = corpus
    index.upsert(chunks, vectors)
    index.ensure_ready()
    assert len(search(index, embedder, "anything", k=100, mode="dense")) == 20
