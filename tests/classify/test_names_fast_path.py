"""NameFinder.find's fast path (the letter runs, then the capitalised words) finds what the full rules find.

The reference is NameFinder._find_by_rules without what the letter runs showed: every rule over every word.
Each gate is checked from both sides: texts the fast path must answer alone (no hits), and texts it must
leave to the rules, each of which has a hit, so that a gate letting one through would fail the test.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest

from gateway.classify.hits import Hit
from gateway.classify.lexicon import load_lexicon
from gateway.classify.names import (
    _FOLD_TO_RUNS,
    CAPITAL_WORD_ASCII,
    INTRO_RUNS,
    NAME_INTROS,
    NON_ASCII_WORD_CHARACTER,
    RELATION,
    RELATION_BEFORE,
    RELATION_RUNS,
    SOFT_INTRO,
    WORD_ASCII,
    NameFinder,
    _mask,
    _may_follow_soft_intro,
    _spellings,
)


@pytest.fixture(scope="module")
def finder() -> NameFinder:
    return NameFinder(load_lexicon())


def _reference(finder: NameFinder, text: str) -> list[Hit]:
    return NameFinder._find_by_rules(finder, text, _mask(text))


def _find_and_whether_fast(
    finder: NameFinder, text: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[Hit], bool]:
    """finder.find(text), and whether it answered without the rules."""
    calls = []
    rules = finder._find_by_rules

    def spy(*args: object, **kwargs: object) -> list[Hit]:
        calls.append(args)
        return rules(*args, **kwargs)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(finder, "_find_by_rules", spy)
        hits = finder.find(text)
    return hits, not calls


def _runs(text: str) -> set[bytes]:
    return set(text.encode().translate(_FOLD_TO_RUNS).split())


FAST = [
    "Say hello in five words.",
    "Can you explain the difference between a list and a tuple in Python, and when I would use each one?",
    "how do i reverse a list in python without the reverse method",
    "THE API IS DOWN AGAIN, SEE THE LOGS",
    "What is the best way to learn? It's hard.",  # "best" without the comma "best," needs
    "Use a namespace in Python.",  # "nam", but no "my name" or "name ...?"
    "I'm stuck: GitHub rejects my push and I've no idea why.",  # words the lexicon does not know
    "The cat sat on the mat.",  # a common word that is also a name, no pronoun after it
    "Email me at maria@example.com about it.",  # the first name only inside an e-mail
    "Fix `tracy_sukhorukova()` in the code.",  # and inside a code span
    "The cat sat. " + "It was on the mat and it stayed there for the rest of the day. " * 3 + "I saw him.",
    "",
    "...",
    "I’m trying to understand how “async” works in Python — can you explain?",  # plain, not ASCII
    "Hello \ud800 world",  # a lone surrogate
]

SLOW = [
    "Dr. Who is here.",  # title
    "My son Will is here.",  # relation
    "Regards, Will",  # intro
    "Ask my co-worker Ash about it.",  # relation whose last part follows a hyphen
    "my name is tracy sukhorukova",  # all-lowercase text holding names
    "Ask tracy sukhorukova about it.",  # a lowercase first name in text with capitals
    "The cat saw him.",  # sentence-start rule: a pronoun after a common word that is also a name
    "Will, can you help me?",  # sentence-start rule: a comma and "you"
    "GitHub said no.",  # an unknown word before a person's verb
    "Thanks GitHub for hosting it.",  # after a soft intro
    "GitHub Copilot writes code.",  # a pair of unknown words
    "Check GitHub's account now.",  # possessive before a person's thing
    "Check GitHub’s account now.",
    "Our pilot a.k.a. Ace flew.",  # "a.k.a.", looked for as itself
    "Don't go to town, Zork!",  # exclaimed after a comma
    "Yes. " * 40 + "The dog saw him.",  # a pronoun within 160 characters, in a long text
    "Yes. " * 40 + "Zorkle, can you see it?",
    "Yes. " * 40 + "Zorkle saw him there.",  # an unknown word, a pronoun after it, in a long text
    "Yes. " * 40 + "Zorkle went to the market to buy bread and milk for the week, and then met him.",
    "Call Sarah about it.",  # a name
    "Thanks\xa0GitHub for it.",  # after a soft intro, across a no-break space (\s, not ASCII)
    "The cat saw him — really.",  # plain text, not ASCII
    "Ok Zoë.",  # not plain: a letter outside ASCII ("Zo" alone would be an unknown word)
    "sa’idu is here.",  # all lower case, and a name joined by "’": plain, not ASCII
]


@pytest.mark.parametrize("text", FAST)
def test_texts_the_fast_path_answers(finder: NameFinder, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    hits, fast = _find_and_whether_fast(finder, text, monkeypatch)
    assert fast
    assert hits == _reference(finder, text) == []


@pytest.mark.parametrize("text", SLOW)
def test_texts_left_to_the_rules(finder: NameFinder, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    hits, fast = _find_and_whether_fast(finder, text, monkeypatch)
    assert not fast
    assert hits == _reference(finder, text)
    assert hits  # each has a name: a fast path that took it would have found none


def test_word_kinds(finder: NameFinder) -> None:
    assert {"say", "python", "i", "a", "hello"} <= finder._cue_only_words
    assert {"can", "the", "will", "my"} <= finder._sentence_cue_words
    assert not {"sarah", "english", "maria"} & (finder._cue_only_words | finder._sentence_cue_words)
    assert finder._capital_kind("Let's") == finder._capital_kind("Let")  # the base, without "'s"
    assert finder._capital_kind("USA") == finder._capital_kind("Say")  # all capitals: never scored
    assert finder._capital_kind("Qwzx") != finder._capital_kind("Sarah")  # unknown, and a name


def test_the_plain_text_check_finds_word_characters_outside_ascii() -> None:
    every = "".join(map(chr, range(0x110000)))
    expected = [m.start() for m in re.finditer(r"[^\W\x00-\x7f]", every)]
    assert [m.start() for m in NON_ASCII_WORD_CHARACTER.finditer(every)] == expected


def test_capital_words_are_the_capitalised_word_matches() -> None:
    rng = random.Random(3)
    pieces = ["ab", "Cd", "E", "x", "'", "’", "-", "--", " ", ".", "O'", "Mc", "'S", "1", "_"]
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        expected = [m.span() for m in WORD_ASCII.finditer(text) if m.group()[0].isupper()]
        assert [m.span() for m in CAPITAL_WORD_ASCII.finditer(text)] == expected, text


def test_masked_words_keep_their_runs_but_after_www() -> None:
    """_runs_of reads the text's runs for the masked text's words: a masked span leaves the runs around
    it whole, but for "www." right after a letter."""
    rng = random.Random(4)
    pieces = "ab Bob . + - _ @ x1 com a.b ` :// www. ' ,".split() + [" ", "\n"]
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 20)))
        if "www." not in text:
            assert _runs(_mask(text)) <= _runs(text), text
    assert not _runs(_mask("tracywww.x.org")) <= _runs("tracywww.x.org")


def test_relation_runs_cover_every_relation() -> None:
    """A RELATION_BEFORE match that ends at a word leaves a run of RELATION_RUNS in the text."""
    alternatives = RELATION.split("|")
    assert len(alternatives) > 50
    for alternative in alternatives:
        for spelling in _spellings(alternative):
            assert re.fullmatch(f"(?:{RELATION})", spelling), spelling
            if not spelling.isascii():
                continue  # the letter runs are read from ASCII text only
            for text in (f"my {spelling} bob", f"her {spelling}'s name is bob", f"the {spelling}name: bob"):
                ends = {m.end() for m in RELATION_BEFORE.finditer(text)}
                assert text.index("bob") in ends, text
                assert _runs(text) & RELATION_RUNS, text
    with pytest.raises(ValueError):
        _spellings("son(?:ny)?")


INTRO_PHRASES = [
    "call me", "calls me", "called me", "known as", "named", "aka", "a.k.a.", "dear", "attn", "attn:",
    "attention", "attention:", "signed", "regards,", "sincerely,", "best,", "cheers,", "yours,",
]  # fmt: skip


def test_intro_runs_cover_every_intro() -> None:
    """Each alternative of NAME_INTROS[2] ends at the next word, and leaves a run of INTRO_RUNS (or is
    "a.k.a.", looked for as itself)."""
    alternatives = re.sub(r"\(\?:s\|ed\)", "", NAME_INTROS[2].pattern).split("|")
    assert len(alternatives) == 14  # each has a phrase below
    for phrase in INTRO_PHRASES:
        text = f"{phrase} bob"
        assert text.index("bob") in {m.end() for m in NAME_INTROS[2].finditer(text)}, phrase
        assert _runs(text) & INTRO_RUNS or "a.k.a." in text, phrase


def test_soft_intro_check_is_a_superset() -> None:
    """_may_follow_soft_intro is True wherever SOFT_INTRO ends at a word."""
    rng = random.Random(5)
    pieces = "hi hello i'm thanks said feat. cc: is bob x".split() + ["thank you", "talk to"]
    gaps = [" ", ", ", "  ", "\n", ". ", ": ", " " * 70, "!", "", "\xa0", ",\u2003", " , "]
    for _ in range(5000):
        text = "".join(rng.choice(pieces) + rng.choice(gaps) for _ in range(rng.randint(1, 8))) + "bob"
        for end in {m.end() for m in SOFT_INTRO.finditer(text)}:
            if end < len(text) and text[end].isalpha() and (end == 0 or not text[end - 1].isalpha()):
                assert _may_follow_soft_intro(text, end), (text, end)
    assert not _may_follow_soft_intro("so bob", 3)


def _random_texts(seed: int, count: int) -> Iterator[str]:
    """Texts mixing names, cue words, common words, case, punctuation, possessives and masked spans."""
    rng = random.Random(seed)
    words = (
        "Maria maria Bob tracy sukhorukova Will will The the Can My my son's daughter co-worker name name: "
        "is Dr. dr mr Mr. hi Hello thanks said says he him her his you your GitHub I'm I I've Python python "
        "API THE Smith O'Neil account address and & , in at from Inc Street best, regards, call me named"
    ).split()
    extra = [
        "maria@x.io",
        "`Bob`",
        "http://x.org/mr",
        "www.x.org",
        "tracywww.x.org",
        "!",
        "?",
        "\n",
        "’s",
        "—",
    ]
    extra += ["“", "\xa0", "é", "İ", "²"]
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 14)):
            parts.append(rng.choice(words) if rng.random() < 0.9 else rng.choice(extra))
            parts.append(rng.choice((" ", " ", " ", ", ", ". ", "'s ", "-")))
        text = "".join(parts)
        yield text.lower() if rng.random() < 0.15 else text


def test_find_is_the_rules_on_random_texts(finder: NameFinder) -> None:
    for text in _random_texts(6, 4000):
        assert finder.find(text) == _reference(finder, text), text
