"""Qdrant's local mode, hybrid search on every SciFact train query, with fp32 and with int8 vectors.

`python -m evals.retrieval.qdrant_paths` (about 30 minutes: the local mode scores sparse vectors in a
Python loop). The main eval caps local Qdrant's lexical and hybrid modes at the first 100 queries, which
are harder than the rest (BM25 0.628 on them, 0.674 on all 809); this measures the embedding path's
effect on Qdrant's hybrid quality over all of them, and writes its section of evals/RESULTS.md.
"""

from __future__ import annotations

import statistics
import time

from evals.results import write_section
from evals.retrieval.beir import DEFAULT_SCIFACT, load_beir, ndcg_at
from evals.retrieval.run import (
    CACHE_DIR,
    TENANT,
    cached_embeddings,
    corpus_key,
    machine_description,
    open_indexes,
)
from rag.embedding import EmbeddingBackend, build_embedder
from rag.types import ChunkRecord

PATHS: tuple[EmbeddingBackend, ...] = ("onnx", "onnx-int8")


TITLE = "Qdrant hybrid over every train query (python -m evals.retrieval.qdrant_paths)"


def main() -> None:
    started = time.perf_counter()
    split = load_beir(DEFAULT_SCIFACT.resolve(), split="train")
    key = corpus_key(split)
    texts = list(split.queries.values())
    embedders = {path: build_embedder(path, cache_dir=CACHE_DIR / "models") for path in PATHS}
    docs = {p: cached_embeddings(f"scifact-docs-{p}", split.doc_texts, e, key) for p, e in embedders.items()}
    queries = {p: cached_embeddings(f"scifact-queries-{p}", texts, e, key) for p, e in embedders.items()}
    stores = {path: "vs_" + path.replace("-", "_") for path in PATHS}
    scores: dict[str, list[float]] = {path: [] for path in PATHS}
    with open_indexes(docs[PATHS[0]].shape[1], ["qdrant-memory"]) as indexes:
        index = indexes["qdrant-memory"]
        for path in PATHS:
            # Chunk ids differ per path: a point's id derives from (tenant, chunk id), not the store.
            chunks = [
                ChunkRecord(
                    chunk_id=f"{path}-{doc}",
                    tenant=TENANT,
                    store_id=stores[path],
                    file_id=doc,
                    position=0,
                    text=text,
                )
                for doc, text in zip(split.doc_ids, split.doc_texts, strict=True)
            ]
            for start in range(0, len(chunks), 512):
                index.upsert(chunks[start : start + 512], docs[path][start : start + 512])
        for i, (qid, text) in enumerate(split.queries.items()):
            for path in PATHS:
                hits = index.search(
                    tenant=TENANT,
                    store_ids=[stores[path]],
                    query_text=text,
                    query_vector=queries[path][i],
                    k=100,
                    mode="hybrid",
                )
                scores[path].append(ndcg_at([hit.chunk.file_id for hit in hits], split.qrels[qid]))
            if (i + 1) % 100 == 0:
                print(i + 1, {p: round(statistics.fmean(v), 4) for p, v in scores.items()}, flush=True)
    lines = [
        f"Machine: {machine_description()}; {time.perf_counter() - started:.0f} s in all.",
        "",
        "Qdrant's local mode (in memory), hybrid (dense + sparse BM25, RRF), k = 100, on all "
        f"{len(texts)} SciFact train queries; the same lexical side for both paths.",
        "",
        "| embedding path | nDCG@10, all queries | nDCG@10, first 100 (the main eval's subset) |",
        "|---|---|---|",
    ]
    lines += [
        f"| {path} | {statistics.fmean(scores[path]):.4f} | {statistics.fmean(scores[path][:100]):.4f} |"
        for path in PATHS
    ]
    write_section(TITLE, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
