"""Grid search of the BM25 parameters (k1, b) and stopword use on SciFact *train* only.

Run: `python -m evals.retrieval.tune_lexical` (writes evals/retrieval/TUNING.md). Scores with the same
analyzer and formula the indexes use, in memory (scipy sparse), so the grid takes seconds. Also reports
5-fold cross-validation: pick (k1, b) on 4/5 of the queries, score on the held-out fifth, so the gain
over the textbook defaults can be judged for overfitting.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy import sparse

from evals.retrieval.beir import DEFAULT_SCIFACT, BeirSplit, load_beir, ndcg_at
from rag.stores.lexical import LexicalAnalyzer

K1_GRID = (0.6, 0.9, 1.2, 1.5, 2.0)
B_GRID = (0.3, 0.5, 0.75, 0.9)
TUNING_FILE = Path(__file__).resolve().parent / "TUNING.md"


class InMemoryBm25:
    """BM25 over a fixed corpus, with the IDF and (measured) average length that PgVectorIndex uses."""

    def __init__(self, analyzer: LexicalAnalyzer, texts: Sequence[str]) -> None:
        self.analyzer = analyzer
        self.vocabulary: dict[str, int] = {}
        rows, cols, counts = [], [], []
        for row, text in enumerate(texts):
            terms = analyzer.terms(text)
            for term in set(terms):
                rows.append(row)
                cols.append(self.vocabulary.setdefault(term, len(self.vocabulary)))
                counts.append(terms.count(term))
        self.tf = sparse.csr_matrix(
            (counts, (rows, cols)), shape=(len(texts), len(self.vocabulary)), dtype=float
        )
        self.lengths = np.asarray(self.tf.sum(axis=1)).ravel()
        df = np.asarray((self.tf > 0).sum(axis=0)).ravel()
        n = len(texts)
        self.idf = np.log((n - df + 0.5) / (df + 0.5) + 1)

    def weights(self, k1: float, b: float) -> sparse.csc_matrix:
        """The tf part of BM25 for every (document, term)."""
        norm = k1 * (1 - b + b * self.lengths / self.lengths.mean())
        coo = self.tf.tocoo()
        data = coo.data * (k1 + 1) / (coo.data + norm[coo.row])
        return sparse.csc_matrix((data, (coo.row, coo.col)), shape=self.tf.shape)

    def rank(self, weights: sparse.csc_matrix, query: str, k: int = 10) -> np.ndarray:
        ids = [self.vocabulary[t] for t in set(self.analyzer.terms(query)) if t in self.vocabulary]
        if not ids:
            return np.empty(0, dtype=int)
        scores = weights[:, ids] @ self.idf[ids]
        top = np.argpartition(-scores, k)[:k]
        return top[np.argsort(-scores[top])]


def per_query_ndcg(bm25: InMemoryBm25, split: BeirSplit, k1: float, b: float) -> list[float]:
    weights = bm25.weights(k1, b)
    return [
        ndcg_at([split.doc_ids[i] for i in bm25.rank(weights, text)], split.qrels[qid])
        for qid, text in split.queries.items()
    ]


def main() -> None:
    split = load_beir(DEFAULT_SCIFACT.resolve(), split="train")
    lines = [
        "# BM25 tuning — SciFact train only",
        "",
        f"_Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python -m evals.retrieval.tune_lexical`._",
        "",
        "Lexical nDCG@10 (in-memory BM25, same analyzer and formula as the indexes, measured avgdl).",
        "",
    ]
    defaults = LexicalAnalyzer()
    for label, analyzer in (
        ("English stopwords", defaults),
        ("no stopwords", replace(defaults, stopwords=frozenset())),
    ):
        bm25 = InMemoryBm25(analyzer, split.doc_texts)
        grid = {(k1, b): per_query_ndcg(bm25, split, k1, b) for k1 in K1_GRID for b in B_GRID}
        lines += [
            f"### {label}",
            "",
            "| k1 \\ b | " + " | ".join(map(str, B_GRID)) + " |",
            "|---" * (len(B_GRID) + 1) + "|",
        ]
        for k1 in K1_GRID:
            lines.append(
                f"| {k1} | " + " | ".join(f"{statistics.fmean(grid[(k1, b)]):.4f}" for b in B_GRID) + " |"
            )
        lines += ["", cross_validation(grid, len(split.queries)), ""]
        print("\n".join(lines[-len(K1_GRID) - 6 :]), flush=True)
    TUNING_FILE.write_text("\n".join(lines))
    print(f"wrote {TUNING_FILE}")


def cross_validation(grid: dict[tuple[float, float], list[float]], n_queries: int, folds: int = 5) -> str:
    """Pick (k1, b) on the other folds, score on each held-out fold; compare with (1.2, 0.75)."""
    order = np.random.default_rng(0).permutation(n_queries)
    held_out, default, picks = [], [], []
    for fold in range(folds):
        test = set(order[fold::folds].tolist())
        train = [i for i in range(n_queries) if i not in test]
        best = max(grid, key=lambda params: statistics.fmean(grid[params][i] for i in train))
        picks.append(best)
        held_out.append(statistics.fmean(grid[best][i] for i in test))
        default.append(statistics.fmean(grid[(1.2, 0.75)][i] for i in test))
    return (
        f"5-fold CV: tuned {statistics.fmean(held_out):.4f} vs textbook (1.2, 0.75) "
        f"{statistics.fmean(default):.4f} on held-out folds; picks {picks}."
    )


if __name__ == "__main__":
    main()
