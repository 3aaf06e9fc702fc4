"""The classification record: what the classifier says of one request. Policies and traces read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SensitivityLevel = Literal["none", "low", "medium", "high"]
ComplexityTier = Literal["low", "medium", "high"]


@dataclass(frozen=True, slots=True)
class SensitiveFinding:
    """One kind of sensitive data found in the prompt (never the value itself)."""

    kind: str  # e.g. "person", "email", "phone", "iban", "card_number", "api_key", "marker:<name>"
    category: Literal["personal", "secret", "confidential"]
    confidence: float  # 0..1
    count: int = 1


@dataclass(frozen=True, slots=True)
class Sensitivity:
    level: SensitivityLevel
    findings: tuple[SensitiveFinding, ...] = ()

    @property
    def is_sensitive(self) -> bool:
        return self.level != "none"

    def kinds(self) -> frozenset[str]:
        return frozenset(f.kind for f in self.findings)

    def categories(self) -> frozenset[str]:
        return frozenset(f.category for f in self.findings)


@dataclass(frozen=True, slots=True)
class Complexity:
    score: float  # 0..1: how unlikely a small model is to answer well
    tier: ComplexityTier


@dataclass(frozen=True, slots=True)
class Needs:
    prompt_tokens: int
    expected_output_tokens: int
    tools: bool = False
    json_mode: bool = False
    images: bool = False
    long_context: bool = False


@dataclass(frozen=True, slots=True)
class Classification:
    sensitivity: Sensitivity
    complexity: Complexity
    task: str  # code, math, reasoning, extraction, summarisation, creative, chit_chat, qa, ...
    domain: str  # law, medicine, finance, science, general, ...
    needs: Needs
    extra: dict[str, object] = field(default_factory=dict)
