"""Property-style tests: many random requests, the invariants that must hold for every one of them."""

from __future__ import annotations

import random

import pytest

from gateway.classify.types import Classification, SensitiveFinding
from gateway.routing import Decision, Policy, Rule, TargetStats, decide, explain
from gateway.routing.strategies import missing_capability

from .builders import make_classification, make_principal

LEVELS = ["none", "none", "low", "medium", "high"]
TASKS = ["code", "math", "reasoning", "qa", "chit_chat", "extraction", "summarisation"]
DOMAINS = ["general", "law", "medicine", "finance"]
FINDINGS = [
    SensitiveFinding("email", "personal", 0.9),
    SensitiveFinding("api_key", "secret", 0.99),
    SensitiveFinding("marker:internal-project", "confidential", 1.0),
]
CASES = 1500


def random_classification(rng: random.Random) -> Classification:
    level = rng.choice(LEVELS)
    tier = rng.choice(["low", "medium", "high"])
    return make_classification(
        level=level,
        findings=tuple(rng.sample(FINDINGS, rng.randint(1, 3))) if level != "none" else (),
        tier=tier,
        score=rng.random(),
        task=rng.choice(TASKS),
        domain=rng.choice(DOMAINS),
        prompt_tokens=rng.choice([10, 500, 5_000, 30_000, 100_000, 190_000, 400_000]),
        output_tokens=rng.choice([0, 200, 4_000]),
        tools=rng.random() < 0.3,
        json_mode=rng.random() < 0.3,
        images=rng.random() < 0.2,
        long_context=rng.random() < 0.1,
    )


def random_stats(rng: random.Random, targets: list[str]) -> dict[str, TargetStats]:
    return {
        name: TargetStats(
            p50_latency_ms=rng.choice([None, rng.uniform(50, 3000)]),
            error_rate=rng.random() * rng.choice([0, 0.2, 1]),
            circuit=rng.choice(["closed", "closed", "half_open", "open"]),
        )
        for name in targets
        if rng.random() < 0.8
    }


def random_allowed(rng: random.Random, targets: list[str]) -> frozenset[str] | None:
    if rng.random() < 0.6:
        return None
    return frozenset(rng.sample(targets, rng.randint(0, len(targets))))


def random_requests(policy: Policy, seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    names = list(policy.targets)
    models = [*policy.aliases, *names, *(t.model for t in policy.targets.values()), "no-such-model"]
    for _ in range(CASES):
        yield (
            random_classification(rng),
            make_principal(allowed_models=random_allowed(rng, names)),
            rng.choice(models),
            random_stats(rng, names),
        )


def assert_invariants(
    policy: Policy, classification: Classification, allowed: frozenset[str] | None, d: Decision
) -> None:
    assert d.blocked == (d.target is None)
    if d.blocked:
        assert d.fallbacks == () and d.refusal is not None and d.refusal.message
        return
    assert len(set(d.chain)) == len(d.chain), "a target repeated in the chain"
    for name in d.chain:
        target = policy.targets[name]
        if classification.sensitivity.is_sensitive:
            assert target.internal, f"sensitive request sent to external {name}"
        assert missing_capability(target, classification.needs) is None
        assert allowed is None or name in allowed or target.model in allowed


def test_default_policy_never_sends_sensitive_data_outside(default_policy: Policy) -> None:
    sensitive_seen = 0
    for classification, principal, model, stats in random_requests(default_policy, seed=20261128):
        decision = decide(
            default_policy, classification, principal=principal, requested_model=model, target_stats=stats
        )
        assert_invariants(default_policy, classification, principal.allowed_models, decision)
        sensitive_seen += classification.sensitivity.is_sensitive
    assert sensitive_seen > CASES / 3  # the generator really exercises the guard


def test_sensitive_requests_reach_only_llama_in_the_default_policy(default_policy: Policy) -> None:
    for classification, principal, model, stats in random_requests(default_policy, seed=7):
        if not classification.sensitivity.is_sensitive:
            continue
        decision = decide(
            default_policy, classification, principal=principal, requested_model=model, target_stats=stats
        )
        assert decision.chain in ((), ("llama-3.1-8b",))


def random_bad_policy(base: Policy, rng: random.Random) -> Policy:
    """Rules that ignore sensitivity entirely, built in code so no validation stands in the way."""
    names = list(base.targets)
    rules = []
    for index in range(rng.randint(1, 4)):
        picked = tuple(rng.sample(names, rng.randint(1, len(names))))
        if rng.random() < 0.5:
            rule = Rule(name=f"r{index}", route=picked[0], fallbacks=picked[1:])
        else:
            rule = Rule(name=f"r{index}", candidates=picked, strategy=rng.choice(["cheapest", "fastest"]))
        rules.append(rule)
    return base.model_copy(update={"rules": tuple(rules)})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_bad_policies_never_send_sensitive_data_outside(default_policy: Policy, seed: int) -> None:
    rng = random.Random(seed)
    policies = [random_bad_policy(default_policy, rng) for _ in range(20)]
    for i, (classification, principal, model, stats) in enumerate(random_requests(default_policy, seed)):
        policy = policies[i % len(policies)]
        decision = decide(
            policy, classification, principal=principal, requested_model=model, target_stats=stats
        )
        assert_invariants(policy, classification, principal.allowed_models, decision)


def test_explain_is_the_same_code_path_as_decide(default_policy: Policy) -> None:
    for classification, principal, model, stats in list(random_requests(default_policy, seed=11))[:300]:
        decision = decide(
            default_policy, classification, principal=principal, requested_model=model, target_stats=stats
        )
        explained = explain(
            default_policy, classification, principal=principal, requested_model=model, target_stats=stats
        )
        assert explained["target"] == decision.target
        assert explained["fallbacks"] == list(decision.fallbacks)
        assert explained["rule"] == decision.rule
        assert [r["rule"] for r in explained["rules_considered"]] == [t.rule for t in decision.trace]
