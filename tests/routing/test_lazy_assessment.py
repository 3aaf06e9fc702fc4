"""The router judges complexity, task and domain only when a rule reads them, and decides the same."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.classify import Classifier, default_classifier
from gateway.routing import Policy, decide
from tests.routing.builders import make_principal


def chat(text: str, model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


CASES = [
    ("Say hello in five words.", "gpt-4o", False),  # explicit target: decided by 'explicit-model'
    ("Say hello in five words.", "claude-sonnet-4-5", False),
    ("Prove that the square root of 2 is irrational.", "gpt-4o", False),
    ("Prove that the square root of 2 is irrational.", "auto", True),  # rules read complexity and task
    # 'cheap-alias' matches on the name alone, but "cheapest" compares expected cost: the output estimate
    # depends on the task, unless the caller set max_tokens.
    ("Say hello in five words.", "cheap", True),
    ("Say hello in five words. [max_tokens]", "cheap", False),
    ("Say hello in five words.", "smart", True),  # 'hard-reasoning-and-code' reads the any_of in order
    ("My email is jo@example.com, summarise my day.", "gpt-4o", False),  # sensitive: decided by rule 1
    ("My email is jo@example.com, summarise my day.", "auto", False),
]


@pytest.mark.parametrize(("text", "model", "assessed"), CASES)
def test_content_judged_only_when_a_rule_reads_it(
    default_policy: Policy, text: str, model: str, assessed: bool
) -> None:
    classifier: Classifier = default_classifier()
    principal = make_principal()
    body = chat(text, model, max_tokens=16) if "[max_tokens]" in text else chat(text, model)
    lazy = classifier.classify(body, lazy=True)
    decision = decide(default_policy, lazy, principal=principal, requested_model=model, target_stats={})
    assert lazy.assessed is assessed
    eager = decide(
        default_policy, classifier.classify(body), principal=principal, requested_model=model, target_stats={}
    )
    assert (decision.chain, decision.rule, decision.refusal) == (eager.chain, eager.rule, eager.refusal)
    assert decision.trace == eager.trace


def test_output_ceiling_bounds_every_estimate() -> None:
    """needs_bound() relies on it: a check that holds at the ceiling holds for the real estimate."""
    from gateway.classify.classifier import OUTPUT_ESTIMATE_CEILING, OUTPUT_TOKENS_BY_TASK

    assert max(OUTPUT_TOKENS_BY_TASK.values()) <= OUTPUT_ESTIMATE_CEILING
    classifier = default_classifier()
    for body in (
        chat("Translate into German: " + "a long sentence to translate " * 3000, "auto"),
        chat("Summarise: " + "words of a long report " * 20000, "auto"),
        chat("hi", "auto"),
    ):
        c = classifier.classify(body, lazy=True)
        bound = c.needs_bound()
        assert c.needs.expected_output_tokens <= bound.expected_output_tokens == OUTPUT_ESTIMATE_CEILING
        assert bound.prompt_tokens == c.needs.prompt_tokens
