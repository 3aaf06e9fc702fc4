"""The lexical analyzer: tokens, stopwords, stable term ids, BM25 weights."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rag.stores.lexical import LexicalAnalyzer, term_index


def test_terms_are_lowercased_alphanumeric_runs_without_stopwords() -> None:
    analyzer = LexicalAnalyzer()
    assert analyzer.terms("The IL-6 levels, in COVID_19 patients!") == [
        "il",
        "6",
        "levels",
        "covid",
        "19",
        "patients",
    ]
    assert analyzer.terms("Über große Straßen") == ["über", "große", "straßen"]
    assert analyzer.terms("") == []
    assert analyzer.terms("the of and is") == []


def test_normalised_text_and_length() -> None:
    assert LexicalAnalyzer().normalised_text("The cat and THE hat") == ("cat hat", 2)


def test_term_ids_are_stable_across_processes() -> None:
    """Python's hash() is salted per process; the ids must not be, or stored vectors stop matching."""
    code = "from rag.stores.lexical import term_index; print(term_index('protein'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(other) == term_index("protein")
    assert 0 <= term_index("protein") < 2**32


def test_document_weights_follow_bm25_saturation_and_length_normalisation() -> None:
    analyzer = LexicalAnalyzer(k1=1.2, b=0.75, average_length=4)
    single = analyzer.document_vector("cell")
    repeated = analyzer.document_vector("cell cell cell cell")
    weight = dict(zip(single.indices, single.values, strict=True))[term_index("cell")]
    # len 1, tf 1: 2.2 / (1 + 1.2 * (0.25 + 0.75 / 4))
    assert weight == pytest.approx(2.2 / (1 + 1.2 * (0.25 + 0.75 * 1 / 4)))
    heavy = dict(zip(repeated.indices, repeated.values, strict=True))[term_index("cell")]
    assert weight < heavy < analyzer.k1 + 1  # more occurrences help, but saturate below k1 + 1
    assert single.indices == sorted(single.indices)


def test_query_vector_has_unit_weights_for_distinct_terms() -> None:
    vector = LexicalAnalyzer().query_vector("cell cell growth of the cell")
    assert len(vector.indices) == 2 and vector.values == [1.0, 1.0]
    assert LexicalAnalyzer().query_vector("the of").indices == []
