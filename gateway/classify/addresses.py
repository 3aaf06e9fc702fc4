"""Postal addresses: house number + street + street type (English and continental forms), PO boxes,
postcodes introduced as such, "City, ST 12345", and numbers announced as an address."""

from __future__ import annotations

import re
from collections.abc import Callable

from gateway.classify.hits import Hit, has_digit, lower_same_length
from gateway.classify.lexicon import Lexicon

STREET_TYPES = (
    r"street|st|road|rd|avenue|ave|av|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|way|terrace|ter"
    r"|close|crescent|cres|highway|hwy|parkway|pkwy|square|sq|trail|trl|circle|cir|row|walk|alley|mews|grove"
    r"|gardens|gdns|hill|park|plaza|pike|path|loop|run|point|pt|quay|wharf|esplanade|parade|pde|rise|vale|view"
    r"|green|heights|hts|crossing|xing|expressway|expy|freeway|fwy|turnpike|tpke"
)
STREET_PREFIXES = (
    r"rue|via|viale|vicolo|calle|avenida|avda|rua|carrer|travessa|estrada|plaza|praça|plac|ulica|ul|aleja"
    r"|al|strada|chemin|boulevard|bd|allée|piazza|piazzale|paseo|camino|corso|largo|rambla|ronda|cesta|utca"
    r"|náměstí|nam|platz|straße|strasse|πλατεία|οδός|улица|ул|проспект|пр"
)
COMPOUND_STREET = (
    r"straat|strasse|straße|str|gasse|weg|laan|plein|gracht|allee|platz|ring|damm|ufer|vej|gade|gatan|vägen"
    r"|katu|tie|veien|vegen|gata|utca|ulica|stieg|steig|pfad|markt|kade|singel|dreef|hof|torget|tori|tee|iela"
    r"|stræde|plads|stigen|bakken|tér|körút|ulice|třída|cesta|trg|sokak|caddesi|yolu"
)
# A number that starts a word (\b\d{1,6}...), written digit first: `\d(?<!\w\d)` is `\b\d`, and a pattern
# that starts with a character class lets re skip in C to the next digit instead of trying every position.
NUMBER = r"\d(?<!\w\d)\d{0,5}[a-z]?(?:[-/]\d{1,4}[a-z]?)?"
WORDS = r"(?:[^\W\d_][\w'’.-]*\s+){0,4}?"

HOUSE_NUMBER_STREET = re.compile(
    rf"(?P<num>{NUMBER}),?\s+(?P<words>{WORDS}[^\W\d_][\w'’.-]*)\s+(?:{STREET_TYPES})\b\.?"
)
NUMBER_PREFIX_STREET = re.compile(rf"{NUMBER},?\s+(?:{STREET_PREFIXES})\.?\s+[^\W\d_][\w'’-]+")
# The patterns above are written in lower case and run on lowered text.
# Streets written before the house number are checked from each number backwards, word by word: scanning
# the whole text for street words first costs ten times more.
HOUSE_NUMBER_AFTER_STREET = re.compile(r"\d(?<=\s\d)\d{0,4}[a-zA-Z]?(?:-\d{1,4})?\b")  # (?<=\s)\d{1,5}...
WORD_BEFORE_NUMBER = re.compile(r"[^\W\d_][\w'’.-]*")
STREET_NAME_WORD = re.compile(r"[^\W\d_][\w'’-]*")
PREFIX_WORDS = frozenset(STREET_PREFIXES.split("|"))
COMPOUND_SUFFIXES = tuple(COMPOUND_STREET.split("|"))
STREET_WORDS_BEFORE = re.compile(r"(?P<words>[^\W\d_][\w'’.-]*(?:[ ][^\W\d_][\w'’.-]*){0,3})[ ]$")
# Continental "Street 38, 1062 Town": a house number right after the street, then a postcode and a town.
POSTCODE_TOWN_AFTER = re.compile(
    r"\.?,?[ ]*\n?[ ]*(?:[A-Z]{1,2}-)?(?:\d{3,5}(?:[ ]\d{2})?|\d{2}-\d{3})[ ]+[^\W\d_]{2,}"
)
# Continental order with a leading number too ("87 Jakobi 69", "11 Školní 939"): checked word by word.
NUMBER_WORDS_NUMBER = re.compile(
    r"\d(?<!\w\d)\d{0,4},?\s+(?P<words>(?:[^\W\d_][\w'’.-]*\s+){1,3})\d{1,5}[a-z]?\b\.?"  # \b\d{1,5}...
)
PO_BOX = re.compile(r"\b(?:p\.?\s?o\.?\s?box|post office box|postfach|apartado|bp)\s*\d{1,6}\b")
POSTCODE_CUE = re.compile(
    r"\b(?:zip|zip ?code|postcode|postal code|post code|plz|cep|pin ?code)\b\s*(?:is|:|#|-)?\s*"
    r"[a-z0-9](?=[a-z0-9 -]*\d)[a-z0-9 -]{2,9}\b"
)
# "Town, ST 12345" (the letter before the comma is checked in code: a leading literal scans faster).
CITY_STATE_ZIP = re.compile(r",\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?\b")
UK_POSTCODE = re.compile(r"\b(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?) ?\d[ABD-HJLNP-UW-Z]{2}\b")
UK_POSTCODE_GATE = re.compile(r"\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}")  # in every UK_POSTCODE match
# \b(?:apt|apartment|suite|ste|unit|flat|floor|fl|room|rm|bldg|building)\.?\s*#?\s*\d{1,5}\b, with the words
# grouped by first letter (their order kept) and `x(?<!\w.)` for `\bx`: re then skips in C to the letters
# that can start a match (~2x faster), and the matches are the same.
UNIT = re.compile(
    r"(?:a(?<!\w.)(?:pt|partment)|s(?<!\w.)(?:uite|te)|u(?<!\w.)nit|f(?<!\w.)(?:lat|loor|l)|r(?<!\w.)(?:oom|m)"
    r"|b(?<!\w.)(?:ldg|uilding))\.?\s*#?\s*\d{1,5}\b"
)
ADDRESS_CUE = re.compile(
    r"\b(?:address(?:es)?|addr|ship(?:ping)? to|deliver(?:y|ed)? to|sent to|send (?:it |this |them )?to"
    r"|return to|mail to|live at|lives at|living at|lived in|live in|located at|reside at|moved to|taxi to"
    r"|meet me at|is at|it'?s in|it is in)\b[^\n\d]{0,30}?(?P<num>\d{1,5})\s*,?\s+(?=[^\W\d_])"
)
# Words one of which each cue pattern needs (checked in the lowered text before running the pattern).
PO_BOX_WORDS = ("box", "postfach", "apartado", "bp")
POSTCODE_WORDS = ("zip", "postcode", "postal code", "post code", "plz", "cep", "pin")
UNIT_WORDS = ("apt", "apartment", "suite", "ste", "unit", "fl", "room", "rm", "bldg", "building")
ADDRESS_CUE_WORDS = (
    "addr", "ship", "deliver", "sent to", "send", "return to", "mail to", "live", "living", "located at",
    "reside at", "moved to", "taxi to", "meet me at", "is at", "s in",
)  # fmt: skip
MONTHS = frozenset(
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july august "
    "september october november december".split()
)


def street_start_before(lowered: str, end: int, *, is_word: Callable[[str], bool]) -> int | None:
    """Where a street written before its house number starts ("…nassaustraat 123", "rue de la paix 4"),
    given the offset of the number; None when the words before it are no street."""
    words = [m.span() for m in WORD_BEFORE_NUMBER.finditer(lowered, max(0, end - 60), end)]
    if not words or not lowered[words[-1][1] : end].isspace():
        return None
    last = lowered[words[-1][0] : words[-1][1]].rstrip(".")
    compound = last.endswith(COMPOUND_SUFFIXES) and any(
        last.endswith(suffix) and len(last) > len(suffix) + 1 for suffix in COMPOUND_SUFFIXES
    )
    if compound and not is_word(last):  # "during 5 years" and "the committee 3 times" are no streets
        return words[-1][0]
    for k in range(len(words) - 2, max(-1, len(words) - 6), -1):
        if not lowered[words[k][1] : words[k + 1][0]].isspace():
            break
        if lowered[words[k][0] : words[k][1]].rstrip(".") in PREFIX_WORDS:
            return words[k][0]
    return None


class AddressFinder:
    """Finds postal addresses; the lexicon tells street names from ordinary words ("2 cats and 3 dogs")."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon

    def _has_unusual_word(self, words: str, *, allow_capitalised_words: bool) -> bool:
        """True when some word is not an ordinary lowercase English word (a street name)."""
        tokens = STREET_NAME_WORD.findall(words)
        if not tokens or any(t.lower() in MONTHS for t in tokens):
            return False
        for token in tokens:
            if not self.lexicon.is_word(token) or (allow_capitalised_words and token[0].isupper()):
                return True
        return False

    def find(self, text: str) -> list[Hit]:
        if not has_digit(text):
            return []  # every pattern below needs a digit (a house number, postcode, box or unit number)
        hits: list[Hit] = []
        lowered = lower_same_length(text)

        def add(match: re.Match[str], confidence: float) -> None:
            hits.append(Hit("address", "personal", confidence, match.start(), match.end()))

        def original(match: re.Match[str], group: str) -> str:
            return text[match.start(group) : match.end(group)]

        for match in HOUSE_NUMBER_STREET.finditer(lowered):
            if self._has_unusual_word(original(match, "words"), allow_capitalised_words=True):
                add(match, 0.9)
        for pattern, confidence, needs in (
            (NUMBER_PREFIX_STREET, 0.85, ()),
            (PO_BOX, 0.85, PO_BOX_WORDS),
            (POSTCODE_CUE, 0.8, POSTCODE_WORDS),
            (ADDRESS_CUE, 0.75, ADDRESS_CUE_WORDS),
        ):
            if needs and not any(word in lowered for word in needs):
                continue
            for match in pattern.finditer(lowered):
                add(match, confidence)
        for number in HOUSE_NUMBER_AFTER_STREET.finditer(text):
            start = max(0, number.start() - 60)
            street = street_start_before(lowered, number.start(), is_word=self.lexicon.is_word)
            if street is None and POSTCODE_TOWN_AFTER.match(text, number.end(), number.end() + 40):
                words = STREET_WORDS_BEFORE.search(text, start, number.start())
                if words and self._has_unusual_word(words.group("words"), allow_capitalised_words=True):
                    hits.append(Hit("address", "personal", 0.85, words.start(), number.end()))
                continue
            if street is not None:
                hits.append(Hit("address", "personal", 0.85, street, number.end()))
        for match in NUMBER_WORDS_NUMBER.finditer(text):
            if self._has_unusual_word(match.group("words"), allow_capitalised_words=False):
                add(match, 0.75)
        for match in CITY_STATE_ZIP.finditer(text):
            if match.start() > 0 and text[match.start() - 1].isalpha():
                add(match, 0.8)
        if UK_POSTCODE_GATE.search(text):
            for match in UK_POSTCODE.finditer(text):
                add(match, 0.7)
        if any(word in lowered for word in UNIT_WORDS):
            for match in UNIT.finditer(lowered):
                add(match, 0.45)  # "room 5" alone is not an address; it counts beside a street
        return hits
