"""Person names without a statistical NER model: a name gazetteer plus the cues people use around names
(titles, "my name is", "my son X", "X's address", speech verbs, pronouns that refer back), and the cues
that make a name-like word a place or a firm ("in Paris", "near Austin", "works for Knight")."""

from __future__ import annotations

import functools
import re
import string
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from itertools import compress, count
from operator import itemgetter
from typing import NamedTuple, Protocol

from gateway.classify.hits import Hit, lower_same_length
from gateway.classify.lexicon import Lexicon

WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
# (literal every match needs, pattern): URLs, bare www. addresses, e-mails, code spans.
SKIP_ALTERNATIVES = (
    ("://", r"\S+://\S+"),
    ("www.", r"www\.\S+"),
    ("@", r"[\w.+-]+@[\w.-]+"),
    ("`", r"`[^`\n]*`"),
)
SKIP_SPANS = re.compile("|".join(pattern for _, pattern in SKIP_ALTERNATIVES))
SENTENCE_PUNCTUATION = frozenset('.!?:;"“”([*•|>-')

TITLE = re.compile(
    r"\b(?:mr|mrs|ms|miss|mx|dr|prof|professor|sir|dame|madam|mme|mlle|herr|frau|sr|sra|srta|rev|hon)\b\.?\s+"
)
# Cues that introduce a name; separate patterns so that one cannot hide another's match.
NAME_INTROS = (
    re.compile(
        r"\b(?:my|his|her|their|your|our|the)\s+(?:(?:full|first|last|middle|maiden|given|family|real"
        r"|legal|nick|sur|birth)\s*)?nam(?:e)?\s*(?:is|was|:|=|-)?\s*"
    ),
    re.compile(r"\bname\b[^.?!\n]{0,24}\?\s*(?:\w{2,10}:\s*)?"),
    re.compile(
        r"\b(?:call(?:s|ed)? me|known as|named|aka|a\.k\.a\.|dear|attn:?|attention:?|signed|regards,"
        r"|sincerely,|best,|cheers,|yours,)\s*"
    ),
)
SOFT_INTRO = re.compile(
    r"\b(?:hi|hello|hey|i am|i'm|im|this is|it's me|thanks|thank you|cc:?|said|says|asked|told|tell"
    r"|ask|meet|met|invite|invited|contact|email|phone|text|speak to|speak with|talk to|talk with"
    r"|starring|featuring|feat\.|directed by|written by|assistant to)\s*,?\s*"
)
RELATION = (
    r"kid|son|daughter|child|wife|husband|spouse|partner|friend|boss|mother|mom|mum|father|dad|brother|sister"
    r"|sibling|colleague|co-?worker|manager|supervisor|uncle|aunt|cousin|grandma|grandpa|grandmother"
    r"|grandfather|grandson|granddaughter|nephew|niece|fianc[ée]e?|girlfriend|boyfriend|neighbou?r|doctor"
    r"|lawyer|assistant|tenant|landlord|client|patient|student|teacher|employee|roommate|baby|guardian"
    r"|beneficiary|customer|account holder"
)
RELATION_BEFORE = re.compile(
    rf"\b(?:my|his|her|our|their|your|a|the)\s+(?:[a-z-]+\s+){{0,2}}?(?:{RELATION})(?:'s|’s)?"
    r"\s*(?:name\s*(?:is|:)?)?\s*,?\s*"
)
POSSESSED = re.compile(
    rf"(?i)^\s+(?:{RELATION}|address|phone|number|e-?mail|account|birthday|house|home|car|place|office|desk"
    r"|passport|card|id|ssn|wallet|room|funeral|wedding|party|family|parents|death|life)\b"
)
PERSON_VERB_AFTER = re.compile(
    r"(?i)^\s+(?:said|says|shouted|yelled|whispered|replied|answered|asked|told|cried|laughed|smiled|lives"
    r"|lived|grew up|was born|married|wrote|writes|sang|sings|thinks|thought|felt|feels|has given|had given"
    r"|gave|explained|listed|wants|wanted|loves|loved|called|will be talking|spoke|speaks)\b"
)
# Words that make the capitalised words before them an organisation or a place, not a person.
ORG_AFTER = re.compile(
    r"^,?\s+(?:(?i:group|holdings|partners|associates|company|corporation|foundation|orchestra|university"
    r"|college|bank|hospital|institute|e filhos|e figli|& sons|and sons|street|road|avenue|boulevard|lane"
    r"|drive|square|park|river|lake|mountains?|island|website)"
    r"|Inc|INC|Ltd|LTD|LLC|LLP|PLC|Plc|Corp|Co|GmbH|AG|KG|KGaA|SA|S\.A|SAS|S\.A\.S|SRL|Srl|SpA|S\.p\.A|BV|NV"
    r"|AB|AS|A/S|Oy|Oyj|d\.d|d\.o\.o|Sp|Kft|Zrt|Bhd|Pty|Pvt|St|Rd|Ave|Blvd)\b"
)
ORG_AFTER_ANY_CASE = re.compile(ORG_AFTER.pattern, re.IGNORECASE)
# "I work for Barre": an employer named by a single capitalised word.
ORG_BEFORE = re.compile(r"(?i)\b(?:work(?:s|ed|ing)? (?:for|at)|employed by|join(?:ed)?|company|firm)\s+$")
# "Knight, Thomas and Guerrero": single surnames in a list are a firm's name far more often than people.
SURNAME_LIST = re.compile(r"^(?:,\s*[^\W\d_][\w'’-]*)*,?\s+(?:and|&|e|y|und|et|og|och)\s+[^\W\d_][\w'’-]*")
# Verbs after a list of surnames that make them people, not a firm.
PEOPLE_AFTER = re.compile(
    r"\s+(?:were|are|have|had|say|said|both|who|met|married|live|lived|wrote|sang)\b", re.I
)
PLACE_PREPOSITIONS = frozenset("in at from to near into via of on around across".split())
# The ones that make a lone first name a place (PLACE_PREPOSITIONS does that for surnames).
LOCATIVE_PREPOSITIONS = frozenset("in near around across throughout outside".split())
PRONOUN = re.compile(r"(?i)\b(?:he|she|him|her|his|hers|himself|herself)\b")
# PRONOUN for lowered ASCII text, ~3x faster: no (?i), and `h(?<!\w.)` is `\bh` with h first, so re skips
# in C to the next "h" or "s" instead of trying every position.
PRONOUN_LOWER = re.compile(r"(?:h(?<!\w.)(?:e|im|er|is|ers|imself|erself)|s(?<!\w.)he)\b")
EXCLAIMED = re.compile(r"^\s*[!?]")
LIST_JOINER_BEFORE = re.compile(r"(?:,|\band|&)\s*$")
COMMA_BEFORE = re.compile(r",\s*$")
# WORD for ASCII text, ~1.5x faster: in ASCII, [^\W\d_] is [A-Za-z].
WORD_ASCII = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*")
SECOND_PERSON = re.compile(r"(?i)\b(?:you|your|yours)\b")


def _has_pronoun(rest: str) -> bool:
    """PRONOUN.search(rest), by PRONOUN_LOWER when rest is ASCII (where (?i) is plain lowering)."""
    if rest.isascii():
        return PRONOUN_LOWER.search(rest.lower()) is not None
    return PRONOUN.search(rest) is not None


def _starts_sentence(text: str, start: int) -> bool:
    """Whether the word at start opens a sentence, a line or a quoted/bulleted item."""
    j = start - 1
    while j >= 0 and text[j].isspace():
        if text[j] == "\n":
            return True
        j -= 1
    return j < 0 or text[j] in SENTENCE_PUNCTUATION


class Token(NamedTuple):
    text: str
    base: str  # without a possessive 's
    start: int
    end: int
    capitalised: bool
    sentence_start: bool
    possessive: bool


LOCAL_PART_CHAR = re.compile(r"[\w.+-]")
LOCAL_PART_RUN = re.compile(r"[\w.+-]+\Z")
DOMAIN_RUN = re.compile(r"[\w.-]+")


@functools.cache
def _skip_pattern(present: tuple[bool, ...]) -> re.Pattern[str]:
    """SKIP_SPANS less the alternatives whose literal the text lacks: those can match nowhere in it, so the
    matches are the same, and the URL alternative (`\\S+://`, tried from every position) is the slow one."""
    return re.compile("|".join(p for (_, p), on in zip(SKIP_ALTERNATIVES, present, strict=True) if on))


def _mask(text: str) -> str:
    """text with URLs, e-mails and code spans blanked out (same length, so offsets still point into text).
    Each kind needs a literal ("://", "www.", "@", "`"); only the kinds whose literal occurs are looked
    for, and with "@" alone the e-mails are found from each "@" (_email_spans)."""
    if "://" not in text and "www." not in text and "@" not in text and "`" not in text:
        return text  # the usual case, without the tuple below (SKIP_ALTERNATIVES' literals)
    present = tuple(literal in text for literal, _ in SKIP_ALTERNATIVES)
    if present == (False, False, True, False):
        spans = _email_spans(text)
        if spans is not None:
            parts: list[str] = []
            previous = 0
            for start, end in spans:
                parts += (text[previous:start], " " * (end - start))
                previous = end
            parts.append(text[previous:])
            return "".join(parts)
    return _skip_pattern(present).sub(lambda m: " " * len(m.group()), text)


def _email_spans(text: str) -> list[tuple[int, int]] | None:
    """The spans of SKIP_SPANS.finditer(text) when text holds "@" but none of the other alternatives'
    literals, found from each "@": a match is the run of local-part characters before an "@" (from where
    the previous match ended at the earliest) and the run of domain characters after it. None when a run
    is longer than the window looked at (then SKIP_SPANS does it)."""
    spans: list[tuple[int, int]] = []
    end = 0
    at = text.find("@")
    while at != -1:
        if at > end:
            low = max(end, at - 128)
            run = LOCAL_PART_RUN.search(text, low, at)
            if run is not None:
                if run.start() == low > end and LOCAL_PART_CHAR.match(text, low - 1):
                    return None  # the run goes on before the window
                domain = DOMAIN_RUN.match(text, at + 1)
                if domain is not None:
                    spans.append((run.start(), domain.end()))
                    end = domain.end()
        at = text.find("@", max(at + 1, end))
    return spans


def _token(text: str, match: re.Match[str], lowercase_names: frozenset[str]) -> Token:
    start, end = match.span()
    word = match.group()
    possessive = word.endswith(("'s", "’s")) and len(word) > 3
    base = word[:-2] if possessive else word
    capitalised = (base[0].isupper() and not (len(base) > 1 and base.isupper())) or base in lowercase_names
    # Only capitalised words ever ask whether they open a sentence: skip the look-back for the rest.
    sentence_start = capitalised and _starts_sentence(text, start)
    return Token(word, base, start, end, capitalised, sentence_start, possessive)


def tokenize(text: str, *, lowercase_names: frozenset[str] = frozenset()) -> list[Token]:
    """Word tokens with the facts the rules need; words inside URLs, e-mails and code spans are left out.
    In text written all in lower case, words in lowercase_names count as capitalised."""
    return [_token(text, match, lowercase_names) for match in WORD.finditer(_mask(text))]


class _Tokens(Protocol):
    """What the rules read from the tokens: a list of them, or _LazyTokens."""

    def __len__(self) -> int: ...
    def __getitem__(self, i: int, /) -> Token: ...


class _LazyTokens:
    """The tokens of tokenize(), each built on first use. The rules score capitalised words, words a cue
    introduces and lowercase first names, and look at their neighbours; most words are none of these, and
    building a Token for every word cost more than all the rules together."""

    def __init__(self, text: str, matches: list[re.Match[str]], lowercase_names: frozenset[str]) -> None:
        self.text = text
        self.matches = matches
        self.lowercase_names = lowercase_names
        self.built: list[Token | None] = [None] * len(matches)

    def __len__(self) -> int:
        return len(self.matches)

    def __getitem__(self, i: int) -> Token:
        token = self.built[i]
        if token is None:
            token = self.built[i] = _token(self.text, self.matches[i], self.lowercase_names)
        return token


# Words any of whose presence lets NAME_INTROS[2] match (checked in the lowered text before running it).
_INTRO_WORDS = (
    "call", "known as", "named", "aka", "a.k.a.", "dear", "attn", "attention", "signed", "regards,",
    "sincerely,", "best,", "cheers,", "yours,",
)  # fmt: skip


# TITLE's alternatives ("mr", "mrs", ... "hon"), read from the pattern so that the two cannot drift apart.
TITLE_WORDS = frozenset(TITLE.pattern.split("(?:")[1].split(")")[0].split("|"))
# What the word before a name must be (lowered) for RELATION_BEFORE to end at the name: a relation ("son",
# "co-worker", "account holder"), possibly with 's, "name", "is" glued on, or "name"/"is" themselves.
RELATION_TAIL = re.compile(rf"(?:{RELATION}|holder)(?:'s|’s)?(?:name(?:is)?)?|name(?:is)?|is")
SEPARATORS = re.compile(r"['’-]")
# The cue patterns anchored at the end of the text searched (the words before a name, after masking).
TITLE_AT_END = re.compile(TITLE.pattern + r"\Z")
RELATION_AT_END = re.compile(RELATION_BEFORE.pattern + r"\Z")
SOFT_INTRO_AT_END = re.compile(SOFT_INTRO.pattern + r"\Z")
# Every character a match of TITLE, RELATION_BEFORE or SOFT_INTRO can hold (a match longer than the window
# _Cues._may_end_at looks at is long spaces or RELATION_BEFORE's lowercase words in between).
CUE_FILLER = re.compile(r"[a-zé\s.,:'’-]*")
# The last word of each SOFT_INTRO cue ("i'm" is one word, whose last part is "m").
SOFT_LAST_WORDS = frozenset(
    "hi hello hey am i'm m im is me thanks you cc said says asked told tell ask meet met invite invited "
    "contact email phone text to with starring featuring feat by".split()
)


def _intro_ends(lowered: str, *, intro_words: bool) -> frozenset[int]:
    """The end offsets of the NAME_INTROS matches in the lowered text, those of NAME_INTROS[2] only when
    intro_words (one of the words it needs may be there). [0] and [1] need "nam", [1] also "?"."""
    found: set[int] = set()
    if "nam" in lowered:
        found.update(m.end() for m in NAME_INTROS[0].finditer(lowered))
        if "name" in lowered and "?" in lowered:
            found.update(m.end() for m in NAME_INTROS[1].finditer(lowered))
    if intro_words:
        found.update(m.end() for m in NAME_INTROS[2].finditer(lowered))
    return frozenset(found)


class _RunFacts(NamedTuple):
    """What the letter runs of a plain text showed (NameFinder.find); False proves an absence."""

    title: bool  # a TITLE match may be there (TITLE_RUNS)
    relation: bool  # a RELATION_BEFORE match may end at a word (RELATION_RUNS)
    first_names: bool  # a word may be a lowercase first name
    names: bool  # all-lowercase text, and a word may be a name (NameFinder._lowercase_names)
    intro: frozenset[int]  # the intro cues' ends at words (_intro_ends)


class _Cues:
    """Start offsets of the words that follow each kind of cue, one pass over the text per cue kind. A kind
    is looked for only when a token asks about it (titles, relations: capitalised words; soft intros: words
    that look like names), and intros not at all when the words they need are absent. For titles,
    relations and soft intros the word before the asking word is checked first, and the text is scanned
    only when that word could end such a cue (most capitalised words follow none)."""

    def __init__(
        self, text: str, *, masked: str, lowered: str | None = None, facts: _RunFacts | None = None
    ) -> None:
        # the cue patterns are written in lower case
        self.lowered = lower_same_length(text) if lowered is None else lowered
        # The checks of the word before rely on the tokens covering the text before a word: not so when a
        # masked span (URL, e-mail, code) lies between the two words, and then the scan decides.
        self.text = text
        self.masked = masked
        self._title: frozenset[int] | None = None
        self._intro: frozenset[int] | None = None
        self._relation: frozenset[int] | None = None
        self._soft: frozenset[int] | None = None
        # What the letter runs showed (NameFinder.find): the cues they rule out are not looked for (the
        # sets then miss only ends inside a word, which no word asks about).
        self.may_title = self.may_relation = True
        if facts is not None:
            self.may_title, self.may_relation = facts.title, facts.relation
            self._intro = facts.intro
            if not facts.title:
                self._title = frozenset()
            if not facts.relation:
                self._relation = frozenset()

    def _ends(self, pattern: re.Pattern[str]) -> frozenset[int]:
        return frozenset(m.end() for m in pattern.finditer(self.lowered))

    @property
    def title(self) -> frozenset[int]:
        if self._title is None:
            self._title = self._ends(TITLE)
        return self._title

    @property
    def intro(self) -> frozenset[int]:
        if self._intro is None:
            lowered = self.lowered
            self._intro = _intro_ends(lowered, intro_words=any(word in lowered for word in _INTRO_WORDS))
        return self._intro

    @property
    def relation(self) -> frozenset[int]:
        if self._relation is None:
            self._relation = self._ends(RELATION_BEFORE)
        return self._relation

    def _word_before(self, tokens: _LazyTokens, i: int) -> tuple[int, int, int]:
        """The start of tokens[i] and the span of the word before it ((0, 0) for the first word); the span
        is (-1, -1) when a masked span lies between them (the text must be scanned for the cue)."""
        matches = tokens.matches
        start = matches[i].start()
        previous_start, previous_end = matches[i - 1].span() if i else (0, 0)
        if self.masked is not self.text and self.masked[previous_end:start] != self.text[previous_end:start]:
            return start, -1, -1
        return start, previous_start, previous_end

    def _may_end_at(self, pattern: re.Pattern[str], start: int) -> bool:
        """Whether a cue pattern, anchored at its end (*_AT_END), may end at start: looked for in the 200
        characters before it. False only when no match of the cue ends there (then no scan is needed): a
        match that starts before the window would fill the window with CUE_FILLER characters, and then the
        answer is True."""
        low = max(0, start - 200)
        if pattern.search(self.lowered, low, start) is not None:
            return True
        return low > 0 and CUE_FILLER.fullmatch(self.lowered, low, start - 40) is not None

    def before(self, tokens: _LazyTokens, i: int) -> tuple[bool, bool]:
        """Whether tokens[i] follows a title ("Dr. ", "mrs ") and whether it follows a relation ("my son ",
        "her colleague's name is "). A TITLE match that ends at a word is the word before it (or that
        word's last part after a hyphen or apostrophe), maybe a dot, then spaces; a RELATION_BEFORE match
        ends in the relation, "'s", "name" or "is" as the word before, then only spaces, commas or colons.
        The text is scanned for the cue only when the word before and the gap allow it."""
        if not (self.may_title or self.may_relation):
            return False, False
        start, previous_start, previous_end = self._word_before(tokens, i)
        if previous_end < 0:
            return (
                self.may_title and self._may_end_at(TITLE_AT_END, start) and start in self.title,
                self.may_relation and self._may_end_at(RELATION_AT_END, start) and start in self.relation,
            )
        if i == 0:
            return False, False
        lowered = self.lowered
        gap = lowered[previous_end:start]
        if gap.isspace():
            title_gap = relation_gap = True
        else:
            title_gap = gap[:1] == "." and gap[1:].isspace()
            relation_gap = not gap.replace(",", "").replace(":", "").strip()
        title = False
        if title_gap and self.may_title:
            word = lowered[previous_start:previous_end]
            if word in TITLE_WORDS or (
                ("-" in word or "'" in word or "’" in word) and SEPARATORS.split(word)[-1] in TITLE_WORDS
            ):
                title = start in self.title
        relation = False
        if (
            relation_gap
            and self.may_relation
            and RELATION_TAIL.fullmatch(lowered, previous_start, previous_end)
        ):
            relation = start in self.relation
        return title, relation

    def after_soft_intro(self, tokens: _LazyTokens, i: int) -> bool:
        """Whether tokens[i] follows a soft intro ("hi ", "said ", "thank you, "). SOFT_INTRO ends at a word
        only after one of SOFT_LAST_WORDS as the word before (or its last part after a hyphen or
        apostrophe), then only spaces, commas, or the "." of "feat." or ":" of "cc:"."""
        start, previous_start, previous_end = self._word_before(tokens, i)
        if previous_end < 0:
            return self._may_end_at(SOFT_INTRO_AT_END, start) and start in self.soft
        if i == 0:
            return False
        lowered = self.lowered
        if lowered[previous_end:start].replace(",", "").replace(".", "").replace(":", "").strip():
            return False
        word = lowered[previous_start:previous_end]
        if word not in SOFT_LAST_WORDS and SEPARATORS.split(word)[-1] not in SOFT_LAST_WORDS:
            return False
        return start in self.soft

    @property
    def soft(self) -> frozenset[int]:
        if self._soft is None:
            self._soft = self._ends(SOFT_INTRO)
        return self._soft


# ---- Letter runs: what NameFinder.find learns about a plain text before it applies the rules ----
# A plain text is one whose word characters (\w: letters, digits, "_") are all ASCII and whose lowering
# keeps its length (most prompts, and all ASCII ones): its words are WORD_ASCII's, and \b is a boundary
# between an ASCII word character and anything else. A letter run is a maximal run of ASCII letters,
# lowered. A plain text in UTF-8 translated by _FOLD_TO_RUNS (A-Z lowered, a-z kept, every other byte a
# space, those of other characters too) and split is the list of its letter runs.
_FOLD_TO_RUNS = bytes(c | 0x20 if 65 <= c <= 90 or 97 <= c <= 122 else 32 for c in range(256))
# A character that keeps a text from being plain (the lowering checked apart): [^\W\x00-\x7f], with the
# range first, which re tests faster.
NON_ASCII_WORD_CHARACTER = re.compile(r"[\x80-\U0010ffff](?<=\w)")


def _spellings(alternative: str) -> list[str]:
    """The strings an alternative of RELATION matches. It is letters, spaces and hyphens, each maybe made
    optional by "?", and character classes ("fianc[ée]e?"); anything else raises, so that RELATION cannot
    gain syntax that this would misread."""
    if not re.fullmatch(r"(?:(?:[a-zé -]|\[[a-zé]+\])\??)+", alternative):
        raise ValueError(f"RELATION alternative not understood: {alternative!r}")
    spellings = [""]
    for part, optional in re.findall(r"(\[[a-zé]+\]|[a-zé -])(\??)", alternative):
        choices = list(part.strip("[]")) + ([""] if optional else [])
        spellings = [spelling + choice for spelling in spellings for choice in choices]
    return spellings


# The letter runs without which RELATION_BEFORE ends at no word. Such a match ends at a word only after a
# non-letter (a word starts after one), so it takes in the whole letter run of the relation's last part
# ("son", "worker" of "co-worker", "holder" of "account holder"), which a space or hyphen starts; the
# letters the pattern lets follow it in the same run are "name" and "nameis" (('s)?\s*(name\s*(is|:)?)?).
RELATION_RUNS = frozenset(
    (re.split(r"[ -]", spelling)[-1] + suffix).encode()
    for alternative in RELATION.split("|")
    for spelling in _spellings(alternative)
    for suffix in ("", "name", "nameis")
)
# Likewise for NAME_INTROS[2]: the first letter run of each alternative, which \b starts and which must end
# where the alternative's letters do (else the match, ending in \s*, ends inside the run). "a.k.a." (whose
# runs are a, k and a) is looked for as itself in the lowered text instead, and NAME_INTROS[0] and [1]
# (which need "nam") as "nam" (find).
INTRO_RUNS = frozenset(
    run.encode()
    for run in "call calls called known named aka dear attn attention signed regards sincerely best cheers "
    "yours".split()
)
# A TITLE match's title is a whole \b-bounded word: in plain text, a letter run. So is a PRONOUN match.
TITLE_RUNS = frozenset(word.encode() for word in TITLE_WORDS)
PRONOUN_RUNS = frozenset(word.encode() for word in PRONOUN.pattern.split("(?:")[1].split(")")[0].split("|"))
# What a letter run can show (bits of NameFinder._run_kinds): a title, a relation or an intro cue, a word
# that is a first name, a word that is a name; and (NameFinder._runs_of) a capitalised word that is a name.
_TITLE, _RELATION, _INTRO, _FIRST_NAME, _NAME, _CAPITALISED_NAME = 1, 2, 4, 8, 16, 32


def _name_run(name: str) -> bytes | None:
    """One letter run of a lexicon name, its longest: a plain text holds a word equal to the name only if
    it holds that run. None for a name no word of a plain text equals (one not of WORD_ASCII's form)."""
    if name.isascii() and name.isalpha():
        return name.encode()
    if not WORD_ASCII.fullmatch(name):
        return None
    return max(re.findall(r"[a-z]+", name), key=len).encode()


# The words of WORD_ASCII that start with a capital letter (in plain text, the capitalised words and the
# all-capitals ones), found without the others: a WORD_ASCII match starts at a letter that follows neither
# a letter nor a joiner after a letter (the match before it would have taken it). The capital comes first,
# so that the look-behinds run only at capitals.
CAPITAL_WORD_ASCII = re.compile(r"[A-Z](?<![A-Za-z].)(?<![A-Za-z]['’-].)[A-Za-z]*(?:['’-][A-Za-z]+)*")
# The same, and what comes right after the word if a rule reads it: a comma, or a space and a capital.
CAPITAL_WORD_NEXT_ASCII = re.compile(f"({CAPITAL_WORD_ASCII.pattern})(?=(,| [A-Z])?)")
_NO_OFFSETS: frozenset[int] = frozenset()
# NameFinder._capital_kind's answers.
_CUE_ONLY, _SENTENCE_CUE, _UNKNOWN, _MAY_SCORE = range(4)


def _possessive_base(word: str) -> str:
    """The word without a possessive "'s", as Token.base."""
    return word[:-2] if word.endswith(("'s", "’s")) and len(word) > 3 else word


def _may_follow_soft_intro(lowered: str, start: int) -> bool:
    r"""Whether a SOFT_INTRO match may end at start in the lowered plain text, where a word starts. Such
    a match ends in its last word's letter run, one of SOFT_LAST_WORDS (the "m" of "i'm"), maybe the "."
    of "feat." or ":" of "cc:", then \s*,?\s* (str.rstrip() strips what \s matches); True also when the
    64 characters looked at cannot tell."""
    low = max(0, start - 64)
    head = lowered[low:start].rstrip().rstrip(",").rstrip().rstrip(".:")
    run = head[len(head.rstrip(string.ascii_lowercase)) :]
    if low > 0 and len(run) == len(head):
        return True  # the run or the gap may go on before the window
    return run in SOFT_LAST_WORDS


def _unknown_word_cannot_score(text: str, lowered: str, start: int, end: int) -> bool:
    """Whether a capitalised word of the plain text at start:end that the lexicon does not know scores 0,
    where no title, relation or intro ends at it and neither a comma nor a pronoun (the sentence-start
    rules) comes in the 160 characters after it (NameFinder._capitals_cannot_score checks these). It is
    name-like, not a known name, and no first or last name by itself: its other rules in _score_context
    need a person's thing after it if possessive (POSSESSED), a person's verb after it, "!" or "?" after
    it, or a soft intro before it; as the first of a pair (_score_pairs) it needs a capitalised word one
    space after it."""
    after = text[end : end + 40]
    if EXCLAIMED.match(after) or PERSON_VERB_AFTER.search(after) is not None:
        return False
    if after[:1] == " " and "A" <= after[1:2] <= "Z":
        return False
    if _possessive_base(text[start:end]) != text[start:end] and POSSESSED.search(after) is not None:
        return False
    return not _may_follow_soft_intro(lowered, start)


class _LexiconTables(NamedTuple):
    """What NameFinder derives from a lexicon (see _lexicon_tables)."""

    cue_only_words: frozenset[str]
    sentence_cue_words: frozenset[str]
    run_kinds: dict[bytes, int]


def _build_tables(lexicon: Lexicon) -> _LexiconTables:
    # For _capitals_cannot_score, by lowered ASCII word (the base, without "'s"): the words the rules
    # score only after a cue (_score_cues_only's: no first or last name, and a common word or one
    # letter), and the common words that are also names ("Will", "Can", "The"), which a cue or a
    # sentence-start rule can make one.
    cue_only: set[str] = set()
    sentence_cue: set[str] = set()
    for word in (*string.ascii_lowercase, *lexicon.entries):
        if not word.isascii() or (word.endswith(("'s", "’s")) and len(word) > 3):
            continue  # no ASCII word's lowered base
        flags = lexicon.entries.get(word, "")
        if "f" not in flags and "l" not in flags:
            if len(word) <= 1 or "c" in flags or "w" in flags:
                cue_only.add(word)
        elif "w" in flags:
            sentence_cue.add(word)
    # The letter runs that show a cue or a name may be there, and what (_TITLE ... _NAME bits): the cue
    # words, a run of each first name (a lowercase one pairs with the next word: _score_pairs) and of
    # each name longer than two letters (in all-lowercase text names are capitalised: _lowercase_names).
    run_kinds: dict[bytes, int] = {}
    for runs, kind in (
        (TITLE_RUNS, _TITLE),
        (RELATION_RUNS, _RELATION),
        (INTRO_RUNS, _INTRO),
        (map(_name_run, lexicon.first_names), _FIRST_NAME),
        ((_name_run(name) for name in lexicon.names if len(name) > 2), _NAME),
    ):
        for run in runs:
            if run is not None:
                run_kinds[run] = run_kinds.get(run, 0) | kind
    return _LexiconTables(frozenset(cue_only), frozenset(sentence_cue), run_kinds)


# By id of the lexicon, which each entry holds (so the id stays its own). A Classifier, and so a NameFinder,
# is built per policy version and per policy check; the tables take ~35 ms and depend on the lexicon only.
_TABLES: dict[int, tuple[Lexicon, _LexiconTables]] = {}


def _lexicon_tables(lexicon: Lexicon) -> _LexiconTables:
    found = _TABLES.get(id(lexicon))
    if found is None or found[0] is not lexicon:
        found = _TABLES[id(lexicon)] = (lexicon, _build_tables(lexicon))
    return found[1]


class NameFinder:
    """Finds person names; holds the lexicon so a finder is built once and reused."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self._cue_only_words, self._sentence_cue_words, self._run_kinds = _lexicon_tables(lexicon)

    def _name_like(self, token: Token) -> bool:
        """Capitalised and not an ordinary word: could be a name."""
        return token.capitalised and len(token.base) > 1 and not self.lexicon.is_word(token.base)

    def _surname_like(self, token: Token) -> bool:
        flags = self.lexicon.flags(token.base)
        return token.capitalised and ("c" not in flags) and ("w" not in flags or "l" in flags)

    def _lowercase_names(self, text: str) -> frozenset[str]:
        """In all-lowercase text ("my name is tracy sukhorukova") names are known only from the gazetteer."""
        if text.lower() != text:  # some capital letter: capitals tell names apart
            return frozenset()
        # Lowercase text's words are their own lowercase form, the lexicon's key: one set intersection.
        return frozenset(w for w in self.lexicon.names.intersection(WORD.findall(text)) if len(w) > 2)

    def _lowercase_first_names(self, text: str, words: list[str]) -> list[int]:
        """Indexes of the words that may be lowercase first names (the pair rule's "tracy sukhorukova"):
        a superset, the rule checks each; usually none, found with one set operation."""
        first_names = self.lexicon.first_names
        if first_names.isdisjoint(words):
            if "'s" not in text and "’s" not in text:
                return []
            possessive = [w[:-2] for w in words if w.endswith(("'s", "’s"))]
            if first_names.isdisjoint(possessive):
                return []
        return [
            i
            for i, w in enumerate(words)
            if w in first_names or (w.endswith(("'s", "’s")) and w[:-2] in first_names)
        ]

    def find(self, text: str) -> list[Hit]:
        """The person names in text, by the rules (_find_by_rules). In plain text (see _FOLD_TO_RUNS) the
        letter runs show first which cues and names can be there at all (_runs_of); most prompts hold
        none, and only capitalised words that cannot score (_capitals_cannot_score): then there is nothing
        to find. Otherwise what the runs showed lets the rules skip the cues and names that are not there."""
        masked = _mask(text)
        if not text.isascii() and NON_ASCII_WORD_CHARACTER.search(text) is not None:
            return self._find_by_rules(text, masked)
        lowered = text.lower()
        if len(lowered) != len(text):  # the offsets into lowered must be the text's
            return self._find_by_rules(text, masked)
        runs, kinds = self._runs_of(text, lowered, masked)
        # NAME_INTROS[2] needs one of _INTRO_WORDS (a run of INTRO_RUNS, or "a.k.a."), as a whole.
        intro_words = bool(kinds & _INTRO or "a.k.a." in lowered) and any(w in lowered for w in _INTRO_WORDS)
        intro = _NO_OFFSETS
        if intro_words or "nam" in lowered:
            intro = _intro_ends(lowered, intro_words=intro_words)
        if not (kinds & ~_INTRO or intro) and self._capitals_cannot_score(text, lowered, masked, runs):
            return []
        facts = _RunFacts(
            title=bool(kinds & _TITLE),
            relation=bool(kinds & _RELATION),
            first_names=bool(kinds & _FIRST_NAME),
            names=bool(kinds & _NAME),
            intro=intro,
        )
        return self._find_by_rules(text, masked, lowered=lowered, facts=facts)

    def _runs_of(self, text: str, lowered: str, masked: str) -> tuple[list[bytes], int]:
        """The letter runs of the plain text, and what those in _run_kinds show (the bits together).
        Only in all-lowercase text are the words looked up as names (_NAME); elsewhere a first name pairs
        with the next word only if written in lower case (_score_pairs), so it counts only where the
        masked text, whose words those are, holds its run in lower case.
        The cue patterns read the whole text, the names the words of the masked text. A masked span ends
        before a non-letter (white space, or what ends an e-mail or a code span) and starts after one
        (else it would have started sooner), so a word's runs are runs of the text; but where a "www."
        address comes right after a letter ("tracywww.x.org"). That word starts no pair (no space comes
        after it), the only rule that asks for lowercase first names, and all-lowercase text's words are
        looked up as names in the text itself (_lowercase_names)."""
        encoded = text.encode() if text.isascii() else text.encode("utf-8", "surrogatepass")
        runs = encoded.translate(_FOLD_TO_RUNS).split()
        run_kinds = self._run_kinds
        lowercase = lowered == text
        kinds = 0
        for run in run_kinds.keys() & runs:
            kind = run_kinds[run]
            if not lowercase:
                if kind & _NAME and run.decode().capitalize() in masked:
                    # Most likely a capitalised name ("Beaufort"): then _capitals_cannot_score would say
                    # no, and find skips it (only for speed: the rules decide either way).
                    kind |= _CAPITALISED_NAME
                kind &= ~_NAME
                if kind & _FIRST_NAME and run.decode() not in masked:
                    kind &= ~_FIRST_NAME
            kinds |= kind
        return runs, kinds

    def _capitals_cannot_score(self, text: str, lowered: str, masked: str, runs: list[bytes]) -> bool:
        """Whether every capitalised word of the plain text scores 0, in a text where no cue (title,
        relation, intro) ends at a word and no word is a lowercase first name or, in all-lowercase text, a
        name (find checks these first: _runs_of). The rules score only capitalised words, introduced words
        and lowercase first names (_find_by_rules), and without those cues and names:
        - a capitalised word of the _cue_only_words scores 0 (_score_cues_only: it needs a cue);
        - so does one of the _sentence_cue_words, a common word that is also a name: not name-like, and
          no first or last name by itself (_score_alone), its only rules without a cue are the
          sentence-start ones of _score_context, which need a comma right after it or a pronoun in the
          160 characters after it (in a text no longer than that, a pronoun anywhere after it: as a
          whole word of the text, one of its letter runs);
        - so does a word the lexicon does not know ("I'm", "GitHub") unless one of its rules can apply
          (_unknown_word_cannot_score);
        - a pair of capitalised words scores only if the first is a first name, or name-like (unknown),
          or has "f" while the second is a last name and no common word: of the three kinds only an
          unknown word can be the first, and _unknown_word_cannot_score looks at the word after it;
        - an all-capitals word is not capitalised, and the rules never score it.
        Any other capitalised word (a name) leaves the answer to the rules."""
        cue_only = self._cue_only_words
        # Short text without masked spans (the usual prompt): findall, without positions, unless an unknown
        # word needs them.
        if len(text) <= 160 and masked is text:
            sentence_cue_words = unknown_words = False
            for word, after in CAPITAL_WORD_NEXT_ASCII.findall(text):
                key = word.lower()
                if key in cue_only:  # the sets hold no word ending in "'s": the word is its base
                    continue
                kind = _SENTENCE_CUE if key in self._sentence_cue_words else self._capital_kind(word)
                if kind == _MAY_SCORE or (kind != _CUE_ONLY and after == ","):
                    return False
                if kind == _UNKNOWN and after:
                    return False  # a pair (_unknown_word_cannot_score would say so, knowing where)
                sentence_cue_words = sentence_cue_words or kind == _SENTENCE_CUE
                unknown_words = unknown_words or kind == _UNKNOWN
            if not (sentence_cue_words or unknown_words):
                return True
            if not PRONOUN_RUNS.isdisjoint(runs):
                # A pronoun after a common word that is also a name (in a text this short, anywhere
                # after it): the sentence-start rule may apply. The unknown words' too: for speed, the
                # rules decide.
                return False
            if not unknown_words:
                return True
        for match in CAPITAL_WORD_ASCII.finditer(masked):
            word = match.group()
            if word.lower() in cue_only:
                continue
            kind = self._capital_kind(word)
            if kind == _MAY_SCORE:
                return False
            if kind != _CUE_ONLY:
                end = match.end()
                # _has_pronoun(text[end : end + 160]): in plain text (?i) is lowering, and no pronoun
                # starts at end, right after a word (where the slice would have started afresh).
                if text[end : end + 1] == "," or PRONOUN_LOWER.search(lowered, end, end + 160) is not None:
                    return False
                if kind == _UNKNOWN and not _unknown_word_cannot_score(text, lowered, match.start(), end):
                    return False
        return True

    def _capital_kind(self, word: str) -> int:
        """For _capitals_cannot_score, the kind of a word that starts with a capital: _CUE_ONLY (one of
        the _cue_only_words, or all capitals: not capitalised), _SENTENCE_CUE (one of the
        _sentence_cue_words), _UNKNOWN (not in the lexicon, and longer than one letter: name-like) or
        _MAY_SCORE (a name)."""
        base = _possessive_base(word)
        key = base.lower()
        if key in self._cue_only_words:
            return _CUE_ONLY
        if key in self._sentence_cue_words:
            return _SENTENCE_CUE
        if len(base) > 1 and base.isupper():
            return _CUE_ONLY  # all capitals: not capitalised, never scored
        if key not in self.lexicon.entries:
            return _UNKNOWN  # longer than one letter: every one letter is a _cue_only_words unless a name
        return _MAY_SCORE

    def _find_by_rules(
        self, text: str, masked: str, *, lowered: str | None = None, facts: _RunFacts | None = None
    ) -> list[Hit]:
        """The rules over every word that can score. masked is _mask(text); lowered (text.lower()) and
        facts (what the letter runs of plain text showed, see find) only save work: the hits are the same
        without them."""
        matches = list((WORD_ASCII if masked.isascii() else WORD).finditer(masked))
        if not matches:
            return []
        words: list[str] = list(map(re.Match.group, matches))
        lowercase_names = self._lowercase_names(text) if facts is None or facts.names else frozenset()
        tokens = _LazyTokens(text, matches, lowercase_names)
        cues = _Cues(text, masked=masked, lowered=lowered, facts=facts)
        # Only capitalised words, words a cue introduces and lowercase first names can score; the rules
        # give every other word 0. Capitalised words start with an upper-case letter (or, in lowercase
        # text, are known names): found by a look at first letters, then checked in full.
        maybe_capitalised = list(compress(count(), map(str.isupper, map(itemgetter(0), words))))
        if lowercase_names:
            maybe_capitalised = sorted(
                set(maybe_capitalised).union(
                    i
                    for i, w in enumerate(words)
                    if w in lowercase_names or (w.endswith(("'s", "’s")) and w[:-2] in lowercase_names)
                )
            )
        capitalised = [i for i in maybe_capitalised if tokens[i].capitalised]  # ascending
        scored = capitalised
        if cues.intro:
            starts = list(map(re.Match.start, matches))
            introduced = set()
            for end in cues.intro:
                i = bisect_left(starts, end)
                if i < len(starts) and starts[i] == end:
                    introduced.add(i)
            scored = sorted(introduced.union(capitalised))
        cued: defaultdict[int, float] = defaultdict(float)
        scores: defaultdict[int, float] = defaultdict(float)
        for i in scored:
            cued[i] = self._score_cues_only(tokens, i, cues)
            if cued[i] < 0:  # the full rules
                cued[i] = self._score_context(text, tokens, i, cues)
                scores[i] = max(self._score_alone(text, tokens, i), cued[i])
            else:
                scores[i] = cued[i]
        pairs = [i for i, j in zip(capitalised, capitalised[1:], strict=False) if j == i + 1]
        lowercase_first_names = (
            self._lowercase_first_names(text, words) if facts is None or facts.first_names else []
        )
        if lowercase_first_names:
            pairs = sorted(set(pairs).union(i for i in lowercase_first_names if i + 1 < len(tokens)))
        if pairs:
            self._score_pairs(text, tokens, scores, pairs)
        found = [i for i in capitalised if scores[i] > 0]
        if found:
            self._drop_organisations(text, tokens, scores, cued, found)
        return [
            Hit("person", "personal", round(scores[i], 2), tokens[i].start, tokens[i].end)
            for i in sorted(scores)
            if scores[i] > 0
        ]

    def _score_cues_only(self, tokens: _LazyTokens, i: int, cues: _Cues) -> float:
        """The score of a capitalised word that is no name by itself ("You", "Thanks", "I": an ordinary
        word or one letter, not listed as a first or last name): only a cue before it can make it one, as
        in _score_context, and _score_alone gives it 0. -1 for every other word (the full rules apply).
        Most capitalised words are such words; this skips the rules' other look-ups for them."""
        token = tokens[i]
        if not token.capitalised:
            return -1.0
        flags = self.lexicon.flags(token.base)
        if "f" in flags or "l" in flags or not (len(token.base) <= 1 or "c" in flags or "w" in flags):
            return -1.0
        after_title, after_relation = cues.before(tokens, i)
        score = 0.9 if after_title else 0.0
        if token.start in cues.intro:
            score = max(score, 0.75 if "c" in flags or "w" in flags else 0.9)
        if after_relation:
            score = max(score, 0.75)
        return score

    def _score_alone(self, text: str, tokens: _Tokens, i: int) -> float:
        """A capitalised first name that is not also a word counts by itself; a surname counts only
        mid-sentence, alone (not in a run of capitalised words) and not after a place preposition."""
        token = tokens[i]
        if not token.capitalised or "-" in token.base:
            return 0.0
        first_name = self.lexicon.is_first_name(token.base)
        if not first_name and not self.lexicon.is_last_name(token.base):
            return 0.0
        previous = tokens[i - 1] if i > 0 else None
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        isolated = not (previous and previous.capitalised) and not (following and following.capitalised)
        if first_name:
            # "the weather in Paris", "a hotel near Austin": right after these words a lone first name,
            # written capitalised, is a place far more often than a person ("to", "from" and "at" are
            # left out: "send it to Charlotte"; in all-lowercase text the rule cannot tell).
            if (
                previous is not None
                and previous.text.lower() in LOCATIVE_PREPOSITIONS
                and token.base[0].isupper()
                and not (following and following.capitalised)
                and not token.sentence_start
                and not token.possessive
                and text[previous.end : token.start].isspace()
            ):
                return 0.4
            return 0.7
        after_place_word = previous is not None and previous.text.lower() in PLACE_PREPOSITIONS
        if isolated and not token.sentence_start and not after_place_word:
            return 0.55
        return 0.4

    def _score_context(self, text: str, tokens: _LazyTokens, i: int, cues: _Cues) -> float:
        token = tokens[i]
        introduced = token.start in cues.intro
        if not token.capitalised and not introduced:
            return 0.0
        after = text[token.end : token.end + 40]
        lex = self.lexicon
        flags = lex.flags(token.base)
        known_name = bool(flags) and "c" not in flags and ("w" not in flags or "f" in flags or "l" in flags)
        score = 0.0
        after_title, after_relation = cues.before(tokens, i) if token.capitalised else (False, False)
        if after_title:
            score = max(score, 0.9)
        if introduced and not lex.is_word(token.base):
            if token.capitalised or known_name or lex.is_unknown(token.base):
                score = max(score, 0.9 if token.capitalised else 0.75)
        elif introduced and token.capitalised:
            score = max(score, 0.75)  # "call me Will": the cue outweighs the word
        name_like = self._name_like(token)
        if after_relation:
            # "my kid Mali": the relation word outweighs the name doubling as a word
            score = max(score, 0.85 if name_like else 0.75)
        if not name_like:
            if token.sentence_start and token.capitalised and ("f" in flags or "l" in flags):
                rest = text[token.end : token.end + 160]
                following = tokens[i + 1] if i + 1 < len(tokens) else None
                if following and not following.capitalised and _has_pronoun(rest):
                    score = max(score, 0.6)  # "Amber is reliable. You can depend on him."
                if after.startswith(",") and SECOND_PERSON.search(rest.split("?")[0].split(".")[0]):
                    score = max(score, 0.6)  # "Nick, can I speak to your boss?"
            return score
        if token.possessive and POSSESSED.search(after):
            score = max(score, 0.8)
        if PERSON_VERB_AFTER.search(after):
            score = max(score, 0.75)
        if (known_name or not token.sentence_start) and cues.after_soft_intro(tokens, i):
            score = max(score, 0.7 if known_name else 0.55)
        if token.sentence_start:
            sentence_rest = text[token.end : token.end + 160]
            if after.startswith(",") and SECOND_PERSON.search(sentence_rest.split("?")[0].split(".")[0]):
                score = max(score, 0.7)  # "Jakobine, can I speak to your boss?"
            next_token = tokens[i + 1] if i + 1 < len(tokens) else None
            if next_token and not next_token.capitalised and _has_pronoun(sentence_rest):
                score = max(score, 0.65)  # "X is reliable. You can depend on him."
        if EXCLAIMED.match(after) and COMMA_BEFORE.search(text[max(0, token.start - 4) : token.start]):
            score = max(score, 0.65)  # "Don't go to town, X!"
        if token.possessive and known_name:
            score = max(score, 0.75)
        return score

    def _score_pairs(
        self, text: str, tokens: _Tokens, scores: dict[int, float], candidates: Iterable[int]
    ) -> None:
        """First name + surname-like word; unknown + known surname; a name next to a found name.
        candidates: ascending indexes of the first words of the pairs that may score (both capitalised, or
        a lowercase first name); a later pair reads the scores an earlier one raised."""
        lex = self.lexicon
        for i in candidates:
            first, second = tokens[i], tokens[i + 1]
            if text[first.end : second.start] != " ":
                continue
            pair = 0.0
            if first.capitalised and second.capitalised:
                if lex.is_first_name(first.base) and self._surname_like(second):
                    pair = 0.95
                elif "f" in lex.flags(first.base) and lex.is_last_name(second.base):
                    pair = 0.85  # "Lone Jensen", "Harsh Dutta": a known surname settles the first word
                elif self._name_like(first) and lex.is_last_name(second.base):
                    pair = 0.8
                elif (
                    self._name_like(first)
                    and self._name_like(second)
                    and max(scores[i], scores[i + 1]) >= 0.5
                ):
                    pair = 0.85
                elif self._name_like(first) and self._name_like(second):
                    pair = 0.45
            elif first.text.islower() and second.text.islower():
                if lex.is_first_name(first.base) and (
                    lex.is_unknown(second.base) or lex.is_last_name(second.base)
                ):
                    pair = 0.7  # "tracy sukhorukova"
            if pair:
                scores[i] = max(scores[i], pair)
                scores[i + 1] = max(scores[i + 1], pair)

    def _drop_organisations(
        self,
        text: str,
        tokens: _Tokens,
        scores: dict[int, float],
        cued: dict[int, float],
        found: list[int],
    ) -> None:
        """Zero the scores of capitalised runs that end in a company or place word, or that are lists of
        single surnames ("Hubbard, Fox and Gillespie"), unless a strong cue ("my name is") named them.
        found: ascending indexes of the capitalised tokens that scored (a run is consecutive ones)."""
        run: list[int] = []
        # All-lowercase text ("tasso, casini e zola spa") needs the company words matched in any case.
        org_after = ORG_AFTER if text.lower() != text else ORG_AFTER_ANY_CASE
        for i in found:
            token = tokens[i]
            if token.capitalised and scores[i] > 0:
                run.append(i)
                next_token = tokens[i + 1] if i + 1 < len(tokens) else None
                joined = next_token is not None and text[token.end : next_token.start] == " "
                if joined and next_token is not None and next_token.capitalised and scores[i + 1] > 0:
                    continue
                after = text[token.end : token.end + 40]
                before = text[max(0, tokens[run[0]].start - 24) : tokens[run[0]].start]
                employer = len(run) == 1 and ORG_BEFORE.search(before) is not None
                is_org = org_after.match(after) is not None or employer
                listed = SURNAME_LIST.match(after) if len(run) == 1 else None
                single = listed is not None and PEOPLE_AFTER.match(after, listed.end()) is None
                people = PEOPLE_AFTER.match(after) is not None  # "Landry and Ryan were engineers"
                in_list = len(run) == 1 and LIST_JOINER_BEFORE.search(before) is not None
                firm_list = in_list and not people and self._list_of_single_words(text, tokens, run[0])
                if is_org or single or firm_list:
                    for j in run:
                        if cued[j] < 0.85:
                            scores[j] = 0.0
                run = []
            else:
                run = []

    @staticmethod
    def _list_of_single_words(text: str, tokens: _Tokens, i: int) -> bool:
        """Whether tokens[i] ends a list of single capitalised words: "Knight, Thomas and Guerrero"."""
        if i < 2:
            return False
        previous = tokens[i - 1]
        if previous.text.lower() not in ("and", "e", "y", "und", "et", "og", "och") and previous.capitalised:
            return False
        head = (
            tokens[i - 2]
            if previous.text.lower() in ("and", "e", "y", "und", "et", "og", "och")
            else previous
        )
        return head.capitalised and (
            i < 3 or not tokens[i - 3].capitalised or "," in text[tokens[i - 3].end : head.start]
        )
