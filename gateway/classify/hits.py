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
