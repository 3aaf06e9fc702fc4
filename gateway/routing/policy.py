"""The routing policy model: targets, markers, aliases and ordered rules. Unknown keys are errors."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.routing.prices import ModelPrice, default_price

Provider = Literal["openai", "anthropic", "vllm", "openai_compatible"]
Capability = Literal["tools", "json", "vision", "long_context", "reasoning", "code"]
Level = Literal["none", "low", "medium", "high"]
Tier = Literal["low", "medium", "high"]
Need = Literal["tools", "json", "images", "long_context"]
Strategy = Literal["cheapest", "fastest", "highest_capability", "weighted"]
RequestedKind = Literal["alias", "target"]

# The rule action `route: $requested` sends the request to the target the caller named.
REQUESTED_TARGET = "$requested"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$"

LEVEL_RANK: dict[str, int] = {"none": 0, "low": 1, "medium": 2, "high": 3}
TIER_RANK: dict[str, int] = {"low": 0, "medium": 1, "high": 2}

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GpuHours(_Strict):
    """A self-hosted target priced by the GPU-hour, turned into a price per token at the throughput the
    gateway observes on it (its tokens per second over the last minutes; `assumed_tokens_per_second` until
    it has seen traffic). An idle GPU makes each token dearer: that is what it costs."""

    usd_per_gpu_hour: float = Field(gt=0, le=10_000)
    gpus: int = Field(default=1, ge=1, le=1024)
    assumed_tokens_per_second: float = Field(ge=0.01, le=1_000_000, allow_inf_nan=False)

    def usd_per_million_at(self, tokens_per_second: float) -> float:
        return self.usd_per_gpu_hour * self.gpus / 3600 / tokens_per_second * 1_000_000


class Price(_Strict):
    """USD per million tokens (input and output), or GPU-hours (`gpu_hours`)."""

    # At most $1 a token, far beyond any model's price (a recorded cost is also bounded to what the
    # ledger's column holds, gateway/serving/calls.py, for GPU-hour prices at a tiny throughput).
    input_per_million: float | None = Field(default=None, ge=0, le=1_000_000, allow_inf_nan=False)
    output_per_million: float | None = Field(default=None, ge=0, le=1_000_000, allow_inf_nan=False)
    gpu_hours: GpuHours | None = None

    @model_validator(mode="after")
    def _one_model(self) -> Price:
        per_token = self.input_per_million is not None and self.output_per_million is not None
        partial = (self.input_per_million is None) != (self.output_per_million is None)
        if partial or per_token == (self.gpu_hours is not None):
            raise ValueError("give either input_per_million and output_per_million, or gpu_hours")
        return self


class Target(_Strict):
    """One upstream model the gateway can send a request to."""

    provider: Provider
    model: str = Field(min_length=1, description="the model name the upstream expects")
    capabilities: tuple[Capability, ...] = ()
    context_window: int = Field(gt=0)
    internal: bool = Field(description="self-hosted (data stays with us) versus an external provider")
    price: Price | None = None

    def effective_price(self) -> ModelPrice | None:
        """The policy's price if set, else litellm's bundled list price for the upstream model."""
        if self.price is not None:
            if self.price.gpu_hours is not None:  # for comparing targets: at the assumed throughput
                g = self.price.gpu_hours
                equivalent = g.usd_per_million_at(g.assumed_tokens_per_second)
                return ModelPrice(equivalent, equivalent)
            assert self.price.input_per_million is not None and self.price.output_per_million is not None
            return ModelPrice(self.price.input_per_million, self.price.output_per_million)
        return default_price(self.model, self.provider)


class ConfidentialMarker(_Strict):
    """Words and patterns that make a prompt confidential; the classifier reports them as `marker:<name>`."""

    name: Name
    terms: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    case_sensitive: bool = False
    # Same fields as gateway.classify.markers.ConfidentialMarker: hand over with model_dump().
    confidence: float = Field(default=1.0, ge=0, le=1)

    def compiled(self) -> tuple[re.Pattern[str], ...]:
        flags = 0 if self.case_sensitive else re.IGNORECASE
        return tuple(re.compile(p, flags) for p in self.patterns)


class Range(_Strict):
    """Inclusive bounds; either may be left out."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("a range needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self

    def holds(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def describe(self) -> str:
        low = "-inf" if self.min is None else f"{self.min:g}"
        high = "inf" if self.max is None else f"{self.max:g}"
        return f"[{low}, {high}]"


class When(_Strict):
    """Conditions of a rule; all given ones must hold (any_of: at least one branch). Empty = catch-all."""

    sensitivity_at_least: Level | None = None
    sensitive_categories: tuple[Literal["personal", "secret", "confidential"], ...] | None = None
    sensitive_kinds: tuple[str, ...] | None = None
    complexity_at_least: Tier | None = None
    complexity_at_most: Tier | None = None
    complexity_score: Range | None = None
    task: tuple[str, ...] | None = None
    domain: tuple[str, ...] | None = None
    needs: tuple[Need, ...] | None = None
    prompt_tokens: Range | None = None
    key_id: tuple[str, ...] | None = None
    key_name: tuple[str, ...] | None = None
    team: tuple[str, ...] | None = None
    metadata: dict[str, Any] | None = None
    model: tuple[str, ...] | None = None
    requested: RequestedKind | None = None
    any_of: tuple[When, ...] | None = None

    @field_validator(
        "sensitive_categories", "sensitive_kinds", "task", "domain", "needs", "key_id", "key_name",
        "team", "model", "any_of",
    )  # fmt: skip
    @classmethod
    def _not_empty(cls, value: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
        if value is not None and len(value) == 0:
            raise ValueError("an empty list never matches; leave the condition out instead")
        return value

    def matches_sensitive_data(self) -> bool:
        """True when this condition selects sensitive requests, which makes its rule internal-only."""
        if self.sensitivity_at_least is not None and LEVEL_RANK[self.sensitivity_at_least] > 0:
            return True
        if self.sensitive_categories or self.sensitive_kinds:
            return True
        return any(branch.matches_sensitive_data() for branch in self.any_of or ())


class Block(_Strict):
    """Refuse the request with this message."""

    message: str = Field(min_length=1)
    status: Literal[400, 403, 404, 422, 451] = 403


class Rule(_Strict):
    """When the conditions hold, exactly one action: route, candidates (+ strategy) or block."""

    name: Name
    description: str = ""
    when: When = Field(default_factory=When)
    route: str | None = None
    candidates: tuple[str, ...] | None = None
    strategy: Strategy | None = None
    weights: dict[str, float] | None = None
    fallbacks: tuple[str, ...] = ()
    block: Block | None = None
    internal_only: bool = False

    @model_validator(mode="after")
    def _one_action(self) -> Rule:
        actions = [a for a in ("route", "candidates", "block") if getattr(self, a) is not None]
        if len(actions) != 1:
            found = ", ".join(actions) or "none"
            raise ValueError(f"a rule needs exactly one action of route, candidates, block (found: {found})")
        if self.candidates is not None and self.strategy is None:
            raise ValueError("candidates need a strategy: cheapest, fastest, highest_capability or weighted")
        if self.candidates is None and self.strategy is not None:
            raise ValueError("strategy only applies to candidates")
        if (self.weights is not None) != (self.strategy == "weighted"):
            raise ValueError("weights are required with strategy 'weighted' and only allowed with it")
        if self.block is not None and self.fallbacks:
            raise ValueError("a block rule has no fallbacks")
        return self

    @property
    def keeps_data_internal(self) -> bool:
        """Explicitly internal-only, or implied by a condition on sensitive data."""
        return self.internal_only or self.when.matches_sensitive_data()

    def named_targets(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every target this rule names, with its location inside the rule."""
        named: list[tuple[tuple[str | int, ...], str]] = []
        if self.route is not None:
            named.append((("route",), self.route))
        for i, name in enumerate(self.candidates or ()):
            named.append((("candidates", i), name))
        for i, name in enumerate(self.fallbacks):
            named.append((("fallbacks", i), name))
        return named


class Settings(_Strict):
    """Policy-wide behaviour."""

    # What to do when the caller names an external model explicitly and the prompt is sensitive.
    explicit_external_sensitive: Literal["reroute", "refuse"] = "reroute"
    # A target whose live error rate is at or above this is treated as unhealthy (moved back).
    unhealthy_error_rate: float = Field(default=0.5, gt=0, le=1)


class Policy(_Strict):
    """A complete routing policy, as an operator writes it."""

    name: Name
    version: str | None = None
    description: str = ""
    settings: Settings = Field(default_factory=Settings)
    targets: dict[str, Target] = Field(min_length=1)
    confidential_markers: tuple[ConfidentialMarker, ...] = ()
    aliases: tuple[Name, ...] = ()
    rules: tuple[Rule, ...] = Field(min_length=1)

    @field_validator("targets")
    @classmethod
    def _target_names(cls, targets: dict[str, Target]) -> dict[str, Target]:
        for name in targets:
            if not re.match(NAME_PATTERN, name):
                raise ValueError(f"target name {name!r} must match {NAME_PATTERN}")
        return targets

    def resolve_target(self, requested_model: str) -> str | None:
        """The target a requested model name denotes: a target name, else a unique upstream model name."""
        if requested_model in self.targets:
            return requested_model
        by_upstream = [n for n, t in self.targets.items() if t.model == requested_model]
        return by_upstream[0] if len(by_upstream) == 1 else None
