"""Complexity: how likely a small model is to get the prompt wrong. A logistic model over cheap features
(length, numbers and formulas, question shape, domain keywords, and the prompt's mean static token embedding
projected on one learned direction); its weights are trained by evals/routing/train.py and stored in
complexity_weights.json beside this file."""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources

from gateway.classify.token_embedding import token_scorer
from gateway.classify.types import Complexity, ComplexityTier

_WEIGHTS_FILE = "complexity_weights.json"

OPTION_SPLIT = re.compile(r"\n\(?A[.)]\s")
OPTION_LINE = re.compile(r"(?m)^\(?[A-J][.)]\s*(.*)$")
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?")
MATH_SYMBOL = re.compile(
    r"[=<>≤≥≠±×÷^√∫∑∏∂∞πθλμσΔ∈∉⊂⊆∪∩]|\\[a-z]+\{?|\b[a-z]\s*\(\s*[a-z]\s*\)|\d\s*[-+*/]\s*\d"
)
LOGIC_SYMBOL = re.compile(r"[⊃∨∧≡¬→↔∀∃]|\s~\s?[A-Z]|\([A-Z]\s*[⊃∨·≡]\s*[A-Z]\)")
STATEMENT_PAIR = re.compile(r"Statement 1\s*\|")
NEGATION = re.compile(r"\b(?:NOT|EXCEPT|LEAST|FALSE|INCORRECT|never)\b")
# CALCULATION, REASONING and UNITS are written in lower case and run on lowered text.
CALCULATION = re.compile(
    r"\b(?:calculate|compute|how many|how much|what is the value|determine|solve|find the|estimate"
    r"|evaluate|simplify|approximately)\b"
)
REASONING = re.compile(
    r"\b(?:prove|derive|why|explain|justify|step by step|implies|therefore|must be true|valid|consistent"
    r"|follows? (?:from|that)|if and only if|suppose|assume|given that)\b"
)
UNITS = re.compile(
    r"\b\d+(?:\.\d+)?\s?(?:m/s|km|kg|mol|g|mg|ml|l|j|kj|n|w|kw|v|a|ohm|ω|hz|k|°c|°f|pa|atm|ev|s|ms)\b"
)
CODE = re.compile(r"```|\b(?:def|class|function|return|for|while|if)\b.*[:{]\s*$", re.MULTILINE)

FEATURE_NAMES = (
    "log_stem_chars",
    "log_option_chars",
    "options_numeric",
    "digit_share",
    "log_numbers",
    "math_symbols",
    "logic_symbols",
    "statement_pair",
    "negation",
    "calculation",
    "reasoning",
    "units",
    "code",
    "log_lines",
    "rare_word_share",
    "mean_word_length",
    "domain_math",
    "domain_logic",
    "domain_physics",
    "domain_chemistry",
    "domain_law",
    "domain_medicine",
    "domain_finance",
    "domain_tech",
    "domain_humanities",
    # Mean all-MiniLM-L6-v2 input embedding of the prompt's tokens . a learned direction (0 = neutral).
    "token_embedding",
)


WORD = re.compile(r"[a-zA-Z]{3,}")
DIGIT = re.compile(r"\d")


def extract_features(
    text: str,
    domain_scores: Mapping[str, int],
    *,
    is_common_word: Callable[[str], bool] | None = None,
    token_value: Callable[[str], float] | None = None,
) -> dict[str, float]:
    """The model's inputs for one prompt; every value is cheap to compute and roughly in [0, 10].
    is_common_word tells everyday words from rare ones (technical vocabulary is a sign of difficulty);
    token_value gives the token-embedding feature (left at its neutral 0 without one)."""
    parts = OPTION_SPLIT.split(text, maxsplit=1)
    stem = parts[0]
    options_text = "\n" + "A. " + parts[1] if len(parts) > 1 else ""
    options = [o.strip() for o in OPTION_LINE.findall(options_text)]
    numeric_options = sum(1 for o in options if NUMBER.search(o) and len(o) < 40)
    log1p = math.log1p
    lowered_stem = stem.lower()
    features = {
        "log_stem_chars": log1p(len(stem)),
        "log_option_chars": log1p(len(options_text)),
        "options_numeric": numeric_options / len(options) if options else 0.0,
        "digit_share": 10.0 * len(DIGIT.findall(stem)) / (len(stem) + 1),
        "log_numbers": log1p(len(NUMBER.findall(stem))),
        "math_symbols": log1p(len(MATH_SYMBOL.findall(text))),
        "logic_symbols": log1p(len(LOGIC_SYMBOL.findall(text))),
        "statement_pair": 1.0 if STATEMENT_PAIR.search(text) else 0.0,
        "negation": 1.0 if NEGATION.search(stem) else 0.0,
        "calculation": 1.0 if CALCULATION.search(lowered_stem) else 0.0,
        "reasoning": log1p(len(REASONING.findall(lowered_stem))),
        "units": log1p(len(UNITS.findall(text.lower()))),
        "code": 1.0 if CODE.search(text) else 0.0,
        "log_lines": log1p(text.count("\n")),
    }
    words = WORD.findall(stem[:5000])
    common = is_common_word or (lambda word: True)
    features["rare_word_share"] = sum(1 for w in words if not common(w)) / len(words) if words else 0.0
    features["mean_word_length"] = sum(len(w) for w in words) / len(words) if words else 0.0
    for domain in (
        "math",
        "logic",
        "physics",
        "chemistry",
        "law",
        "medicine",
        "finance",
        "tech",
        "humanities",
    ):
        features[f"domain_{domain}"] = log1p(domain_scores.get(domain, 0))
    features["token_embedding"] = token_value(text) if token_value is not None else 0.0
    return features


@dataclass(frozen=True, slots=True)
class ComplexityModel:
    """Standardised features -> logistic score; tiers cut at stored score thresholds."""

    weights: dict[str, float]
    bias: float
    means: dict[str, float]
    scales: dict[str, float]
    tier_cuts: tuple[float, float]  # score >= first: medium; >= second: high
    # token_embedding = mean over the prompt's tokens of (input embedding . token_direction) - token_offset
    token_direction: tuple[float, ...] = ()
    token_offset: float = 0.0

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ComplexityModel:
        cuts = data["tier_cuts"]
        assert isinstance(cuts, list) and len(cuts) == 2
        token = data.get("token_embedding") or {}
        assert isinstance(token, Mapping)
        return cls(
            weights=dict(data["weights"]),  # type: ignore[call-overload]
            bias=float(data["bias"]),  # type: ignore[arg-type]
            means=dict(data["means"]),  # type: ignore[call-overload]
            scales=dict(data["scales"]),  # type: ignore[call-overload]
            tier_cuts=(float(cuts[0]), float(cuts[1])),
            token_direction=tuple(float(x) for x in token.get("direction", ())),
            token_offset=float(token.get("offset", 0.0)),
        )

    def token_value(self) -> Callable[[str], float] | None:
        """The token-embedding feature of a text, or None when the model has no direction or the local
        embedding files cannot be read (the feature then stays neutral)."""
        if not self.token_direction:
            return None
        scorer = token_scorer(self.token_direction, self.token_offset)
        return scorer.value if scorer is not None else None

    def score(self, features: Mapping[str, float]) -> float:
        z = self.bias
        for name, weight in self.weights.items():
            z += (
                weight
                * (features.get(name, 0.0) - self.means.get(name, 0.0))
                / (self.scales.get(name) or 1.0)
            )
        z = max(-30.0, min(30.0, z))
        return 1.0 / (1.0 + math.exp(-z))

    def tier(self, score: float) -> ComplexityTier:
        if score >= self.tier_cuts[1]:
            return "high"
        return "medium" if score >= self.tier_cuts[0] else "low"

    def assess(
        self,
        text: str,
        domain_scores: Mapping[str, int],
        *,
        is_common_word: Callable[[str], bool] | None = None,
        task: str | None = None,
    ) -> Complexity:
        exam_like = OPTION_SPLIT.search(text) is not None or task is None
        features = extract_features(
            text,
            domain_scores,
            is_common_word=is_common_word,
            token_value=self.token_value() if exam_like else None,
        )
        if exam_like or task is None:
            value = self.score(features)
            return Complexity(score=round(value, 4), tier=self.tier(value))
        value = general_score(text, features, task)
        return Complexity(score=round(value, 4), tier=general_tier(value))


# The logistic model was trained on exam questions (a stem and lettered options) and extrapolates badly far
# from them: "hi" has no long words and no domain terms, which the model reads as unusual, hence hard.
# Other prompts get a transparent prior instead: the task, the length, and explicit signs of technical work.
TASK_PRIOR = {
    "chit_chat": 0.05,
    "translation": 0.2,
    "extraction": 0.25,
    "classification": 0.25,
    "summarisation": 0.3,
    "creative": 0.3,
    "qa": 0.3,
    "code": 0.5,
    "reasoning": 0.55,
    "math": 0.55,
}
GENERAL_TIER_CUTS = (0.35, 0.6)


def general_score(text: str, features: Mapping[str, float], task: str) -> float:
    prior = TASK_PRIOR.get(task, 0.3)
    length = max(-0.15, min(0.2, 0.1 * math.log10(max(len(text), 1) / 200)))
    signals = (
        0.1 * min(1.0, features["math_symbols"])
        + 0.1 * features["code"]
        + 0.1 * min(1.0, features["reasoning"])
        + 0.05 * min(1.0, features["logic_symbols"])
        + (0.1 if features["rare_word_share"] > 0.3 else 0.0)
    )
    return max(0.0, min(1.0, prior + length + signals))


def general_tier(score: float) -> ComplexityTier:
    if score >= GENERAL_TIER_CUTS[1]:
        return "high"
    return "medium" if score >= GENERAL_TIER_CUTS[0] else "low"


@functools.cache
def load_complexity_model() -> ComplexityModel:
    """The packaged model (trained on RouteLLM's MMLU correctness labels of a weak model)."""
    raw = resources.files("gateway.classify").joinpath(_WEIGHTS_FILE).read_text(encoding="utf-8")
    model = ComplexityModel.from_dict(json.loads(raw))
    model.token_value()  # builds the per-token table now, not on the first request
    return model
