"""Builders for hand-made classification records, callers and policies, shared by the routing tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.auth.principal import Principal
from gateway.classify.types import Classification, Complexity, Needs, SensitiveFinding, Sensitivity
from gateway.routing import Policy, load_policy

REPO = Path(__file__).resolve().parents[2]
DEFAULT_POLICY = REPO / "router_policies" / "default.yaml"

TIER_SCORE = {"low": 0.15, "medium": 0.5, "high": 0.85}
FINDING_FOR_LEVEL = {
    "low": SensitiveFinding("person", "personal", 0.6),
    "medium": SensitiveFinding("email", "personal", 0.95),
    "high": SensitiveFinding("api_key", "secret", 0.99),
}


def make_classification(
    *,
    level: str = "none",
    findings: tuple[SensitiveFinding, ...] | None = None,
    tier: str = "low",
    score: float | None = None,
    task: str = "qa",
    domain: str = "general",
    prompt_tokens: int = 200,
    output_tokens: int = 300,
    tools: bool = False,
    json_mode: bool = False,
    images: bool = False,
    long_context: bool = False,
) -> Classification:
    if findings is None:
        findings = (FINDING_FOR_LEVEL[level],) if level != "none" else ()
    return Classification(
        sensitivity=Sensitivity(level, findings),  # type: ignore[arg-type]
        complexity=Complexity(TIER_SCORE[tier] if score is None else score, tier),  # type: ignore[arg-type]
        task=task,
        domain=domain,
        needs=Needs(prompt_tokens, output_tokens, tools, json_mode, images, long_context),
    )


def make_principal(
    *,
    key_id: str = "key_1",
    name: str = "ci-bot",
    team: str = "platform",
    allowed_models: frozenset[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Principal:
    return Principal(
        key_id=key_id,
        name=name,
        team=team,
        scopes=frozenset({"chat"}),
        allowed_models=allowed_models,
        metadata=metadata or {},
    )


def must_load(text: str, *, fmt: str = "yaml") -> Policy:
    loaded = load_policy(text, fmt=fmt)  # type: ignore[arg-type]
    assert isinstance(loaded, Policy), "\n".join(str(p) for p in loaded)
    return loaded
