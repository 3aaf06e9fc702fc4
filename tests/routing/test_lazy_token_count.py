"""The prompt's tokens are counted only when a check needs the count: the router first asks every target at
the needs' ceiling (the count bounded by the text's UTF-8 bytes), and decides as it did with the count."""

from __future__ import annotations

import random
from typing import Any

import pytest

from gateway.classify import Classifier
from gateway.classify.classifier import EXACT_TOKEN_CHARS, OUTPUT_ESTIMATE_CEILING
from gateway.classify.tokens import get_encoding
from gateway.routing import Policy, decide
from tests.routing.builders import make_principal, must_load, policy_text


class CountingEncoding:
    """tiktoken's encoding, counting the calls that reach it."""

    def __init__(self) -> None:
        self.inner = get_encoding()
        self.calls = 0

    def encode_ordinary(self, text: str) -> list[int]:
        self.calls += 1
        return self.inner.encode_ordinary(text)


@pytest.fixture(scope="module")
def counted() -> tuple[Classifier, CountingEncoding]:
    encoding = CountingEncoding()
    return Classifier(encoding=encoding), encoding  # type: ignore[arg-type]


def chat(text: str, model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


CASES = [
    ("Say hello in five words.", "gpt-4o", {"max_tokens": 16}),
    ("Say hello in five words.", "claude-sonnet-4-5", {}),
    ("Prove that the square root of 2 is irrational.", "gpt-4o", {}),
    ("My email is jo@example.com, summarise my day.", "gpt-4o", {}),
    ("My email is jo@example.com, summarise my day.", "auto", {}),
    ("Summarise: " + "the meeting moved to Tuesday. " * 400, "gpt-4o", {}),
    # 'hard-reasoning-and-code' orders by speed: no count needed
    ("Write a Python function that reverses a linked list.", "auto", {}),
    ("Prove that the square root of 2 is irrational, step by step.", "auto", {"max_tokens": 300}),
]


@pytest.mark.parametrize(("text", "model", "extra"), CASES)
def test_a_call_whose_targets_fit_at_the_ceiling_is_routed_without_counting(
    default_policy: Policy, counted: tuple[Classifier, CountingEncoding], text: str, model: str, extra: Any
) -> None:
    classifier, encoding = counted
    principal = make_principal()
    body = chat(text, model, **extra)
    before = encoding.calls
    lazy = classifier.classify(body, lazy=True)
    decision = decide(default_policy, lazy, principal=principal, requested_model=model, target_stats={})
    assert encoding.calls == before  # routed on the ceiling alone
    eager = decide(
        default_policy, classifier.classify(body), principal=principal, requested_model=model, target_stats={}
    )
    assert (decision.chain, decision.rule, decision.refusal) == (eager.chain, eager.rule, eager.refusal)
    assert decision.trace == eager.trace
    # Reading the needs counts, once, and gives what the eager record holds.
    assert lazy.needs == classifier.classify(body).needs
    calls = encoding.calls
    assert lazy.needs_bound().prompt_tokens == lazy.needs.prompt_tokens
    assert encoding.calls == calls


@pytest.mark.parametrize("model", ["auto", "cheap"])
def test_a_rule_ranking_by_expected_cost_counts(
    default_policy: Policy, counted: tuple[Classifier, CountingEncoding], model: str
) -> None:
    classifier, encoding = counted
    body = chat("What is the capital of France?", model)  # 'everything-else' / 'cheap-alias': cheapest
    before = encoding.calls
    lazy = classifier.classify(body, lazy=True)
    decision = decide(
        default_policy, lazy, principal=make_principal(), requested_model=model, target_stats={}
    )
    assert decision.rule in ("everything-else", "cheap-alias")
    assert encoding.calls == before + 1


SMALL_WINDOW = policy_text(
    """\
  - name: small-first
    route: small
    fallbacks: [local]
""",
).replace(
    "targets:\n",
    "targets:\n  small:\n    provider: openai\n    model: small-model\n    capabilities: [tools]\n"
    "    context_window: 1000\n    internal: false\n"
    "    price: {input_per_million: 1, output_per_million: 2}\n",
    1,
)


def test_a_target_the_ceiling_rules_out_is_asked_again_with_the_count(
    counted: tuple[Classifier, CountingEncoding],
) -> None:
    classifier, encoding = counted
    policy = must_load(SMALL_WINDOW)
    principal = make_principal()
    # ~1,500 bytes but ~300 tokens: over the small target's window at the ceiling, within it counted.
    fits = chat("the meeting moved to Tuesday " * 52, "small", max_tokens=100)
    # ~5,000 tokens: over the window counted too.
    too_long = chat("the meeting moved to Tuesday " * 900, "small", max_tokens=100)
    for body, small_serves in ((fits, True), (too_long, False)):
        lazy = classifier.classify(body, lazy=True)
        assert lazy.needs_ceiling().prompt_tokens + 100 > 1000
        before = encoding.calls
        decision = decide(policy, lazy, principal=principal, requested_model="small", target_stats={})
        assert encoding.calls == before + 1  # counted once, for the small target
        eager = decide(
            policy, classifier.classify(body), principal=principal, requested_model="small", target_stats={}
        )
        assert decision.chain == eager.chain and decision.trace == eager.trace
        assert decision.chain == (("small", "local") if small_serves else ("local",)), decision.chain


def _texts() -> list[str]:
    rng = random.Random(20261129)
    alphabets = [
        "abcdefghijklmnopqrstuvwxyz     .,;:!?\n\t0123456789",
        "äöüßéèêçñåøæœ ÄÖÜ",
        "日本語の文章と中文句子한국어",
        "😀🚀👍🏽🇩🇪∑∫√≈≠≤≥",
        "\u200b\u00a0\u2028\ufeff",
        "{}[]\"'\\/<>|`~@#$%^&*()_+-=",
    ]
    texts = ["", " ", "\n\n\n", "a" * 5000, " " * 3000, "😀" * 700, "日本" * 900, "1234567890" * 300]
    for _ in range(300):
        pool = "".join(rng.sample(alphabets, rng.randint(1, len(alphabets))))
        texts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 2500))))
    return texts


def test_the_ceiling_is_never_below_the_count(counted: tuple[Classifier, CountingEncoding]) -> None:
    classifier, _ = counted
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    for i, text in enumerate(_texts()):
        body: dict[str, Any] = {
            "model": "auto",
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}],
        }
        if i % 3 == 0:
            body["tools"] = tools
        if i % 2 == 0:
            body["max_tokens"] = 50
        lazy = classifier.classify(body, lazy=True)
        ceiling, needs = lazy.needs_ceiling(), lazy.needs
        assert ceiling.prompt_tokens >= needs.prompt_tokens, repr(text[:80])
        assert ceiling.expected_output_tokens >= needs.expected_output_tokens
        assert ceiling.long_context >= needs.long_context
        flags = ("tools", "json_mode", "images")
        assert [getattr(ceiling, f) for f in flags] == [getattr(needs, f) for f in flags]
        assert ceiling.expected_output_tokens == (50 if i % 2 == 0 else OUTPUT_ESTIMATE_CEILING)


def test_an_extrapolated_count_has_no_ceiling(counted: tuple[Classifier, CountingEncoding]) -> None:
    classifier, encoding = counted
    body = chat("日本" * (EXACT_TOKEN_CHARS // 2) + "x" * 10, "auto", max_tokens=10)
    lazy = classifier.classify(body, lazy=True)
    before = encoding.calls
    assert lazy.needs_ceiling() == lazy.needs  # the bound is the count itself (extrapolated, not bounded)
    assert encoding.calls == before + 1


@pytest.mark.parametrize("extra", [{}, {"max_tokens": 40}])
def test_a_lazy_record_reads_as_the_eager_one(
    counted: tuple[Classifier, CountingEncoding], extra: Any
) -> None:
    """Explanations and traces read every field: the deferred count is made then, and noted in extra."""
    classifier, _ = counted
    body = chat("Summarise: the meeting moved to Tuesday because the room was booked.", "auto", **extra)
    lazy, eager = classifier.classify(body, lazy=True), classifier.classify(body)
    assert lazy.extra == eager.extra
    assert lazy.extra["prompt_tokens_exact"] is True
    assert lazy.as_dict() == eager.as_dict()
    assert lazy == eager
