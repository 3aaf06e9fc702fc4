"""Structured personal identifiers found by pattern and checked by checksum where one exists:
e-mail, phone, payment card (Luhn), IBAN (mod 97), national ids, IP addresses, dates of birth."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from gateway.classify.hits import Hit, has_digit, lower_same_length

# ISO 13616 IBAN lengths by country (the common ones; others fall back to the mod-97 check alone).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24,
    "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21,
    "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27,
    "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24,
    "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b")
# (?<![\d-])\d(?:[ -]?\d){11,18}(?![\d-]), written digit first so that re skips in C to each digit.
CARD = re.compile(r"\d(?<![\d-]\d)(?:[ -]?\d){11,18}(?![\d-])")
CARD_CUE = re.compile(r"(?i)\b(?:card|cc|credit|debit|visa|mastercard|amex|maestro|pan)\b")
IBAN_CUE = re.compile(r"(?i)\biban\b")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b", re.IGNORECASE)
US_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)(\d{3})([- ])(?!00)\d{2}\2(?!0000)\d{4}(?![\d-])")
UK_NINO = re.compile(
    r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"
)
# An id number introduced by what it is: "SSN 123456789", "driver's license number is 481195160".
ID_CUE = re.compile(
    r"\b(?P<what>ssn|social security(?: number| no)?|driver'?s?'? licen[cs]e|licen[cs]e (?:number|no)"
    r"|passport"
    r"|national (?:id|insurance)|id card|identity card|tax (?:id|number|file number)|tin|sin|nhs(?: number)?"
    r"|medicare|aadhaa?r|pan(?: card)?|personal (?:id|number)|citizen(?:ship)? (?:id|number)|dni|nif|nie"
    r"|cpf|curp|bsn|steuer-?id|codice fiscale|insurance (?:number|id)|member(?:ship)? (?:id|number)"
    r"|patient (?:id|number)|mrn)\b[^\w\n]{0,3}(?:(?:number|no|num|#|is|was|:)\W{0,3}){0,3}"
    r"(?P<value>(?=[a-z0-9-]*\d[a-z0-9-]*\d)[a-z0-9][a-z0-9 -]{3,18}[a-z0-9])\b"
)
PHONE = re.compile(
    r"(?<![\w+./:-])(?:(?:\+|00)\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{1,12}(?:[ .-]\d{1,8}){0,5}"
    r"(?:[ ]?(?:x|ext\.?|#)[ ]?\d{1,6})?(?![\w-]|[.,/:]\d)",
    re.IGNORECASE,
)
PHONE_CUE = re.compile(
    r"\b(?:phone|call(?:ed|ing)?|tel|telephone|mobile|cell|fax|desk|office|reach|text|sms|whatsapp|contact"
    r"|dial|ring|landline|number|messages?|reach me|registered)\b",
    re.IGNORECASE,
)
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
IPV6 = re.compile(r"(?<![\w:.])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])", re.IGNORECASE)
DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)\d{2}|(?:19|20)\d{2}[/.-]\d{1,2}[/.-]\d{1,2}"
    r"|\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+(?:19|20)\d{2}"
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{2})"
)
BIRTH_DATE = re.compile(
    r"\b(?:born|birth|birthday|dob|d\.o\.b\.?|date of birth|birth ?date)\b[^\n]{0,25}?" + DATE,
    re.IGNORECASE,
)
DATE_THEN_BIRTH = re.compile(DATE + r"[^\n]{0,12}\b(?:birthday|date of birth|dob)\b", re.IGNORECASE)

# Gates: a cheap pattern that every match of the full pattern contains, run first so that the full pattern
# scans only texts that can hold a match. Each starts with a single digit (or ":"): re then skips in C to
# the characters that can begin a match, where the full patterns, which start with a look-behind or \b,
# try to match at every position.
CARD_GATE = re.compile(r"\d(?:[ -]?\d){11}")
IBAN_GATE = re.compile(r"\d(?<=[A-Z]{2}\d)\d(?: ?[A-Z0-9]){11}", re.IGNORECASE)  # two letters, two digits
US_SSN_GATE = re.compile(r"\d\d\d[- ]\d\d[- ]\d\d\d\d")
UK_NINO_GATE = re.compile(r"\d\d ?\d\d ?\d\d ?[A-D]")
IPV4_GATE = re.compile(r"\d\.\d{1,3}\.\d{1,3}\.\d")
IPV6_GATE = re.compile(r":[0-9a-f]{0,4}:", re.IGNORECASE)
# A phone needs 7 digits in its number part, each separated from the next by at most two of " .()-".
PHONE_GATE = re.compile(r"\d(?:[ .()-]{0,2}\d){6}")


# Patterns the checks below apply to each candidate, compiled once (re's cache lookup costs per call).
NON_DIGIT = re.compile(r"\D")
DATE_OR_NUMBER = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")
PHONE_EXTENSION = re.compile(r"(?i)x|ext|#")
EXTENSION_AFTER_DIGIT = re.compile(r"(?i)\d\s?(?:x|ext)")
US_PHONE_SHAPE = re.compile(r"\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum used by payment cards (and Canadian SINs)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """ISO 13616: country length (when known) and the mod-97 check over the rearranged number."""
    iban = candidate.replace(" ", "").upper()
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    if not 15 <= len(iban) <= 34 or not iban[2:4].isdigit():
        return False
    rearranged = iban[4:] + iban[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


def _card_brand_known(digits: str) -> bool:
    """Issuer prefixes of Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay, Maestro."""
    two, four = int(digits[:2]), int(digits[:4])
    return (
        digits[0] == "4"
        or 51 <= two <= 55
        or 2221 <= four <= 2720
        or two in (34, 37, 36, 38, 35, 62, 65)
        or digits.startswith(("6011", "644", "645", "646", "647", "648", "649", "300", "301", "302", "303"))
        or digits.startswith(("304", "305", "50", "56", "57", "58", "63", "67"))
    )


# The characters of an e-mail's local part, and a run of them that ends where the search ends.
LOCAL_PART_CHAR = re.compile(r"[\w.+-]")
LOCAL_PART_RUN = re.compile(r"[\w.+-]+\Z")


def find_emails(text: str) -> Iterator[Hit]:
    """EMAIL.finditer(text), tried only where a match can start: EMAIL's look-behind lets a match start only
    where the run of local-part characters before an "@" starts, at most 64 characters before it. (EMAIL
    itself tries every position of the text, and a run of word characters from each.)"""
    end = 0  # where the previous match ended: finditer's matches do not overlap
    at = text.find("@")
    while at != -1:
        run = LOCAL_PART_RUN.search(text, max(end, at - 65), at) if at > end else None
        if run is not None:
            start = run.start()
            # A run that goes on before the window or the previous match allows no start here.
            if not (start > 0 and LOCAL_PART_CHAR.match(text, start - 1)):
                match = EMAIL.match(text, start)
                if match is not None:
                    yield Hit("email", "personal", 0.95, match.start(), match.end())
                    end = match.end()
        at = text.find("@", max(at + 1, end))


def find_cards(text: str) -> Iterator[Hit]:
    if not CARD_GATE.search(text):
        return
    for match in CARD.finditer(text):
        digits = NON_DIGIT.sub("", match.group())
        if not luhn_valid(digits) or len(set(digits)) == 1:  # 4111 1111 1111 1111 is a card people paste
            continue
        cued = CARD_CUE.search(text, max(0, match.start() - 40), match.start()) is not None
        if 13 <= len(digits) <= 19:
            confidence = 0.95 if _card_brand_known(digits) or cued else 0.6
        else:
            confidence = 0.85 if cued else 0.0  # 12-digit Maestro numbers only when called a card
        if confidence:
            yield Hit("card_number", "personal", confidence, match.start(), match.end())


def find_ibans(text: str) -> Iterator[Hit]:
    if not IBAN_GATE.search(text):
        return
    for match in IBAN.finditer(text):
        candidate = match.group()
        # Trailing words can join the match through the optional spaces: retry shorter prefixes.
        compact = candidate.replace(" ", "")
        if any(iban_valid(compact[:length]) for length in range(len(compact), 14, -1)):
            yield Hit("iban", "personal", 0.95, match.start(), match.end())
        elif IBAN_CUE.search(text, max(0, match.start() - 30), match.start()):
            # Called an IBAN by the user: sensitive even when mistyped (the checksum fails).
            yield Hit("iban", "personal", 0.7, match.start(), match.end())


# Cheap substring checks that must pass before the costly cue patterns run.
ID_CUE_WORDS = (
    *"ssn social licen passport national identity medicare aadha personal citizen steuer codice".split(),
    *"insurance member patient mrn".split(),
    *(f" {word}" for word in "id tax tin sin nhs pan dni nif nie cpf curp bsn".split()),
)
BIRTH_WORDS = ("born", "birth", "dob", "d.o.b")


def _mentions(lowered: str, words: tuple[str, ...]) -> bool:
    return any(word in lowered for word in words)


def find_national_ids(text: str) -> Iterator[Hit]:
    if US_SSN_GATE.search(text):
        for match in US_SSN.finditer(text):
            yield Hit("us_ssn", "personal", 0.9, match.start(), match.end())
    if UK_NINO_GATE.search(text):
        for match in UK_NINO.finditer(text):
            yield Hit("uk_nino", "personal", 0.85, match.start(), match.end())
    lowered = lower_same_length(text)
    if not _mentions(lowered, ID_CUE_WORDS):
        return
    for match in ID_CUE.finditer(lowered):
        what = match.group("what").lower()
        kind = "us_ssn" if what.startswith(("ssn", "social")) else "national_id"
        if "licen" in what:
            kind = "driver_license"
        elif what.startswith("passport"):
            kind = "passport"
        yield Hit(kind, "personal", 0.85, match.start("value"), match.end("value"))


def _is_ip(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def find_ip_addresses(text: str, *, digits: bool = True) -> Iterator[Hit]:
    """IPv4 (needs digits: skipped when the caller knows there are none) and IPv6 (needs colons)."""
    if digits and IPV4_GATE.search(text):
        for match in IPV4.finditer(text):
            value = match.group()
            if _is_ip(value):
                # Loopback, unspecified and netmask-looking values identify nobody.
                weak = value.startswith(("127.", "0.", "255.")) or value.endswith(".0")
                yield Hit("ip_address", "personal", 0.5 if weak else 0.85, match.start(), match.end())
    if ":" not in text or not IPV6_GATE.search(text):
        return
    for match in IPV6.finditer(text):
        value = match.group()
        groups = [group for group in value.split(":") if group]
        if len(groups) >= 3 and _is_ip(value) and value != "::1":
            yield Hit("ip_address", "personal", 0.85, match.start(), match.end())


def find_birth_dates(text: str) -> Iterator[Hit]:
    if not _mentions(text.lower(), BIRTH_WORDS):
        return
    for pattern in (BIRTH_DATE, DATE_THEN_BIRTH):
        for match in pattern.finditer(text):
            yield Hit("date_of_birth", "personal", 0.85, match.start(), match.end())


def _looks_like_date_or_number(candidate: str) -> bool:
    return DATE_OR_NUMBER.fullmatch(candidate) is not None


def find_phones(text: str, *, taken: list[tuple[int, int]]) -> Iterator[Hit]:
    """Phone numbers: 7-15 digits in groups; confident after a cue word or when shaped like one."""
    if not PHONE_GATE.search(text):
        return
    for match in PHONE.finditer(text):
        start, end = match.span()
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        candidate = match.group()
        digits = NON_DIGIT.sub("", PHONE_EXTENSION.split(candidate)[0])
        if not 7 <= len(digits) <= 15 or _looks_like_date_or_number(candidate):
            continue
        if candidate.isdecimal() and len(digits) > 11:
            continue  # a long bare digit run is an account or order number more often than a phone
        context = text[max(0, start - 40) : start] + " " + text[end : end + 20]
        has_cue = PHONE_CUE.search(context) is not None
        shaped = (
            candidate.startswith(("+", "00", "("))
            or EXTENSION_AFTER_DIGIT.search(candidate) is not None
            or US_PHONE_SHAPE.fullmatch(candidate) is not None
        )
        if has_cue:
            confidence = 0.9
        elif shaped:
            confidence = 0.75
        else:
            confidence = 0.4
        yield Hit("phone", "personal", confidence, start, end)


def find_identifiers(text: str) -> list[Hit]:
    """Every structured identifier in text; phones are looked for only outside the other matches.

    Every pattern but two needs a digit (\\d), e-mail needs "@" and IPv6 needs ":": most prompts have none
    of these, and then no pattern runs (each costs a scan of the whole text)."""
    hits: list[Hit] = []
    if "@" in text:
        hits.extend(find_emails(text))
    digits = has_digit(text)
    if digits:
        hits.extend(find_cards(text))
        hits.extend(find_ibans(text))
        hits.extend(find_national_ids(text))
    hits.extend(find_ip_addresses(text, digits=digits))
    if not digits:
        return hits
    hits.extend(find_birth_dates(text))
    taken = [(hit.start, hit.end) for hit in hits]
    hits.extend(find_phones(text, taken=taken))
    return hits
