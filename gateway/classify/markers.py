"""Operator-defined confidential markers: code names and id patterns that a policy says must stay inside."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from gateway.classify.hits import Hit


@dataclass(frozen=True, slots=True)
class ConfidentialMarker:
    """Terms match as whole words (case-insensitive unless case_sensitive); patterns are regexes."""

    name: str
    terms: Sequence[str] = ()
    patterns: Sequence[str] = ()
    case_sensitive: bool = False
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class CompiledMarker:
    name: str
    regexes: tuple[re.Pattern[str], ...]
    confidence: float


def compile_marker(marker: ConfidentialMarker) -> CompiledMarker:
    """One regex for all terms plus one per pattern; a bad pattern raises ValueError naming the marker."""
    if not marker.name:
        raise ValueError("a confidential marker needs a name")
    flags = 0 if marker.case_sensitive else re.IGNORECASE
    regexes: list[re.Pattern[str]] = []
    terms = [term.strip() for term in marker.terms if term and term.strip()]
    if terms:
        # Longest first, so "Project Falcon X" wins over "Project Falcon"; \s+ lets terms wrap lines.
        alternatives = "|".join(
            r"\s+".join(re.escape(word) for word in term.split())
            for term in sorted(terms, key=len, reverse=True)
        )
        regexes.append(re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", flags))
    for pattern in marker.patterns:
        try:
            regexes.append(re.compile(pattern, flags))
        except re.error as exc:
            raise ValueError(f"confidential marker {marker.name!r}: bad pattern {pattern!r}: {exc}") from exc
    return CompiledMarker(marker.name, tuple(regexes), marker.confidence)


def find_markers(text: str, markers: Sequence[CompiledMarker]) -> Iterator[Hit]:
    for marker in markers:
        for regex in marker.regexes:
            for match in regex.finditer(text):
                if match.end() > match.start():
                    yield Hit(
                        f"marker:{marker.name}", "confidential", marker.confidence, match.start(), match.end()
                    )
