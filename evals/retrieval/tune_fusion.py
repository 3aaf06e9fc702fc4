"""Grid search of the RRF constant and the lexical weight on SciFact *train*, with 5-fold CV.

Run after `python -m evals.retrieval.run` (it reuses the cached vectors of the default path in evals/.cache/):
`python -m evals.retrieval.tune_fusion` appends its table to evals/retrieval/TUNING.md.
Dense side: exact cosine; lexical side: the in-memory BM25 of tune_lexical (same formula as pgvector).
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np

from evals.retrieval.beir import DEFAULT_SCIFACT, load_beir, ndcg_at
from evals.retrieval.run import CACHE_DIR, cached_embeddings, corpus_key
from evals.retrieval.tune_lexical import TUNING_FILE, InMemoryBm25
from gateway.config import Settings
from rag.embedding import build_embedder
from rag.stores.lexical import LexicalAnalyzer

RRF_GRID = (10, 30, 60, 100)
LEXICAL_WEIGHTS = (1.0, 1.25, 1.5)
DEPTH = 100  # candidates per side, as the indexes fetch for k = 10


def fused_ndcg(
    dense: np.ndarray,
    lexical: np.ndarray,
    relevant: dict[str, int],
    doc_ids: list[str],
    rrf_k: int,
    weight: float,
) -> float:
    scores: dict[int, float] = {}
    for rank, doc in enumerate(dense[:DEPTH], start=1):
        scores[int(doc)] = scores.get(int(doc), 0.0) + 1.0 / (rrf_k + rank)
    for rank, doc in enumerate(lexical[:DEPTH], start=1):
        scores[int(doc)] = scores.get(int(doc), 0.0) + weight / (rrf_k + rank)
    top = sorted(scores, key=lambda doc: -scores[doc])[:10]
    return ndcg_at([doc_ids[doc] for doc in top], relevant)


def main() -> None:
    split = load_beir(DEFAULT_SCIFACT.resolve(), split="train")
    key = corpus_key(split)
    path = Settings.model_fields["embedding_backend"].default
    embedder = build_embedder(path, cache_dir=CACHE_DIR / "models")
    docs = cached_embeddings(f"scifact-docs-{path}", split.doc_texts, embedder, key)
    queries = cached_embeddings(f"scifact-queries-{path}", list(split.queries.values()), embedder, key)
    bm25 = InMemoryBm25(LexicalAnalyzer(), split.doc_texts)
    weights = bm25.weights(LexicalAnalyzer().k1, LexicalAnalyzer().b)
    query_ids = list(split.queries)
    dense = np.argsort(-(queries @ docs.T), axis=1)[:, :DEPTH]
    lexical = [bm25.rank(weights, text, k=DEPTH) for text in split.queries.values()]
    grid = {
        (rrf_k, weight): [
            fused_ndcg(dense[i], lexical[i], split.qrels[qid], split.doc_ids, rrf_k, weight)
            for i, qid in enumerate(query_ids)
        ]
        for rrf_k in RRF_GRID
        for weight in LEXICAL_WEIGHTS
    }
    lines = [
        "",
        "## Hybrid fusion (RRF) — SciFact train",
        "",
        "| rrf_k \\ lexical weight | " + " | ".join(map(str, LEXICAL_WEIGHTS)) + " |",
    ]
    lines.append("|---" * (len(LEXICAL_WEIGHTS) + 1) + "|")
    for rrf_k in RRF_GRID:
        lines.append(
            f"| {rrf_k} | "
            + " | ".join(f"{statistics.fmean(grid[(rrf_k, w)]):.4f}" for w in LEXICAL_WEIGHTS)
            + " |"
        )
    order = np.random.default_rng(0).permutation(len(query_ids))
    held, default, picks = [], [], []
    for fold in range(5):
        test = set(order[fold::5].tolist())
        train = [i for i in range(len(query_ids)) if i not in test]
        best = max(grid, key=lambda params: statistics.fmean(grid[params][i] for i in train))
        picks.append(best)
        held.append(statistics.fmean(grid[best][i] for i in test))
        default.append(statistics.fmean(grid[(60, 1.0)][i] for i in test))
    lines += [
        "",
        f"5-fold CV: tuned {statistics.fmean(held):.4f} vs (60, 1.0) "
        f"{statistics.fmean(default):.4f} held out; picks {picks}.",
        "",
    ]
    print("\n".join(lines))
    with Path(TUNING_FILE).open("a") as handle:
        handle.write("\n".join(lines))


if __name__ == "__main__":
    main()
