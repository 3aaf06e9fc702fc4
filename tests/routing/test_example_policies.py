"""The example policies in router_policies/examples/ load cleanly and behave as their comments say."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from gateway.classify.types import SensitiveFinding
from gateway.routing import Decision, Policy, TargetStats, check_policy_text, decide

from .builders import REPO, make_classification, make_principal

EXAMPLES = REPO / "router_policies" / "examples"


def example(name: str) -> Policy:
    policy, problems = check_policy_text((EXAMPLES / name).read_text())
    assert isinstance(policy, Policy), [str(p) for p in problems]
    return policy


def run(policy: Policy, *, model: str = "auto", principal=None, stats=None, rng=None, **fields) -> Decision:  # type: ignore[no-untyped-def]
    return decide(
        policy,
        make_classification(**fields),
        principal=principal or make_principal(),
        requested_model=model,
        target_stats=stats or {},
        rng=rng,
    )


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_loads_without_errors_or_warnings(path: Path) -> None:
    policy, problems = check_policy_text(path.read_text())
    assert isinstance(policy, Policy)
    assert problems == []


def test_there_are_commented_examples() -> None:
    paths = sorted(EXAMPLES.glob("*.yaml"))
    assert len(paths) >= 3
    assert all(path.read_text().startswith("# Example:") for path in paths)


def test_cost_saver() -> None:
    policy = example("cost_saver.yaml")
    secret = (SensitiveFinding("api_key", "secret", 0.99),)
    refused = run(policy, level="high", findings=secret)
    assert refused.refusal is not None and refused.refusal.status == 422
    assert "credential" in refused.refusal.message
    assert run(policy, level="medium").chain == ("llama-3.1-8b",)
    assert run(policy).target == "llama-3.1-8b"
    assert run(policy, images=True).chain == ("gpt-4o-mini", "claude-sonnet-4-5")
    research = make_principal(team="research")
    assert run(policy, model="best", principal=research).target == "claude-sonnet-4-5"
    assert run(policy, model="best").rule == "cheapest-capable"


def test_regulated() -> None:
    policy = example("regulated.yaml")
    law = run(policy, domain="law", tier="high")
    assert law.chain == ("llama-3.1-70b", "llama-3.1-8b") and law.sensitive
    refused = run(policy, model="gpt-4o", level="low")
    assert refused.refusal is not None and refused.refusal.code == "sensitive_data_external_model"
    assert run(policy, model="gpt-4o").chain == ("gpt-4o",)
    partners = make_principal(metadata={"desk": "partners"})
    assert run(policy, principal=partners, tier="high").chain == ("llama-3.1-70b", "llama-3.1-8b")
    assert run(policy, tier="high").chain == ("gpt-4o", "llama-3.1-70b")
    # Error rate 0.3 counts as unhealthy in this policy.
    erring = {"gpt-4o": TargetStats(100.0, error_rate=0.35)}
    assert run(policy, tier="high", stats=erring).chain == ("llama-3.1-70b", "gpt-4o")


def test_canary_rollout_splits_about_ninety_ten() -> None:
    policy = example("canary_rollout.yaml")
    growth = make_principal(team="growth")
    rng = random.Random(5)
    firsts = Counter(run(policy, principal=growth, rng=rng).target for _ in range(3000))
    assert 0.87 < firsts["claude-sonnet-4-5"] / 3000 < 0.93
    assert run(policy, principal=growth, rng=random.Random(0)).chain[-1] == "llama-3.1-8b"
    assert run(policy, principal=make_principal(team="platform")).target == "gpt-4o"
    assert run(policy, level="low").chain == ("llama-3.1-8b",)
