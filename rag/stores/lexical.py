"""The lexical side of hybrid search: tokenisation, stopwords, hashed BM25 term weights."""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass, field

# A common English stopword list (Lucene/NLTK-like); no stemming, by design of the spec.
ENGLISH_STOPWORDS: frozenset[str] = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself no nor not now of off on once only or other our ours ourselves out over own same she should
    so some such than that the their theirs them themselves then there these they this those through to
    too under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves
    """.split()
)
# Runs of letters or digits in any script; underscores and punctuation separate tokens.
_TOKEN = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class SparseTerms:
    """A sparse vector: hashed term ids and their weights, ids sorted ascending."""

    indices: list[int]
    values: list[float]


@dataclass(frozen=True, slots=True)
class LexicalAnalyzer:
    """Turns text into terms and BM25 term weights; the IDF half is computed by the index at query time."""

    # Chosen on SciFact train by 5-fold cross-validation (evals/retrieval/TUNING.md); Anserini's defaults
    # (0.9, 0.4) are close. The surface is flat: textbook (1.2, 0.75) is within 0.006 nDCG@10.
    k1: float = 0.9
    b: float = 0.5
    # Qdrant stores per-document weights, so length normalisation needs a fixed average: about the
    # non-stopword terms of a 300-400-token chunk (PostgreSQL measures the real average instead).
    average_length: float = 150.0
    stopwords: frozenset[str] = field(default=ENGLISH_STOPWORDS)

    def terms(self, text: str) -> list[str]:
        """Lower-cased alphanumeric tokens, stopwords removed, in order."""
        return [token for token in _TOKEN.findall(text.lower()) if token not in self.stopwords]

    def normalised_text(self, text: str) -> tuple[str, int]:
        """The terms joined by spaces (what PostgreSQL indexes) and how many there are."""
        terms = self.terms(text)
        return " ".join(terms), len(terms)

    def document_vector(self, text: str) -> SparseTerms:
        """BM25 term-frequency weights tf·(k1+1)/(tf + k1·(1 − b + b·len/avg)) for a document."""
        terms = self.terms(text)
        norm = self.k1 * (1.0 - self.b + self.b * len(terms) / self.average_length)
        weights: dict[int, float] = {}
        for term, tf in Counter(terms).items():
            index = term_index(term)
            # A hash collision within one document merges the two terms' weights.
            weights[index] = weights.get(index, 0.0) + tf * (self.k1 + 1.0) / (tf + norm)
        return _sorted_sparse(weights)

    def query_vector(self, text: str) -> SparseTerms:
        """Each distinct query term with weight 1; the index multiplies in the IDF."""
        return _sorted_sparse(dict.fromkeys((term_index(term) for term in self.terms(text)), 1.0))


def term_index(term: str) -> int:
    """A stable 32-bit id for a term (CRC-32: the same on every machine and process)."""
    return zlib.crc32(term.encode("utf-8"))


def _sorted_sparse(weights: dict[int, float]) -> SparseTerms:
    indices = sorted(weights)
    return SparseTerms(indices=indices, values=[weights[index] for index in indices])
