"""Loading a BEIR dataset (corpus, queries, qrels) and scoring rankings with nDCG@k and recall@k."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SCIFACT = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "beir" / "scifact"


@dataclass(frozen=True, slots=True)
class BeirSplit:
    """Documents (id → title + text), queries (id → text) and relevance judgements of one split."""

    doc_ids: list[str]
    doc_texts: list[str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_beir(root: Path, *, split: str = "train") -> BeirSplit:
    """Read corpus.jsonl, queries.jsonl and qrels/<split>.tsv; keep only judged queries."""
    doc_ids: list[str] = []
    doc_texts: list[str] = []
    with (root / "corpus.jsonl").open() as handle:
        for line in handle:
            doc = json.loads(line)
            doc_ids.append(str(doc["_id"]))
            # One chunk per document: title and abstract, as BEIR evaluates.
            doc_texts.append(f"{doc.get('title', '')}\n{doc['text']}".strip())
    qrels: dict[str, dict[str, int]] = {}
    with (root / "qrels" / f"{split}.tsv").open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if int(row["score"]) > 0:
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    queries: dict[str, str] = {}
    with (root / "queries.jsonl").open() as handle:
        for line in handle:
            query = json.loads(line)
            if str(query["_id"]) in qrels:
                queries[str(query["_id"])] = query["text"]
    return BeirSplit(doc_ids=doc_ids, doc_texts=doc_texts, queries=queries, qrels=qrels)


def ndcg_at(ranking: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k with graded gains rel/log2(rank + 1), as pytrec_eval computes it for BEIR."""
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranking[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranking: Sequence[str], relevant: Mapping[str, int], k: int = 100) -> float:
    """Share of the relevant documents found in the top k."""
    if not relevant:
        return 0.0
    return len(set(ranking[:k]) & set(relevant)) / len(relevant)
