"""Unreachable rules: shadowed by an earlier, wider rule. The check must never flag a reachable rule."""

from __future__ import annotations

import random

import pytest

from gateway.routing import When
from gateway.routing.conditions import RequestFacts, failed_conditions
from gateway.routing.shadowing import covers, matches_everything

from .builders import (
    CATCH_ALL,
    errors_of,
    line_of,
    make_classification,
    make_principal,
    only_error_at,
    policy_text,
)


def when(**fields: object) -> When:
    return When.model_validate(fields)


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ({"task": ["code", "math"]}, {"task": ["code"], "complexity_at_least": "high"}),
        ({"complexity_at_least": "medium"}, {"complexity_at_least": "high"}),
        ({"complexity_at_most": "medium"}, {"complexity_at_most": "low"}),
        ({"needs": ["tools"]}, {"needs": ["tools", "json"]}),
        ({"prompt_tokens": {"max": 1000}}, {"prompt_tokens": {"min": 10, "max": 500}}),
        ({"metadata": {"env": ["prod", "staging"]}}, {"metadata": {"env": "prod"}, "team": ["x"]}),
        ({"sensitivity_at_least": "low"}, {"sensitivity_at_least": "high", "task": ["code"]}),
        ({"sensitivity_at_least": "none", "domain": ["law"]}, {"domain": ["law"]}),
        ({"any_of": [{"task": ["code"]}]}, {"any_of": [{"task": ["code"]}], "domain": ["law"]}),
        ({"any_of": [{"task": ["code"]}, {"domain": ["law"]}]}, {"task": ["code"], "team": ["a"]}),
    ],
)
def test_wider_earlier_rule_shadows(earlier: dict[str, object], later: dict[str, object]) -> None:
    assert covers(when(**earlier), when(**later))


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ({"complexity_at_least": "high"}, {"complexity_at_least": "medium"}),
        ({"needs": ["tools", "json"]}, {"needs": ["tools"]}),
        ({"prompt_tokens": {"max": 1000}}, {"prompt_tokens": {"min": 10}}),
        ({"task": ["code"]}, {"task": ["code", "math"]}),
        ({"task": ["code"]}, {"domain": ["law"]}),
        ({"metadata": {"env": "prod"}}, {"team": ["x"]}),
        ({"any_of": [{"task": ["code"]}, {"domain": ["law"]}]}, {"task": ["code", "qa"]}),
        ({"any_of": [{"task": ["code"], "team": ["a"]}]}, {"task": ["code"]}),
        ({"requested": "alias"}, {"requested": "target"}),
    ],
)
def test_narrower_or_unrelated_earlier_rule_does_not_shadow(
    earlier: dict[str, object], later: dict[str, object]
) -> None:
    assert not covers(when(**earlier), when(**later))


def test_shadowed_rule_is_an_error_with_its_line() -> None:
    text = policy_text(
        """\
  - name: code
    when: {task: [code, math]}
    route: big
  - name: hard-code
    when: {task: [code], complexity_at_least: high}
    route: local
"""
        + CATCH_ALL
    )
    error = only_error_at(errors_of(text), "rules[1].when")
    assert "is shadowed by rule 'code'" in error.message
    assert error.line == line_of(text, "when: {task: [code], complexity_at_least: high}")


def test_trivial_conditions_make_a_catch_all() -> None:
    assert matches_everything(when(complexity_at_least="low", sensitivity_at_least="none"))
    assert not matches_everything(when(complexity_at_least="medium"))
    text = policy_text(
        "  - name: all\n    when: {complexity_at_least: low}\n    route: local\n"
        "  - name: never\n    when: {task: [code]}\n    route: big\n"
    )
    assert "after the catch-all rule 'all'" in only_error_at(errors_of(text), "rules[1]").message


VOCABULARY: dict[str, list[object]] = {
    "sensitivity_at_least": ["none", "low", "medium", "high"],
    "complexity_at_least": ["low", "medium", "high"],
    "complexity_at_most": ["low", "medium", "high"],
    "task": [["code"], ["code", "math"], ["qa"]],
    "needs": [["tools"], ["tools", "json"], ["json"]],
    "prompt_tokens": [{"max": 1000}, {"min": 500}, {"min": 100, "max": 2000}],
    "team": [["a"], ["a", "b"]],
    "metadata": [{"env": "prod"}, {"env": ["prod", "dev"]}],
    "requested": ["alias", "target"],
    "any_of": [
        [{"task": ["code"]}, {"team": ["a"]}],
        [{"complexity_at_least": "high"}],
        [{"needs": ["json"]}],
    ],
}


def random_when(rng: random.Random) -> When:
    fields = {k: rng.choice(v) for k, v in VOCABULARY.items() if rng.random() < 0.3}
    return When.model_validate(fields)


def random_facts(rng: random.Random) -> RequestFacts:
    classification = make_classification(
        level=rng.choice(["none", "low", "medium", "high"]),
        tier=rng.choice(["low", "medium", "high"]),
        task=rng.choice(["code", "math", "qa"]),
        prompt_tokens=rng.choice([50, 300, 800, 1500, 5000]),
        tools=rng.random() < 0.5,
        json_mode=rng.random() < 0.5,
    )
    principal = make_principal(
        team=rng.choice(["a", "b", "c"]), metadata={"env": rng.choice(["prod", "dev", "x"])}
    )
    return RequestFacts(classification, principal, "auto", rng.choice(["alias", "target"]))


def test_covers_is_sound_on_random_rules_and_requests() -> None:
    rng = random.Random(42)
    facts = [random_facts(rng) for _ in range(300)]
    flagged = 0
    for _ in range(400):
        earlier, later = random_when(rng), random_when(rng)
        if not covers(earlier, later):
            continue
        flagged += 1
        for fact in facts:
            if not failed_conditions(later, fact):
                assert not failed_conditions(earlier, fact), (earlier, later, fact)
    assert flagged > 20  # the property was really exercised
