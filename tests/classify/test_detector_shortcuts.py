"""The shortcuts the detectors take to save time give the same answers as the long way round."""

from __future__ import annotations

import random
import re

import pytest

from gateway.classify.hits import has_digit
from gateway.classify.identifiers import EMAIL, find_emails
from gateway.classify.lexicon import load_lexicon
from gateway.classify.names import SKIP_SPANS, WORD, NameFinder, _Cues, _LazyTokens, _mask, tokenize

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


def _random_texts(seed: int, count: int) -> list[str]:
    """Short texts dense in "@", local-part and domain characters, some with a local part over 64 long."""
    rng = random.Random(seed)
    pieces = ["ab", ".", "+", "-", "_", "@", " ", "x1", "é", "\n", "com", "a.b", "@", "Q", "`", "://", "www."]
    texts = []
    for _ in range(count):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 25)))
        if rng.random() < 0.05:
            text = "a" * rng.randint(60, 200) + "@b.co " + text
        texts.append(text)
    return texts


def test_emails_found_from_each_at_are_the_pattern_s() -> None:
    for text in _random_texts(7, 20_000):
        expected = [(m.start(), m.end()) for m in EMAIL.finditer(text)]
        assert [(hit.start, hit.end) for hit in find_emails(text)] == expected, text


def test_masking_from_each_at_is_the_pattern_s() -> None:
    for text in _random_texts(8, 20_000):
        assert _mask(text) == SKIP_SPANS.sub(lambda m: " " * len(m.group()), text), text


CUE_PIECES = (
    "Dr. dr Mr mr. MRS x-mr o'dr Prof. professor Sir hon. my his her the a son son's sons kid co-worker "
    "account holder grandma client name name: is hi Hello i'm it's me thanks thank you cc: said feat. "
    "directed by talk with Maria Bob Ana Lee Will maria@x.io http://x.org/mr `mr` İlknur , . : ? !"
).split()


def test_cue_checks_on_the_word_before_agree_with_the_scans() -> None:
    """_Cues.before and after_soft_intro answer as membership in the full scans' end offsets would."""
    rng = random.Random(9)
    for _ in range(3000):
        text = "".join(
            rng.choice(CUE_PIECES) + rng.choice(("", " ", "  ", ", ", ". ", "\n")) for _ in range(12)
        )
        masked = _mask(text)
        tokens = _LazyTokens(text, list(WORD.finditer(masked)), frozenset())
        cues = _Cues(text, masked=masked)
        for i in range(len(tokens)):
            start = tokens[i].start
            assert cues.before(tokens, i) == (start in cues.title, start in cues.relation), (text, i)
            assert cues.after_soft_intro(tokens, i) == (start in cues.soft), (text, i)


@pytest.mark.parametrize(
    "text",
    [
        "write to x@mr" + " " * 250 + "John",  # a title inside an e-mail, far before the name
        "ask x@mr. John or `dr` Bob",
        "see http://x.org/my son Bob and my son Tim",
        "a@b.io hi, Ana! " + "my " + "very " * 60 + "kind son Lee",
    ],
)
def test_cue_checks_across_masked_spans(text: str) -> None:
    masked = _mask(text)
    tokens = _LazyTokens(text, list(WORD.finditer(masked)), frozenset())
    cues = _Cues(text, masked=masked)
    for i in range(len(tokens)):
        start = tokens[i].start
        assert cues.before(tokens, i) == (start in cues.title, start in cues.relation), (text, i)
        assert cues.after_soft_intro(tokens, i) == (start in cues.soft), (text, i)
