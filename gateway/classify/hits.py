"""What a detector reports: one span of sensitive text with its kind and confidence (internal)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Category = Literal["personal", "secret", "confidential"]


@dataclass(frozen=True, slots=True)
class Hit:
    kind: str
    category: Category
    confidence: float
    start: int
    end: int


def lower_same_length(text: str) -> str:
    """Lowercased text whose offsets match the original's. Case-insensitive regexes are several times
    slower in Python's re than case-sensitive ones on lowered text; a few characters ("İ") change
    length when lowered, and then only ASCII letters are lowered."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in text)
