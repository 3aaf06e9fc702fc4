"""Postal addresses: house number + street + street type (English and continental forms), PO boxes,
postcodes introduced as such, "City, ST 12345", and numbers announced as an address."""

from __future__ import annotations

import re

from gateway.classify.hits import Hit
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
NUMBER = r"\d{1,6}[a-z]?(?:[-/]\d{1,4}[a-z]?)?"
WORDS = r"(?:[^\W\d_][\w'’.-]*\s+){0,4}?"

HOUSE_NUMBER_STREET = re.compile(
    rf"(?i)\b(?P<num>{NUMBER}),?\s+(?P<words>{WORDS}[^\W\d_][\w'’.-]*)\s+(?:{STREET_TYPES})\b\.?"
)
NUMBER_PREFIX_STREET = re.compile(rf"(?i)\b{NUMBER},?\s+(?:{STREET_PREFIXES})\.?\s+[^\W\d_][\w'’-]+")
PREFIX_STREET_NUMBER = re.compile(
    rf"(?i)\b(?:{STREET_PREFIXES})\.?\s+(?:[^\W\d_][\w'’.-]*\s+){{1,4}}\d{{1,5}}\b"
)
COMPOUND_STREET_NUMBER = re.compile(rf"(?i)\b[^\W\d_][\w'’-]*?(?:{COMPOUND_STREET})\.?\s+\d{{1,5}}[a-z]?\b")
# Continental "Street 38, 1062 Town": a house number right after the street, then a postcode and a town.
STREET_NUMBER_POSTCODE_TOWN = re.compile(
    r"\b(?P<words>[^\W\d_][\w'’.-]*(?:[ ][^\W\d_][\w'’.-]*){0,3})[ ]\d{1,5}[a-z]?(?:-\d{1,4})?\.?,?"
    r"[ ]*\n?[ ]*(?:[A-Z]{1,2}-)?\d{3,5}(?:[ ]\d{2})?[ ]+[^\W\d_]{2,}"
)
# Continental order with a leading number too ("87 Jakobi 69", "11 Školní 939"): checked word by word.
NUMBER_WORDS_NUMBER = re.compile(r"\b\d{1,5},?\s+(?P<words>(?:[^\W\d_][\w'’.-]*\s+){1,3})\d{1,5}[a-z]?\b\.?")
PO_BOX = re.compile(r"(?i)\b(?:p\.?\s?o\.?\s?box|post office box|postfach|apartado|bp)\s*\d{1,6}\b")
POSTCODE_CUE = re.compile(
    r"(?i)\b(?:zip|zip ?code|postcode|postal code|post code|plz|cep|pin ?code)\b\s*(?:is|:|#|-)?\s*"
    r"[A-Z0-9](?=[A-Z0-9 -]*\d)[A-Z0-9 -]{2,9}\b"
)
CITY_STATE_ZIP = re.compile(
    r"\b[^\W\d_][\w'’.-]*(?:\s[^\W\d_][\w'’.-]*){0,2},\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?\b"
)
UK_POSTCODE = re.compile(r"\b(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?) ?\d[ABD-HJLNP-UW-Z]{2}\b")
UNIT = re.compile(
    r"(?i)\b(?:apt|apartment|suite|ste|unit|flat|floor|fl|room|rm|bldg|building)\.?\s*#?\s*\d{1,5}\b"
)
ADDRESS_CUE = re.compile(
    r"(?i)\b(?:address(?:es)?|addr|ship(?:ping)? to|deliver(?:y|ed)? to|sent to|send (?:it |this |them )?to"
    r"|return to|mail to|live at|lives at|living at|lived in|live in|located at|reside at|moved to|taxi to"
    r"|meet me at|is at|it'?s in|it is in)\b[^\n\d]{0,30}?(?P<num>\d{1,5})\s*,?\s+(?=[^\W\d_])"
)
MONTHS = frozenset(
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july august "
    "september october november december".split()
)


class AddressFinder:
    """Finds postal addresses; the lexicon tells street names from ordinary words ("2 cats and 3 dogs")."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon

    def _has_unusual_word(self, words: str, *, allow_capitalised_words: bool) -> bool:
        """True when some word is not an ordinary lowercase English word (a street name)."""
        tokens = re.findall(r"[^\W\d_][\w'’-]*", words)
        if not tokens or any(t.lower() in MONTHS for t in tokens):
            return False
        for token in tokens:
            if not self.lexicon.is_word(token) or (allow_capitalised_words and token[0].isupper()):
                return True
        return False

    def find(self, text: str) -> list[Hit]:
        hits: list[Hit] = []

        def add(match: re.Match[str], confidence: float) -> None:
            hits.append(Hit("address", "personal", confidence, match.start(), match.end()))

        for match in HOUSE_NUMBER_STREET.finditer(text):
            if self._has_unusual_word(match.group("words"), allow_capitalised_words=True):
                add(match, 0.9)
        for pattern in (NUMBER_PREFIX_STREET, PREFIX_STREET_NUMBER, COMPOUND_STREET_NUMBER, PO_BOX):
            for match in pattern.finditer(text):
                add(match, 0.85)
        for match in STREET_NUMBER_POSTCODE_TOWN.finditer(text):
            if self._has_unusual_word(match.group("words"), allow_capitalised_words=True):
                add(match, 0.85)
        for match in NUMBER_WORDS_NUMBER.finditer(text):
            if self._has_unusual_word(match.group("words"), allow_capitalised_words=False):
                add(match, 0.75)
        for match in POSTCODE_CUE.finditer(text):
            add(match, 0.8)
        for match in CITY_STATE_ZIP.finditer(text):
            add(match, 0.8)
        for match in UK_POSTCODE.finditer(text):
            add(match, 0.7)
        for match in ADDRESS_CUE.finditer(text):
            add(match, 0.75)
        for match in UNIT.finditer(text):
            add(match, 0.45)  # "room 5" alone is not an address; it counts beside a street
        return hits
