"""Sensitivity of a text: runs every detector, keeps confident findings, and grades the whole."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gateway.classify.addresses import AddressFinder
from gateway.classify.hits import Hit
from gateway.classify.identifiers import find_identifiers
from gateway.classify.lexicon import Lexicon, load_lexicon
from gateway.classify.markers import ConfidentialMarker, compile_marker, find_markers
from gateway.classify.names import NameFinder
from gateway.classify.secrets import find_secrets
from gateway.classify.types import SensitiveFinding, Sensitivity, SensitivityLevel

# Below this a detector's guess is not reported: it would flag too many harmless prompts.
MIN_CONFIDENCE = 0.5
# Kinds whose presence alone makes a prompt highly sensitive (money, state ids); others are medium.
HIGH_KINDS = frozenset(
    {"card_number", "iban", "us_ssn", "uk_nino", "national_id", "passport", "driver_license"}
)
LOW_KINDS = frozenset({"ip_address"})
# Texts longer than this are scanned in full for secrets and markers but only in part for names and
# addresses, whose rules cost more per character (the latency budget holds for any prompt size).
NAME_SCAN_LIMIT = 100_000


def grade(findings: Iterable[SensitiveFinding]) -> SensitivityLevel:
    """Secrets, confidential markers, payment data and state ids: high; other personal data: medium."""
    level: SensitivityLevel = "none"
    for finding in findings:
        if finding.category in ("secret", "confidential") or finding.kind in HIGH_KINDS:
            return "high"
        if finding.kind in LOW_KINDS:
            level = "low" if level == "none" else level
        else:
            level = "medium"
    return level


def summarise(hits: Iterable[Hit]) -> tuple[SensitiveFinding, ...]:
    """One finding per kind: how many confident spans, and the best confidence among them."""
    by_kind: dict[str, tuple[str, float, set[tuple[int, int]]]] = {}
    for hit in hits:
        if hit.confidence < MIN_CONFIDENCE:
            continue
        category, confidence, spans = by_kind.get(hit.kind, (hit.category, 0.0, set()))
        spans.add((hit.start, hit.end))
        by_kind[hit.kind] = (category, max(confidence, hit.confidence), spans)
    return tuple(
        SensitiveFinding(kind=kind, category=category, confidence=round(confidence, 2), count=len(spans))  # type: ignore[arg-type]
        for kind, (category, confidence, spans) in sorted(by_kind.items())
    )


class SensitivityDetector:
    """All detectors, compiled once; `detect` is a pure function of the text."""

    def __init__(self, *, markers: Sequence[ConfidentialMarker] = (), lexicon: Lexicon | None = None) -> None:
        lexicon = lexicon or load_lexicon()
        self.markers = tuple(compile_marker(marker) for marker in markers)
        self.names = NameFinder(lexicon)
        self.addresses = AddressFinder(lexicon)

    def hits(self, text: str) -> list[Hit]:
        """Every span any detector found, confident or not (for debugging and explanations)."""
        if not text:
            return []
        found: list[Hit] = []
        found.extend(find_secrets(text))
        found.extend(find_markers(text, self.markers))
        found.extend(find_identifiers(text))
        prose = text[:NAME_SCAN_LIMIT]
        found.extend(self.addresses.find(prose))
        found.extend(self.names.find(prose))
        return found

    def detect(self, text: str) -> Sensitivity:
        hits = self.hits(text)
        if not hits:
            return NOTHING_FOUND  # most prompts: one shared record
        findings = summarise(hits)
        return Sensitivity(level=grade(findings), findings=findings)


NOTHING_FOUND = Sensitivity(level="none")
