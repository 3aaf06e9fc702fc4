"""Builders for hand-made classification records, callers and policies, shared by the routing tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.auth.principal import Principal
from gateway.classify.types import Classification, Complexity, Needs, SensitiveFinding, Sensitivity
from gateway.routing import Policy, PolicyError, load_policy

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


# A two-target policy (one external, one internal) for validation tests.
TARGETS = """\
name: test
targets:
  big:
    provider: openai
    model: gpt-4o
    capabilities: [tools, json, vision]
    context_window: 128000
    internal: false
  local:
    provider: vllm
    model: meta-llama/Llama-3.1-8B-Instruct
    capabilities: [tools]
    context_window: 32768
    internal: true
    price: {input_per_million: 0.1, output_per_million: 0.2}
"""


def policy_text(rules: str, *, head: str = "") -> str:
    return TARGETS + head + "rules:\n" + rules


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing `needle` (so tests check real positions, not counted ones)."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return hits[occurrence - 1]


def errors_of(text: str, *, fmt: str = "yaml") -> list[PolicyError]:
    loaded = load_policy(text, fmt=fmt)  # type: ignore[arg-type]
    assert isinstance(loaded, list), "expected the policy to be refused"
    assert loaded and all(isinstance(p, PolicyError) for p in loaded)
    return loaded


def only_error_at(problems: list[PolicyError], path: str) -> PolicyError:
    found = [p for p in problems if p.path == path and p.severity == "error"]
    assert len(found) == 1, f"no single error at {path}: {[str(p) for p in problems]}"
    return found[0]


CATCH_ALL = """\
  - name: rest
    route: local
"""
