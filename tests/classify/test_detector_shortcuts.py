"""The shortcuts the detectors take to save time give the same answers as the long way round."""

from __future__ import annotations

import re

import pytest

from gateway.classify.hits import has_digit
from gateway.classify.lexicon import load_lexicon
from gateway.classify.names import WORD, NameFinder, _LazyTokens, _mask, tokenize

TEXTS = [
    "Say hello in five words.",
    "my name is tracy sukhorukova and maria's cat is here",
    "Mail dr. Smith at bob@example.com or see https://x.org/mr John and `code Mr X`",
    "O'Neil-Smith met MARIA, İlknur and Ωmega at www.site.org: 'Hi Ana!'",
    "",
]


@pytest.mark.parametrize("text", TEXTS)
def test_lazy_tokens_are_the_tokens(text: str) -> None:
    finder = NameFinder(load_lexicon())
    names = finder._lowercase_names(text)
    lazy = _LazyTokens(text, list(WORD.finditer(_mask(text))), names)
    assert [lazy[i] for i in range(len(lazy))] == tokenize(text, lowercase_names=names)


@pytest.mark.parametrize("text", [*TEXTS, "room 5", "x٣y", "no digits here", "１２"])
def test_has_digit_is_a_search_for_backslash_d(text: str) -> None:
    assert has_digit(text) == (re.search(r"\d", text) is not None)
