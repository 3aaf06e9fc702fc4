"""The sensitive-data guard against bad policies, explicit model names, and keys' allowed models."""

from __future__ import annotations

import pytest

from gateway.routing import Policy, Rule, TargetStats, decide

from .builders import DEFAULT_POLICY, make_classification, make_principal, must_load

GPT, CLAUDE, LLAMA = "gpt-4o", "claude-sonnet-4-5", "llama-3.1-8b"
DEFAULT_TEXT = DEFAULT_POLICY.read_text()
TARGETS_ONLY = DEFAULT_TEXT[: DEFAULT_TEXT.index("# Words and patterns")]


def bad_policy(rules: str, *, head: str = "aliases: [auto]\n") -> Policy:
    """The default targets with other rules; these pass validation (they only earn warnings)."""
    return must_load(TARGETS_ONLY + head + "rules:\n" + rules)


def run(policy: Policy, *, model: str = "auto", principal=None, stats=None, **fields):  # type: ignore[no-untyped-def]
    return decide(
        policy,
        make_classification(**fields),
        principal=principal or make_principal(),
        requested_model=model,
        target_stats=stats or {},
    )


def test_everything_to_gpt_still_keeps_sensitive_data_internal() -> None:
    policy = bad_policy(
        "  - name: all-to-gpt\n    route: gpt-4o\n    fallbacks: [claude-sonnet-4-5, llama-3.1-8b]\n"
    )
    assert run(policy).chain == (GPT, CLAUDE, LLAMA)
    decision = run(policy, level="low")
    assert decision.chain == (LLAMA,)
    assert f"{GPT}: dropped, external and the request must stay internal" in decision.steps


def test_everything_to_gpt_without_internal_fallback_blocks_sensitive_data() -> None:
    policy = bad_policy("  - name: all-to-gpt\n    route: gpt-4o\n")
    decision = run(policy, level="high")
    assert decision.blocked and decision.chain == ()
    assert decision.refusal is not None and decision.refusal.status == 403
    assert "sensitive data (level high: api_key)" in decision.refusal.message
    assert "external, refused: gpt-4o" in decision.refusal.message


def test_guard_holds_even_for_a_policy_that_skipped_validation() -> None:
    # Built in code, bypassing load_policy's checks: an internal_only rule naming external targets.
    valid = bad_policy("  - name: rest\n    route: llama-3.1-8b\n")
    leaky_rule = Rule(name="leaky", internal_only=True, candidates=(GPT, CLAUDE), strategy="fastest")
    leaky = valid.model_copy(update={"rules": (leaky_rule,)})
    decision = run(leaky)  # no sensitive findings, but the rule itself is internal-only
    assert decision.blocked and decision.sensitive
    assert decision.refusal is not None and decision.refusal.code == "sensitive_data_no_internal_target"
    assert "keeps this request on internal models" in decision.refusal.message


def test_guard_covers_the_health_reordering_too() -> None:
    policy = bad_policy("  - name: r\n    route: llama-3.1-8b\n    fallbacks: [gpt-4o]\n")
    stats = {LLAMA: TargetStats(circuit="open")}
    assert run(policy, stats=stats).chain == (GPT, LLAMA)
    assert run(policy, stats=stats, level="medium").chain == (LLAMA,)


def test_explicit_target_is_honoured_when_not_sensitive(default_policy: Policy) -> None:
    decision = run(default_policy, model=CLAUDE)
    assert (decision.rule, decision.chain) == ("explicit-model", (CLAUDE,))
    by_upstream_name = run(default_policy, model="meta-llama/Llama-3.1-8B-Instruct", tier="high")
    assert by_upstream_name.chain == (LLAMA,)


def test_explicit_external_model_with_sensitive_data_is_rerouted_by_default(default_policy: Policy) -> None:
    decision = run(default_policy, model=GPT, level="medium")
    assert decision.chain == (LLAMA,)
    assert decision.rule == "sensitive-stays-internal"
    assert decision.requested_model == GPT
    assert "explicit external model 'gpt-4o' with sensitive data: rerouted as 'auto'" in decision.steps


def test_explicit_external_model_with_sensitive_data_can_be_refused(default_policy: Policy) -> None:
    refusing = default_policy.model_copy(
        update={
            "settings": default_policy.settings.model_copy(update={"explicit_external_sensitive": "refuse"})
        }
    )
    decision = run(refusing, model=GPT, level="low")
    assert decision.refusal is not None
    assert (decision.refusal.status, decision.refusal.code) == (403, "sensitive_data_external_model")
    assert "may not be sent to the external model 'gpt-4o'" in decision.refusal.message
    # An explicit internal model is fine either way.
    assert run(refusing, model=LLAMA, level="low").chain == (LLAMA,)


def test_explicit_model_in_a_policy_without_an_explicit_rule_still_cannot_leak() -> None:
    policy = bad_policy(
        "  - name: explicit\n    when: {requested: target}\n    route: $requested\n"
        "  - name: rest\n    route: gpt-4o\n    fallbacks: [llama-3.1-8b]\n"
    )
    assert run(policy, model=CLAUDE).chain == (CLAUDE,)
    assert run(policy, model=CLAUDE, level="high").chain == (LLAMA,)


def test_unknown_model_name_is_404(default_policy: Policy) -> None:
    decision = run(default_policy, model="gpt-5-ultra")
    assert decision.refusal is not None
    assert (decision.refusal.status, decision.refusal.code) == (404, "model_not_found")
    assert "auto" in decision.refusal.message and GPT in decision.refusal.message


def test_rules_may_claim_legacy_model_names() -> None:
    policy = bad_policy(
        "  - name: legacy\n    when: {model: [gpt-3.5-turbo]}\n    route: llama-3.1-8b\n"
        "  - name: rest\n    route: gpt-4o\n"
    )
    assert run(policy, model="gpt-3.5-turbo").chain == (LLAMA,)
    assert run(policy, model="gpt-3.5-turbo-16k").blocked


def test_allowed_models_moves_to_the_next_candidate(default_policy: Policy) -> None:
    stats = {GPT: TargetStats(100.0), CLAUDE: TargetStats(200.0)}
    no_gpt = make_principal(allowed_models=frozenset({CLAUDE, LLAMA}))
    decision = run(default_policy, principal=no_gpt, stats=stats, tier="high")
    assert decision.chain == (CLAUDE, LLAMA)
    assert f"{GPT}: dropped, not in this key's allowed models" in decision.steps


def test_allowed_models_accepts_upstream_model_names(default_policy: Policy) -> None:
    upstream_only = make_principal(allowed_models=frozenset({"meta-llama/Llama-3.1-8B-Instruct"}))
    assert run(default_policy, principal=upstream_only, tier="high").chain == (LLAMA,)


def test_allowed_models_excluding_everything_is_403(default_policy: Policy) -> None:
    gpt_only = make_principal(allowed_models=frozenset({GPT}))
    decision = run(default_policy, principal=gpt_only, model=CLAUDE)
    assert decision.refusal is not None
    assert (decision.refusal.status, decision.refusal.code) == (403, "model_not_allowed")
    assert CLAUDE in decision.refusal.message
    # With sensitive data the refusal says why the external one it may use is out too.
    sensitive = run(default_policy, principal=gpt_only, level="medium", tier="high")
    assert sensitive.refusal is not None and sensitive.refusal.code == "sensitive_data_no_internal_target"
    assert "not allowed for this API key: llama-3.1-8b" in sensitive.refusal.message


@pytest.mark.parametrize("model", ["auto", "smart", "cheap", GPT, CLAUDE, LLAMA])
def test_no_requested_model_gets_sensitive_data_outside(default_policy: Policy, model: str) -> None:
    decision = run(default_policy, model=model, level="low", tier="high", task="code")
    assert decision.chain == (LLAMA,)


def test_an_unexpected_sensitivity_level_fails_safe(default_policy: Policy) -> None:
    decision = run(default_policy, level="critical", findings=(), tier="high")
    assert decision.chain == (LLAMA,)


def test_unexpected_complexity_tier_and_nan_latency_do_not_crash(default_policy: Policy) -> None:
    stats = {GPT: TargetStats(float("nan")), CLAUDE: TargetStats(300.0)}
    decision = run(default_policy, tier="extreme", score=0.99, stats=stats)
    assert decision.chain == (CLAUDE, GPT, LLAMA)
