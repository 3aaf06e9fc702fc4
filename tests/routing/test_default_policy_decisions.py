"""The default policy's decisions on hand-built classifications."""

from __future__ import annotations

import pytest

from gateway.routing import Policy, TargetStats, decide

from .builders import make_classification, make_principal

GPT, CLAUDE, LLAMA = "gpt-4o", "claude-sonnet-4-5", "llama-3.1-8b"
STATS = {
    GPT: TargetStats(p50_latency_ms=900.0),
    CLAUDE: TargetStats(p50_latency_ms=450.0),
    LLAMA: TargetStats(p50_latency_ms=300.0),
}


def route(policy: Policy, *, model: str = "auto", stats: dict[str, TargetStats] | None = None, **fields):  # type: ignore[no-untyped-def]
    return decide(
        policy,
        make_classification(**fields),
        principal=make_principal(),
        requested_model=model,
        target_stats=STATS if stats is None else stats,
    )


@pytest.mark.parametrize("level", ["low", "medium", "high"])
@pytest.mark.parametrize("tier", ["low", "high"])
def test_sensitive_goes_to_llama_only(default_policy: Policy, level: str, tier: str) -> None:
    decision = route(default_policy, level=level, tier=tier, task="code")
    assert decision.target == LLAMA
    assert decision.fallbacks == ()
    assert decision.rule == "sensitive-stays-internal"
    assert decision.sensitive


def test_sensitive_request_that_llama_cannot_serve_is_refused_not_leaked(default_policy: Policy) -> None:
    decision = route(default_policy, level="medium", images=True)
    assert decision.blocked and decision.chain == ()
    assert decision.refusal is not None
    assert decision.refusal.status == 403
    assert "sensitive data" in decision.refusal.message and "lacks vision" in decision.refusal.message
    error = decision.refusal.to_error()
    assert error.status == 403 and error.body()["error"]["code"] == "sensitive_data_no_internal_target"


def test_high_complexity_goes_to_fastest_healthy_frontier_model(default_policy: Policy) -> None:
    decision = route(default_policy, tier="high", task="reasoning")
    assert decision.rule == "hard-reasoning-and-code"
    assert decision.chain == (CLAUDE, GPT, LLAMA)


def test_code_with_medium_complexity_is_hard(default_policy: Policy) -> None:
    stats = {GPT: TargetStats(p50_latency_ms=200.0), CLAUDE: TargetStats(p50_latency_ms=700.0)}
    decision = route(default_policy, tier="medium", task="code", stats=stats)
    assert decision.chain == (GPT, CLAUDE, LLAMA)


def test_fastest_skips_an_open_circuit(default_policy: Policy) -> None:
    stats = {**STATS, CLAUDE: TargetStats(p50_latency_ms=100.0, circuit="open")}
    decision = route(default_policy, tier="high")
    assert decision.target == CLAUDE  # healthy baseline
    decision = route(default_policy, tier="high", stats=stats)
    assert decision.chain == (GPT, LLAMA, CLAUDE)
    assert any("unhealthy" in step for step in decision.steps)


def test_code_with_low_complexity_is_not_hard(default_policy: Policy) -> None:
    decision = route(default_policy, tier="low", task="code")
    assert decision.rule == "everything-else"
    assert decision.target == LLAMA


def test_simple_request_goes_to_cheapest(default_policy: Policy) -> None:
    decision = route(default_policy)
    assert decision.rule == "everything-else"
    # llama is set cheapest; by litellm's list prices gpt-4o ($2.5/$10) undercuts claude ($3/$15).
    assert decision.chain == (LLAMA, GPT, CLAUDE)


def test_cheapest_is_needs_aware(default_policy: Policy) -> None:
    with_images = route(default_policy, images=True)
    assert with_images.chain == (GPT, CLAUDE)
    assert "llama-3.1-8b: dropped, lacks vision" in with_images.steps
    too_long = route(default_policy, prompt_tokens=60_000)
    assert too_long.chain == (GPT, CLAUDE)
    longer_than_gpt = route(default_policy, prompt_tokens=150_000, long_context=True)
    assert longer_than_gpt.chain == (CLAUDE,)
    with_tools = route(default_policy, tools=True, json_mode=True)
    assert with_tools.target == LLAMA


def test_nothing_can_serve_a_giant_prompt(default_policy: Policy) -> None:
    decision = route(default_policy, prompt_tokens=500_000)
    assert decision.refusal is not None
    assert decision.refusal.status == 400 and decision.refusal.code == "no_capable_target"
    assert "context window 200000" in decision.refusal.message


def test_aliases(default_policy: Policy) -> None:
    assert route(default_policy, model="smart").rule == "hard-reasoning-and-code"
    cheap = route(default_policy, model="cheap", tier="high", task="math")
    assert cheap.rule == "cheap-alias" and cheap.target == LLAMA
    assert route(default_policy, model="smart", level="low").target == LLAMA


def test_trace_lists_every_rule_considered_and_why(default_policy: Policy) -> None:
    decision = route(default_policy, tier="medium", task="qa")
    assert [t.rule for t in decision.trace] == [
        "sensitive-stays-internal",
        "explicit-model",
        "cheap-alias",
        "hard-reasoning-and-code",
        "everything-else",
    ]
    assert [t.matched for t in decision.trace] == [False, False, False, False, True]
    assert decision.trace[0].failed == ("sensitivity 'none' < 'low'",)
    assert decision.trace[1].failed == ("requested model 'auto' is an alias",)
    (why_not_hard,) = decision.trace[3].failed
    assert (
        "complexity 'medium' < 'high'" in why_not_hard and "task 'qa' not in ['code', 'math']" in why_not_hard
    )
    assert decision.policy_name == "default"
