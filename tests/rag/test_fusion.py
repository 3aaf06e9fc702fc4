"""Reciprocal rank fusion."""

from __future__ import annotations

import pytest

from rag.stores.fusion import RRF_K, Scored, candidate_count, rrf_fuse
from rag.types import ChunkRecord


def chunk(name: str, tenant: str = "t") -> ChunkRecord:
    return ChunkRecord(name, tenant, "vs", "file", 0, name)


def test_rrf_rewards_agreement_and_keeps_both_scores() -> None:
    dense = [Scored(chunk("a"), 0.9), Scored(chunk("b"), 0.8), Scored(chunk("c"), 0.7)]
    lexical = [Scored(chunk("b"), 12.0), Scored(chunk("c"), 11.0)]
    hits = rrf_fuse(dense, lexical, k=3)
    assert [h.chunk.chunk_id for h in hits] == ["b", "c", "a"]
    assert hits[0].score == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1))
    assert (hits[0].dense_score, hits[0].lexical_score) == (0.8, 12.0)
    assert (hits[2].dense_score, hits[2].lexical_score) == (0.9, None)


def test_rrf_ties_break_by_chunk_id_and_k_truncates() -> None:
    hits = rrf_fuse([Scored(chunk("z"), 1.0)], [Scored(chunk("y"), 1.0)], k=1)
    assert [h.chunk.chunk_id for h in hits] == ["y"]


def test_same_chunk_id_of_two_tenants_is_never_merged() -> None:
    hits = rrf_fuse([Scored(chunk("a", "t1"), 1.0)], [Scored(chunk("a", "t2"), 1.0)], k=5)
    assert len(hits) == 2


def test_candidate_count_grows_with_k() -> None:
    assert candidate_count(10) == 100
    assert candidate_count(100) == 200
