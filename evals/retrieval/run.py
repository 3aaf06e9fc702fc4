"""Retrieval eval on BEIR SciFact (train): quality per backend and mode, embedding throughput, latency.

Run: `python -m evals.retrieval.run` (writes its section of evals/RESULTS.md). Corpus embeddings are cached
in evals/.cache/, so only the first run pays for embedding the corpus three times.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from evals.results import without_heading, write_section
from evals.retrieval.beir import DEFAULT_SCIFACT, BeirSplit, load_beir, ndcg_at, recall_at
from gateway.config import Settings
from rag.embedding import EMBEDDING_BACKENDS, Embedder, build_embedder
from rag.retrieval import Retriever
from rag.stores import SearchMode, VectorIndex, build_index
from rag.types import ChunkRecord

CACHE_DIR = Path(__file__).resolve().parents[1] / ".cache"
TITLE = "Retrieval quality and speed (python -m evals.retrieval.run)"
TENANT = "eval"
STORE = "vs_scifact"
MODES: tuple[SearchMode, ...] = ("dense", "lexical", "hybrid")


@dataclass(frozen=True, slots=True)
class Quality:
    """Mean metrics of one backend and mode over all queries, and the per-query search time."""

    backend: str
    mode: str
    queries: int
    ndcg10: float
    recall100: float
    search_ms_p50: float


def machine_description() -> str:
    """CPU model, core count, memory and library versions: what the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import onnxruntime
    import qdrant_client  # noqa: F401
    import torch

    load = os.getloadavg()[0]
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory_gib:.0f} GiB, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"onnxruntime {onnxruntime.__version__}; "
        f"load average at start {load:.1f} (the machine is shared)"
    )


def corpus_key(split: BeirSplit) -> str:
    digest = hashlib.sha256("\n".join(split.doc_ids).encode())
    digest.update(hashlib.sha256("\n".join(split.doc_texts).encode()).digest())
    return digest.hexdigest()[:12]


def graph_tag(embedder: Embedder) -> str:
    """What produced the vectors: the ONNX file (named by weights and export recipe), or the model."""
    onnx_path = getattr(embedder, "onnx_path", None)
    return Path(onnx_path).stem if onnx_path is not None else f"torch-{embedder.model_name}"


def cached_embeddings(name: str, texts: Sequence[str], embedder: Embedder, key: str) -> np.ndarray:
    """Embed texts once per (name, graph, corpus) and keep the matrix in evals/.cache/.

    The graph is part of the file name: vectors from an older export must never meet a newer one's.
    """
    tag = hashlib.sha256(graph_tag(embedder).encode()).hexdigest()[:8]
    path = CACHE_DIR / f"{name}-{tag}-{key}.npy"
    embed = embedder.embed_documents
    if path.is_file():
        matrix = np.load(path)
        if matrix.shape[0] == len(texts):
            return matrix
    started = time.perf_counter()
    matrix = embed(texts)
    print(f"  embedded {len(texts)} texts for {name} in {time.perf_counter() - started:.0f} s", flush=True)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(path, matrix)
    return matrix


def throughput(
    embedders: Mapping[str, Embedder], texts: Sequence[str], *, rounds: int = 2
) -> dict[str, float]:
    """Documents per second for each embedder on the same texts; rounds interleave, best round counts."""
    best: dict[str, float] = {}
    for embedder in embedders.values():
        embedder.embed_documents(texts[:8])  # warm-up: lazy allocations, first-call graph setup
    for _ in range(rounds):
        for name, embedder in embedders.items():
            started = time.perf_counter()
            embedder.embed_documents(texts)
            rate = len(texts) / (time.perf_counter() - started)
            best[name] = max(best.get(name, 0.0), rate)
    return best


def subcorpus(split: BeirSplit, size: int) -> tuple[BeirSplit, list[int]]:
    """Every judged document plus the first unjudged ones, up to `size` (all if size <= 0)."""
    judged = {doc for relevant in split.qrels.values() for doc in relevant}
    rows = [i for i, doc in enumerate(split.doc_ids) if doc in judged]
    others = [i for i, doc in enumerate(split.doc_ids) if doc not in judged]
    rows = sorted(rows + others[: max(0, size - len(rows))]) if size > 0 else list(range(len(split.doc_ids)))
    sub = BeirSplit(
        doc_ids=[split.doc_ids[i] for i in rows],
        doc_texts=[split.doc_texts[i] for i in rows],
        queries=split.queries,
        qrels=split.qrels,
    )
    return sub, rows


def dense_ndcg(doc_vectors: np.ndarray, query_vectors: np.ndarray, split: BeirSplit) -> float:
    """Exact cosine nDCG@10 (what Qdrant's local mode computes), to compare embedding paths."""
    scores = query_vectors @ doc_vectors.T
    top = np.argsort(-scores, axis=1)[:, :10]
    query_ids = list(split.queries)
    return statistics.fmean(
        ndcg_at([split.doc_ids[j] for j in top[i]], split.qrels[qid]) for i, qid in enumerate(query_ids)
    )


@contextmanager
def open_indexes(dim: int, names: Sequence[str]) -> Iterator[dict[str, VectorIndex]]:
    """The backends under test, each empty, closed (and the database stopped) afterwards."""
    indexes: dict[str, VectorIndex] = {}
    server = None
    with tempfile.TemporaryDirectory(prefix="retrieval-eval-") as workdir:
        try:
            for name in names:
                if name == "qdrant-memory":
                    indexes[name] = build_index("qdrant", dim=dim, qdrant_path=":memory:")
                elif name == "qdrant-disk":
                    indexes[name] = build_index("qdrant", dim=dim, qdrant_path=str(Path(workdir) / "qdrant"))
                elif name == "pgvector":
                    import pgserver

                    pgdata = Path(workdir) / "pg"
                    server = pgserver.get_server(pgdata, cleanup_mode="stop")
                    indexes[name] = build_index("pgvector", dim=dim, database_url=server.get_uri())
                else:
                    raise ValueError(f"unknown backend {name!r}")
                indexes[name].ensure_ready()
            yield indexes
        finally:
            for index in indexes.values():
                index.close()
            if server is not None:
                server.cleanup()


def evaluate_index(
    name: str, index: VectorIndex, split: BeirSplit, query_vectors: np.ndarray, *, sparse_query_limit: int
) -> list[Quality]:
    """nDCG@10 and recall@100 for each mode, searching with precomputed query vectors.

    `sparse_query_limit` caps the queries of the lexical and hybrid modes (Qdrant's local mode scores
    sparse vectors in a Python loop over every point, ~0.2 s per query at this corpus size).
    """
    results = []
    for mode in MODES:
        ndcgs, recalls, times = [], [], []
        limit = len(split.queries) if mode == "dense" else sparse_query_limit
        for i, (qid, text) in enumerate(list(split.queries.items())[:limit]):
            started = time.perf_counter()
            hits = index.search(
                tenant=TENANT,
                store_ids=[STORE],
                query_text=text,
                query_vector=query_vectors[i],
                k=100,
                mode=mode,
            )
            times.append((time.perf_counter() - started) * 1000)
            ranking = [hit.chunk.file_id for hit in hits]
            ndcgs.append(ndcg_at(ranking, split.qrels[qid]))
            recalls.append(recall_at(ranking, split.qrels[qid]))
        quality = Quality(
            name,
            mode,
            len(ndcgs),
            statistics.fmean(ndcgs),
            statistics.fmean(recalls),
            statistics.median(times),
        )
        print(
            f"  {name:14s} {mode:8s} nDCG@10 {quality.ndcg10:.4f} recall@100 {quality.recall100:.4f}",
            flush=True,
        )
        results.append(quality)
    return results


def latency(
    retriever: Retriever, queries: Sequence[str], *, mode: SearchMode = "hybrid"
) -> tuple[float, float]:
    """p50 and p95 in ms of Retriever.search(k=10), query embedding included."""
    retriever.search(tenant=TENANT, store_ids=[STORE], query=queries[0], k=10, mode=mode)  # warm-up
    times = []
    for query in queries:
        started = time.perf_counter()
        retriever.search(tenant=TENANT, store_ids=[STORE], query=query, k=10, mode=mode)  # type: ignore[arg-type]
        times.append((time.perf_counter() - started) * 1000)
    quantiles = statistics.quantiles(times, n=100)
    return statistics.median(times), quantiles[94]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_SCIFACT)
    parser.add_argument("--backends", nargs="+", default=["qdrant-memory", "pgvector"])
    parser.add_argument("--throughput-docs", type=int, default=256)
    parser.add_argument("--latency-queries", type=int, default=200)
    parser.add_argument("--results", type=Path, default=None, help="write the report to this file instead")
    parser.add_argument("--paths-docs", type=int, default=1000, help="sub-corpus size for comparing paths")
    parser.add_argument("--local-qdrant-sparse-queries", type=int, default=100)
    parser.add_argument(
        "--path",
        choices=EMBEDDING_BACKENDS,
        default=Settings.model_fields["embedding_backend"].default,
        help="embedding path of the quality and latency sections (default: the gateway's default)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved throughput rounds (best counts)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    machine = machine_description()
    split = load_beir(args.data.resolve(), split="train")
    key = corpus_key(split)
    query_texts = list(split.queries.values())
    print(f"SciFact train: {len(split.doc_ids)} documents, {len(split.queries)} queries", flush=True)

    embedders: dict[str, Embedder] = {
        name: build_embedder(name, cache_dir=CACHE_DIR / "models") for name in EMBEDDING_BACKENDS
    }
    corpus_vectors = cached_embeddings(
        f"scifact-docs-{args.path}", split.doc_texts, embedders[args.path], key
    )
    query_vectors = {
        name: cached_embeddings(f"scifact-queries-{name}", query_texts, e, key)
        for name, e in embedders.items()
    }
    # The paths are compared on a sub-corpus (every judged document plus the first others) so that the
    # first run embeds 5k documents once, not three times.
    sub, sub_rows = subcorpus(split, args.paths_docs)
    sub_key = corpus_key(sub)
    sub_vectors = {
        name: corpus_vectors[sub_rows]
        if name == args.path
        else cached_embeddings(f"scifact-sub-docs-{name}", sub.doc_texts, e, sub_key)
        for name, e in embedders.items()
    }
    sample = split.doc_texts[:: max(1, len(split.doc_texts) // args.throughput_docs)][: args.throughput_docs]
    rates = throughput(embedders, sample, rounds=args.rounds)
    path_ndcg: dict[str, float] = {
        name: dense_ndcg(sub_vectors[name], query_vectors[name], sub) for name in EMBEDDING_BACKENDS
    }
    for name in EMBEDDING_BACKENDS:
        print(f"  {name:10s} {rates[name]:6.1f} docs/s  dense nDCG@10 {path_ndcg[name]:.4f}", flush=True)

    qualities: list[Quality] = []
    latencies: dict[str, tuple[float, float]] = {}
    ingest_rates: dict[str, float] = {}
    dim = corpus_vectors.shape[1]
    chunks = [
        ChunkRecord(chunk_id=doc_id, tenant=TENANT, store_id=STORE, file_id=doc_id, position=0, text=text)
        for doc_id, text in zip(split.doc_ids, split.doc_texts, strict=True)
    ]
    with open_indexes(dim, args.backends) as indexes:
        for backend, index in indexes.items():
            t0 = time.perf_counter()
            for start in range(0, len(chunks), 512):
                index.upsert(chunks[start : start + 512], corpus_vectors[start : start + 512])
            ingest_rates[backend] = len(chunks) / (time.perf_counter() - t0)
            local_qdrant = backend.startswith("qdrant-") and backend != "qdrant-server"
            sparse_limit = args.local_qdrant_sparse_queries if local_qdrant else len(query_texts)
            qualities += evaluate_index(
                backend, index, split, query_vectors[args.path], sparse_query_limit=sparse_limit
            )
            retriever = Retriever(embedder=embedders[args.path], index=index)
            n_latency = min(args.latency_queries, 50) if local_qdrant else args.latency_queries
            latencies[backend] = latency(retriever, query_texts[:n_latency])
            p50, p95 = latencies[backend]
            print(f"  {backend}: hybrid latency p50 {p50:.1f} ms p95 {p95:.1f} ms", flush=True)
    elapsed = time.perf_counter() - started
    report = results_markdown(
        machine,
        split,
        qualities,
        rates,
        path_ndcg,
        latencies,
        ingest_rates,
        elapsed,
        len(sample),
        len(sub.doc_ids),
        path=args.path,
        rounds=args.rounds,
    )
    if args.results is not None:
        args.results.write_text(report)
    else:
        write_section(TITLE, without_heading(report))
    print(f"wrote the retrieval results in {elapsed:.0f} s")


def results_markdown(
    machine: str,
    split: BeirSplit,
    qualities: Sequence[Quality],
    rates: Mapping[str, float],
    path_ndcg: Mapping[str, float],
    latencies: dict[str, tuple[float, float]],
    ingest_rates: dict[str, float],
    elapsed: float,
    sample_size: int,
    sub_size: int,
    *,
    path: str,
    rounds: int,
) -> str:
    """RESULTS.md: the tables, the goals and whether each was met."""
    hybrid = {q.backend: q.ndcg10 for q in qualities if q.mode == "hybrid"}
    lines = [
        "# Retrieval eval — BEIR SciFact, train split",
        "",
        f"_Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python -m evals.retrieval.run`, "
        f"{elapsed:.0f} s in all._",
        f"Machine: {machine}.",
        "",
        f"{len(split.doc_ids)} documents (title + abstract, one chunk each), "
        f"{len(split.queries)} train queries.",
        f"Query and document vectors: all-MiniLM-L6-v2 through the `{path}` path (the gateway's default "
        f"is `{Settings.model_fields['embedding_backend'].default}`). k = 100 per search.",
        "",
        "## Quality per backend and mode",
        "",
        "| backend | mode | queries | nDCG@10 | recall@100 | search p50 (ms, no embedding) |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {q.backend} | {q.mode} | {q.queries} | {q.ndcg10:.4f} | {q.recall100:.4f} | "
        f"{q.search_ms_p50:.1f} |"
        for q in qualities
    ]
    lines += [
        "",
        "Published nDCG@10 on the *test* split for orientation: BM25 0.665, MiniLM-L6 dense 0.645,",
        "BM25 + cross-encoder 0.688.",
        "",
        "## Embedding paths (same documents, same run)",
        "",
        f"Throughput on {sample_size} corpus documents, batches of 32, best of {rounds} interleaved rounds;",
        f"dense nDCG@10 by exact cosine over a {sub_size}-document sub-corpus (every judged document",
        "plus the first unjudged ones) with that path's document and query vectors.",
        "",
        "| path | docs/s | × torch | dense nDCG@10 | Δ vs torch |",
        "|---|---|---|---|---|",
    ]
    for name in EMBEDDING_BACKENDS:
        lines.append(
            f"| {name} | {rates[name]:.1f} | {rates[name] / rates['torch']:.2f} | {path_ndcg[name]:.4f} | "
            f"{path_ndcg[name] - path_ndcg['torch']:+.4f} |"
        )
    lines += [
        "",
        f"## Query latency (Retriever.search, hybrid, k = 10, `{path}` query embedding included)",
        "",
        "| backend | p50 ms | p95 ms | index upsert docs/s (vectors precomputed) |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {p50:.1f} | {p95:.1f} | {ingest_rates[name]:.0f} |"
        for name, (p50, p95) in latencies.items()
    ]
    losses = {n: path_ndcg["torch"] - path_ndcg[n] for n in ("onnx", "onnx-int8")}
    # A path counts only if it keeps quality: within 0.01 nDCG@10 of the PyTorch reference.
    speedups = {n: rates[n] / rates["torch"] for n in losses if losses[n] <= 0.01}
    best = max(speedups, key=speedups.__getitem__, default=None)
    best_speedup = speedups[best] if best is not None else 0.0
    lines += [
        "",
        "## Goals",
        "",
        "- hybrid nDCG@10 ≥ 0.70: "
        + ", ".join(
            f"{name} {value:.4f} ({'met' if value >= 0.70 else 'NOT met'})" for name, value in hybrid.items()
        ),
        f"- ingestion ≥ 2× PyTorch with ≤ 0.01 nDCG@10 loss: best such path {best or 'none'} "
        f"{best_speedup:.2f}× ({'met' if best_speedup >= 2 else 'NOT met'}); losses "
        + ", ".join(f"{n} {loss:+.4f}" for n, loss in losses.items()),
        "- p95 ≤ 50 ms: "
        + ", ".join(
            f"{name} {p95:.1f} ms ({'met' if p95 <= 50 else 'NOT met'})"
            for name, (_, p95) in latencies.items()
        ),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
