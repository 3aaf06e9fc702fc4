"""Strategies, fallbacks, circuit states, and every kind of condition, on small purpose-built policies."""

from __future__ import annotations

import random
from collections import Counter

from gateway.classify.types import SensitiveFinding
from gateway.routing import Decision, Policy, TargetStats, decide

from .builders import make_classification, make_principal, must_load

TARGETS = """\
name: strategies
version: "7"
targets:
  small:
    provider: vllm
    model: small-model
    capabilities: [json]
    context_window: 8000
    internal: true
    price: {input_per_million: 0.05, output_per_million: 0.05}
  medium:
    provider: openai_compatible
    model: medium-model
    capabilities: [json, tools, code]
    context_window: 64000
    internal: true
    price: {input_per_million: 0.5, output_per_million: 1.5}
  large:
    provider: openai
    model: gpt-4o
    capabilities: [json, tools, code, vision, reasoning, long_context]
    context_window: 128000
    internal: false
  output-heavy:
    provider: anthropic
    model: claude-sonnet-4-5
    capabilities: [json, tools, vision]
    context_window: 200000
    internal: false
    price: {input_per_million: 0.01, output_per_million: 90}
aliases: [auto]
"""


def policy_with(rules: str) -> Policy:
    return must_load(TARGETS + "rules:\n" + rules)


def run(
    policy: Policy,
    *,
    stats: dict[str, TargetStats] | None = None,
    principal=None,
    model="auto",
    rng=None,
    **fields,
) -> Decision:  # type: ignore[no-untyped-def]
    return decide(
        policy,
        make_classification(**fields),
        principal=principal or make_principal(),
        requested_model=model,
        target_stats=stats or {},
        rng=rng,
    )


def candidates(strategy: str, extra: str = "") -> Policy:
    return policy_with(
        "  - name: all\n    candidates: [large, output-heavy, medium, small]\n"
        f"    strategy: {strategy}\n{extra}"
    )


def test_cheapest_weighs_input_and_output_tokens() -> None:
    policy = candidates("cheapest")
    # A long prompt with a short answer makes the output-heavy target cheapest after the tiny one.
    assert run(policy, prompt_tokens=7000, output_tokens=10).chain == (
        "small",
        "output-heavy",
        "medium",
        "large",
    )
    assert run(policy, prompt_tokens=100, output_tokens=2000).chain == (
        "small",
        "medium",
        "large",
        "output-heavy",
    )


def test_fastest_orders_by_p50_and_puts_unmeasured_targets_after_measured_ones() -> None:
    stats = {"medium": TargetStats(120.0), "large": TargetStats(80.0), "small": TargetStats(None)}
    assert run(candidates("fastest"), stats=stats).chain == ("large", "medium", "output-heavy", "small")


def test_fastest_picks_among_healthy_then_doubtful_then_open() -> None:
    stats = {
        "large": TargetStats(10.0, circuit="open"),
        "medium": TargetStats(20.0, circuit="half_open"),
        "small": TargetStats(30.0, error_rate=0.7),
        "output-heavy": TargetStats(40.0),
    }
    decision = run(candidates("fastest"), stats=stats)
    assert decision.chain == ("output-heavy", "medium", "small", "large")


def test_every_circuit_open_still_yields_a_chain_for_the_provider_layer_to_try() -> None:
    stats = {name: TargetStats(5.0, circuit="open") for name in ("large", "output-heavy", "medium", "small")}
    decision = run(candidates("fastest"), stats=stats)
    assert decision.target == "large" and len(decision.chain) == 4


def test_highest_capability_orders_by_capability_count_then_context() -> None:
    assert run(candidates("highest_capability")).chain == ("large", "output-heavy", "medium", "small")


def test_weighted_follows_its_weights() -> None:
    policy = candidates("weighted", "    weights: {large: 1, output-heavy: 1, medium: 8, small: 0.000001}\n")
    rng = random.Random(1234)
    firsts = Counter(run(policy, rng=rng).target for _ in range(2000))
    assert 0.75 < firsts["medium"] / 2000 < 0.85
    assert 0.05 < firsts["large"] / 2000 < 0.15
    assert firsts["small"] < 5
    decision = run(policy, rng=random.Random(1))
    # The rest of the chain follows by weight, heaviest first.
    assert decision.chain[-1] == "small" and len(decision.chain) == 4


def test_weighted_draw_is_reproducible_with_a_seeded_rng() -> None:
    policy = candidates("weighted", "    weights: {large: 1, output-heavy: 1, medium: 1, small: 1}\n")
    first = [run(policy, rng=random.Random(99)).target for _ in range(3)]
    assert first == [run(policy, rng=random.Random(99)).target for _ in range(3)]


def test_fallbacks_follow_candidates_without_repeats() -> None:
    policy = policy_with(
        "  - name: r\n    candidates: [medium, large]\n    strategy: cheapest\n"
        "    fallbacks: [large, small]\n"
    )
    assert run(policy).chain == ("medium", "large", "small")


def test_route_with_fallbacks_and_an_open_primary() -> None:
    policy = policy_with("  - name: r\n    route: large\n    fallbacks: [output-heavy, medium]\n")
    assert run(policy).chain == ("large", "output-heavy", "medium")
    stats = {"large": TargetStats(circuit="open")}
    assert run(policy, stats=stats).chain == ("output-heavy", "medium", "large")


def test_block_rule_refuses_with_its_message_and_status() -> None:
    policy = policy_with(
        "  - name: no-medicine\n    when: {domain: [medicine]}\n"
        "    block: {message: Medical questions are not served here., status: 451}\n"
        "  - name: rest\n    route: small\n"
    )
    decision = run(policy, domain="medicine")
    assert decision.refusal is not None
    assert (decision.refusal.status, decision.refusal.message) == (
        451,
        "Medical questions are not served here.",
    )
    assert decision.rule == "no-medicine" and decision.chain == ()
    assert run(policy, domain="law").target == "small"


def rule_matches(when: str, **fields) -> bool:  # type: ignore[no-untyped-def]
    principal = fields.pop("principal", None)
    policy = policy_with(
        f"  - name: probe\n    when: {when}\n    route: small\n  - name: rest\n    route: medium\n"
    )
    return run(policy, principal=principal, **fields).rule == "probe"


def test_conditions_on_the_classification() -> None:
    assert rule_matches("{complexity_score: {min: 0.4, max: 0.6}}", tier="medium", score=0.5)
    assert not rule_matches("{complexity_score: {min: 0.4, max: 0.6}}", tier="medium", score=0.61)
    assert rule_matches("{complexity_at_most: medium}", tier="low")
    assert not rule_matches("{complexity_at_most: medium}", tier="high")
    assert rule_matches("{prompt_tokens: {max: 1000}}", prompt_tokens=1000)
    assert not rule_matches("{prompt_tokens: {min: 1001}}", prompt_tokens=1000)
    assert rule_matches("{domain: [law, finance]}", domain="finance")
    assert rule_matches("{needs: [tools, json]}", tools=True, json_mode=True)
    assert not rule_matches("{needs: [tools, json]}", tools=True)
    assert rule_matches("{task: [extraction], domain: [law]}", task="extraction", domain="law")
    assert not rule_matches("{task: [extraction], domain: [law]}", task="extraction", domain="general")


def test_conditions_on_sensitive_findings() -> None:
    iban = (SensitiveFinding("iban", "personal", 0.9), SensitiveFinding("marker:falcon", "confidential", 1.0))
    assert rule_matches("{sensitive_kinds: [iban]}", level="medium", findings=iban)
    assert rule_matches("{sensitive_categories: [confidential]}", level="medium", findings=iban)
    assert not rule_matches("{sensitive_categories: [secret]}", level="medium", findings=iban)
    assert rule_matches("{sensitivity_at_least: medium}", level="high")
    assert not rule_matches("{sensitivity_at_least: medium}", level="low")


def test_conditions_on_the_caller() -> None:
    legal = make_principal(
        key_id="k9", name="contracts-bot", team="legal", metadata={"env": "prod", "tier": 2}
    )
    assert rule_matches("{team: [legal]}", principal=legal)
    assert not rule_matches("{team: [legal]}")
    assert rule_matches("{key_id: [k9]}", principal=legal)
    assert rule_matches("{key_name: [contracts-bot]}", principal=legal)
    assert rule_matches("{metadata: {env: prod}}", principal=legal)
    assert rule_matches("{metadata: {tier: [1, 2]}}", principal=legal)
    assert not rule_matches("{metadata: {env: staging}}", principal=legal)
    assert not rule_matches("{metadata: {region: eu}}", principal=legal)


def test_any_of_needs_one_branch() -> None:
    when = "{any_of: [{task: [code]}, {domain: [law]}], complexity_at_least: medium}"
    assert rule_matches(when, task="code", tier="medium")
    assert rule_matches(when, domain="law", tier="high")
    assert not rule_matches(when, domain="law", tier="low")
    policy = policy_with(
        f"  - name: probe\n    when: {when}\n    route: small\n  - name: rest\n    route: medium\n"
    )
    (why,) = run(policy, tier="medium").trace[0].failed
    assert why.startswith("no any_of branch holds ([0] task 'qa' not in ['code']; [1] domain 'general'")


def test_decision_carries_the_policy_version() -> None:
    decision = run(candidates("cheapest"))
    assert (decision.policy_name, decision.policy_version) == ("strategies", "7")
