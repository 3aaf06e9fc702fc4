"""Query classification: sensitivity, complexity, task and domain, and what the request needs."""

from gateway.classify.classifier import (
    Classifier,
    classify,
    classify_text,
    default_classifier,
    detect_sensitivity,
)
from gateway.classify.markers import ConfidentialMarker
from gateway.classify.tokens import count_tokens, get_encoding
from gateway.classify.types import (
    Classification,
    Complexity,
    ComplexityTier,
    Needs,
    SensitiveFinding,
    Sensitivity,
    SensitivityLevel,
)

__all__ = [
    "Classification",
    "Classifier",
    "Complexity",
    "ComplexityTier",
    "ConfidentialMarker",
    "Needs",
    "SensitiveFinding",
    "Sensitivity",
    "SensitivityLevel",
    "classify",
    "classify_text",
    "count_tokens",
    "default_classifier",
    "detect_sensitivity",
    "get_encoding",
]
