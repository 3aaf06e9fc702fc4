"""The classification record for whole requests: fields, request shapes and odd inputs."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gateway.classify import Classification, Classifier, classify, classify_text, default_classifier
from gateway.classify.classifier import LONG_CONTEXT_TOKENS


def chat(*contents: Any, **extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": c} for c in contents], **extra}


def test_record_fields(classifier: Classifier) -> None:
    result = classifier.classify(chat("My name is Jessica Solomina. Solve 3x + 5 = 20 step by step."))
    assert isinstance(result, Classification)
    assert result.sensitivity.level == "medium"
    assert result.sensitivity.kinds() == {"person"}
    assert 0.0 <= result.complexity.score <= 1.0
    assert result.complexity.tier in ("low", "medium", "high")
    assert result.task == "math"
    assert result.needs.prompt_tokens > 10
    assert result.needs.expected_output_tokens == result.extra["output_tokens_estimate"]
    assert (
        result.needs.tools
        is result.needs.json_mode
        is result.needs.images
        is result.needs.long_context
        is False
    )
    assert result.extra["classifier_version"] == "1"
    assert result.extra["prompt_tokens_exact"] is True
    with pytest.raises(AttributeError):
        result.task = "code"  # type: ignore[misc]  # the record is immutable


LAZY_BODIES = [
    chat("My name is Jessica Solomina. Solve 3x + 5 = 20 step by step."),
    chat("Say hello in five words.", max_tokens=16),
    chat("Summarise this: " + "The quarterly report shows growth in every region. " * 30),
    chat("Translate to French: where is the station?"),
    chat("write a python function that parses ISO dates", max_completion_tokens=300),
    {"model": "m", "system": "be brief", "messages": [{"role": "user", "content": "why is the sky blue?"}]},
    chat([{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": "x"}}]),
    {"model": "m", "messages": "not a list"},
    {},
]


@pytest.mark.parametrize("body", LAZY_BODIES)
def test_lazy_record_equals_eager(classifier: Classifier, body: dict[str, Any]) -> None:
    eager = classifier.classify(body)
    lazy = classifier.classify(body, lazy=True)
    assert eager.assessed and not lazy.assessed
    # What every call needs is there without judging the content.
    assert lazy.sensitivity == eager.sensitivity
    assert not lazy.assessed
    # Reading any content field judges them all, once, to the same values as the eager path.
    assert lazy.task == eager.task and lazy.assessed
    assert lazy == eager
    assert lazy.needs == eager.needs and lazy.extra == eager.extra


def test_lazy_needs_settled_by_max_tokens(classifier: Classifier) -> None:
    with_max = classifier.classify(chat("hello", max_tokens=20), lazy=True)
    assert with_max.needs.expected_output_tokens == 20 and not with_max.assessed
    without = classifier.classify(chat("hello"), lazy=True)
    assert without.needs.expected_output_tokens == without.extra["output_tokens_estimate"]
    assert without.assessed  # the estimate depends on the task


def test_record_needs_every_field_or_a_thunk() -> None:
    with pytest.raises(TypeError):
        Classification(sensitivity=classify_text("hi"))


def test_prompt_tokens_count_messages_like_openai(classifier: Classifier) -> None:
    one = classifier.classify(chat("hello there"))
    encoding = classifier.encoding
    assert one.needs.prompt_tokens == len(encoding.encode("hello there")) + 3 + 3


def test_max_tokens_sets_expected_output(classifier: Classifier) -> None:
    assert classifier.classify(chat("hi", max_tokens=77)).needs.expected_output_tokens == 77
    assert classifier.classify(chat("hi", max_completion_tokens=12)).needs.expected_output_tokens == 12
    assert classifier.classify(chat("hi", max_tokens=True)).extra["max_tokens"] is None  # a bool is no count


def test_tools_json_and_images(classifier: Classifier) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    body = chat(
        [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        ],
        tools=tools,
        response_format={"type": "json_object"},
    )
    result = classifier.classify(body)
    assert result.needs.tools and result.needs.json_mode and result.needs.images
    without_tools = classifier.classify({**body, "tools": []})
    assert result.needs.prompt_tokens > without_tools.needs.prompt_tokens  # tool schemas cost tokens


def test_json_schema_response_format(classifier: Classifier) -> None:
    body = chat("list three colours", response_format={"type": "json_schema", "json_schema": {"name": "x"}})
    assert classifier.classify(body).needs.json_mode


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"messages": []},
        {"messages": None},
        {"messages": "not a list"},
        {"messages": [None, 3, "text", {"role": "user"}]},
        {"messages": [{"role": "user", "content": None}]},
        {
            "messages": [
                {"role": "user", "content": [None, 5, {"type": "text", "text": None}, {"no": "type"}]}
            ]
        },
        {"messages": [{"role": "user", "content": {"unexpected": "mapping"}}]},
    ],
)
def test_odd_bodies_classify_without_error(classifier: Classifier, body: dict[str, Any]) -> None:
    result = classifier.classify(body)
    assert result.sensitivity.level == "none"
    assert result.needs.prompt_tokens >= 0
    assert result.task in ("qa", "chit_chat")


def test_a_non_mapping_body_is_treated_as_empty(classifier: Classifier) -> None:
    assert classifier.classify(["not", "a", "dict"]).needs.prompt_tokens == 0  # type: ignore[arg-type]


def test_text_parts_tool_calls_and_tool_results_are_all_scanned(classifier: Classifier) -> None:
    body = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "look up the customer"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"type": "function", "function": {"name": "f", "arguments": '{"q": "a@b.io"}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "1", "content": "card 4716402611454369"},
        ]
    }
    assert classifier.classify(body).sensitivity.kinds() == {"email", "card_number"}


def test_anthropic_shape(classifier: Classifier) -> None:
    body = {
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [
            {"role": "user", "content": [{"type": "image", "source": {"type": "base64", "data": "AA"}}]},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t", "name": "n", "input": {"ip": "58.74.121.78"}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]},
        ],
        "max_tokens": 50,
    }
    result = classifier.classify(body)
    assert result.needs.images
    assert "ip_address" in result.sensitivity.kinds()
    assert result.needs.expected_output_tokens == 50


def test_legacy_prompt_and_responses_input(classifier: Classifier) -> None:
    assert classifier.classify({"prompt": "my email is x@y.io"}).sensitivity.kinds() == {"email"}
    body = {"input": [{"role": "user", "content": [{"type": "input_text", "text": "ssn 531-21-7351"}]}]}
    assert classifier.classify(body).sensitivity.kinds() == {"us_ssn"}


def test_unicode_and_special_tokens(classifier: Classifier) -> None:
    text = "Привет, İstanbul’da 東京 🙂 <|endoftext|> Dr. Øyvind Ålesund"
    result = classifier.classify(chat(text))
    assert result.needs.prompt_tokens > 10
    assert "person" in result.sensitivity.kinds()


def test_huge_prompt_is_long_context_and_stays_fast(classifier: Classifier) -> None:
    text = "The quick brown fox jumps over the lazy dog near 12 Main Street. " * 40_000  # ~2.6 MB
    started = time.perf_counter()
    result = classifier.classify(chat(text))
    elapsed = time.perf_counter() - started
    assert result.needs.long_context
    assert result.needs.prompt_tokens > LONG_CONTEXT_TOKENS
    assert result.extra["prompt_tokens_exact"] is False
    exact = len(classifier.encoding.encode(text))
    assert abs(result.needs.prompt_tokens - exact) / exact < 0.02
    assert elapsed < 30  # a generous bound: the point is that it finishes


def test_long_context_threshold_is_configurable() -> None:
    small = Classifier(long_context_tokens=5)
    assert small.classify(chat("one two three four five six seven")).needs.long_context


@pytest.mark.parametrize(
    ("text", "task"),
    [
        ("Translate 'good morning' into French", "translation"),
        ("Summarize this article in three sentences: ...", "summarisation"),
        ("Extract all dates from the text below", "extraction"),
        ("Fix this bug:\n```python\ndef f(x): return x +\n```", "code"),
        ("Write a poem about autumn leaves", "creative"),
        ("What is the integral of x^2 from 0 to 3?", "math"),
        ("Why did the Roman Empire fall? Compare two views.", "reasoning"),
        ("hi there!", "chit_chat"),
        ("Who wrote Hamlet?", "qa"),
    ],
)
def test_tasks(classifier: Classifier, text: str, task: str) -> None:
    assert classifier.classify(chat(text)).task == task


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("The plaintiff sued the defendant for breach of contract; can the court award damages?", "law"),
        ("The patient shows symptoms of a chronic kidney infection; what treatment and dose?", "medicine"),
        ("How does the interest rate affect inflation and the stock market?", "finance"),
        ("Why does my Python function raise an exception when the database is down?", "tech"),
        ("A ball's velocity and acceleration under gravity: what force acts on it?", "science"),
        ("What's a good name for a cat?", "general"),
    ],
)
def test_domains(classifier: Classifier, text: str, domain: str) -> None:
    assert classifier.classify(chat(text)).domain == domain


def test_the_task_follows_the_last_user_turn(classifier: Classifier) -> None:
    body = {
        "messages": [
            {"role": "user", "content": "Write a poem about the sea"},
            {"role": "assistant", "content": "Waves..."},
            {"role": "user", "content": "Now translate it into German"},
        ]
    }
    assert classifier.classify(body).task == "translation"


def test_module_functions_share_a_default_instance() -> None:
    assert default_classifier() is default_classifier()
    assert classify(chat("hello")).task == "chit_chat"
    assert classify_text("call me on +1-944-435-4352").kinds() == {"phone"}


def test_classification_is_a_pure_function(classifier: Classifier) -> None:
    body = chat("Dr. Nielsen, my card is 4716402611454369; explain the fee")
    assert classifier.classify(body) == classifier.classify(body)
