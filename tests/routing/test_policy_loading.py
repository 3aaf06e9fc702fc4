"""Loading and validating policies: every error kind carries its path and, for YAML, its line."""

from __future__ import annotations

import json

import pytest

from gateway.routing import Policy, check_policy_text, load_policy

from .builders import (
    CATCH_ALL,
    DEFAULT_POLICY,
    TARGETS,
    errors_of,
    line_of,
    must_load,
    only_error_at,
    policy_text,
)


def test_minimal_policy_loads() -> None:
    policy = must_load(policy_text(CATCH_ALL))
    assert policy.rules[0].route == "local"
    assert policy.targets["big"].effective_price() is not None  # from litellm's bundled map


def test_default_policy_is_valid_without_warnings() -> None:
    policy, problems = check_policy_text(DEFAULT_POLICY.read_text())
    assert isinstance(policy, Policy)
    assert problems == []


def test_unknown_target_in_fallbacks() -> None:
    text = policy_text("""\
  - name: rest
    route: local
    fallbacks: [big, nope]
""")
    error = only_error_at(errors_of(text), "rules[0].fallbacks[1]")
    assert "unknown target 'nope'" in error.message
    assert error.line == line_of(text, "fallbacks: [big, nope]")


def test_unknown_target_in_route_and_candidates() -> None:
    text = policy_text("""\
  - name: a
    when: {task: [code]}
    route: gpt4
  - name: rest
    candidates:
      - local
      - claud
    strategy: cheapest
""")
    problems = errors_of(text)
    assert only_error_at(problems, "rules[0].route").line == line_of(text, "route: gpt4")
    assert only_error_at(problems, "rules[1].candidates[1]").line == line_of(text, "- claud")


def test_rule_after_catch_all_is_unreachable() -> None:
    text = policy_text("""\
  - name: rest
    route: local
  - name: never
    when: {task: [code]}
    route: big
""")
    problems = errors_of(text)
    error = only_error_at(problems, "rules[1]")
    assert "unreachable" in error.message and "'rest'" in error.message
    assert error.line == line_of(text, "- name: never")


def test_rule_shadowed_by_identical_conditions_is_unreachable() -> None:
    text = policy_text("""\
  - name: code
    when: {task: [code], complexity_at_least: medium}
    route: big
  - name: code-again
    when:
      complexity_at_least: medium
      task: [code]
    route: local
  - name: rest
    route: local
""")
    error = only_error_at(errors_of(text), "rules[1].when")
    assert "same conditions as rule 'code'" in error.message
    assert error.line == line_of(text, "when:", 2)


def test_external_fallback_in_sensitive_rule_is_an_error() -> None:
    text = policy_text(
        """\
  - name: sensitive
    when: {sensitivity_at_least: medium}
    route: local
    fallbacks: [big]
"""
        + CATCH_ALL
    )
    error = only_error_at(errors_of(text), "rules[0].fallbacks[0]")
    assert "external" in error.message and "sensitive" in error.message
    assert error.line == line_of(text, "fallbacks: [big]")


def test_external_candidate_in_internal_only_rule_is_an_error() -> None:
    text = policy_text(
        """\
  - name: team-legal
    when: {team: [legal]}
    internal_only: true
    candidates: [local, big]
    strategy: cheapest
"""
        + CATCH_ALL
    )
    error = only_error_at(errors_of(text), "rules[0].candidates[1]")
    assert "internal_only" in error.message


@pytest.mark.parametrize(
    "condition",
    [
        "{sensitive_categories: [secret]}",
        "{sensitive_kinds: [iban]}",
        "{any_of: [{task: [code]}, {sensitivity_at_least: high}]}",
    ],
)
def test_every_sensitive_condition_implies_internal_only(condition: str) -> None:
    text = policy_text(f"  - name: s\n    when: {condition}\n    route: big\n" + CATCH_ALL)
    error = only_error_at(errors_of(text), "rules[0].route")
    assert "external" in error.message
    assert error.line == line_of(text, "route: big")


def test_sensitivity_at_least_none_is_not_a_sensitive_rule() -> None:
    policy = must_load(
        policy_text(
            "  - name: s\n    when: {sensitivity_at_least: none, task: [qa]}\n    route: big\n" + CATCH_ALL
        )
    )
    assert not policy.rules[0].keeps_data_internal


def test_bad_regex_in_marker() -> None:
    text = policy_text(
        CATCH_ALL,
        head="""\
confidential_markers:
  - name: falcon
    terms: [falcon]
    patterns:
      - 'FAL-\\d+'
      - '(unclosed'
""",
    )
    error = only_error_at(errors_of(text), "confidential_markers[0].patterns[1]")
    assert "bad regular expression" in error.message
    assert error.line == line_of(text, "(unclosed")


def test_marker_pattern_matching_everything_and_empty_marker() -> None:
    text = policy_text(
        CATCH_ALL,
        head="confidential_markers:\n  - name: all\n    patterns: ['.*']\n  - name: nothing\n",
    )
    problems = errors_of(text)
    assert "empty string" in only_error_at(problems, "confidential_markers[0].patterns[0]").message
    assert "neither terms nor patterns" in only_error_at(problems, "confidential_markers[1]").message


@pytest.mark.parametrize(
    ("old", "new", "path", "words"),
    [
        ("context_window: 128000", "context_window: big", "targets.big.context_window", "integer"),
        ("provider: openai", "provider: azure", "targets.big.provider", "openai"),
        ("internal: false", "internal: maybe", "targets.big.internal", "boolean"),
        (
            "capabilities: [tools, json, vision]",
            "capabilities: [telepathy]",
            "targets.big.capabilities[0]",
            "tools",
        ),
        ("context_window: 128000", "context_window: -5", "targets.big.context_window", "greater than 0"),
    ],
)
def test_wrong_types_in_targets(old: str, new: str, path: str, words: str) -> None:
    text = policy_text(CATCH_ALL).replace(old, new, 1)
    error = only_error_at(errors_of(text), path)
    assert words in error.message
    assert error.line == line_of(text, new)


def test_wrong_types_in_rules() -> None:
    text = policy_text("""\
  - name: r
    when:
      complexity_at_least: extreme
      prompt_tokens: {min: 10, max: 2}
      task: code
    route: local
""")
    problems = errors_of(text)
    assert only_error_at(problems, "rules[0].when.complexity_at_least").line == line_of(text, "extreme")
    assert "greater than max" in only_error_at(problems, "rules[0].when.prompt_tokens").message
    assert only_error_at(problems, "rules[0].when.task").line == line_of(text, "task: code")


def test_typo_in_field_name_suggests_the_right_one() -> None:
    text = policy_text("""\
  - name: rest
    route: local
    fallback: [big]
""")
    error = only_error_at(errors_of(text), "rules[0].fallback")
    assert error.message == "unknown field 'fallback' (did you mean 'fallbacks'?)"
    assert error.line == line_of(text, "fallback: [big]")


def test_a_field_of_another_part_is_not_suggested_as_its_own_correction() -> None:
    text = policy_text("""\
  - name: rest
    targets: [local]
""")
    error = only_error_at(errors_of(text), "rules[0].targets")
    assert error.message == "unknown field 'targets' here ('targets' belongs to another part of the policy)"
    assert error.line == line_of(text, "targets: [local]")


def test_missing_required_fields_point_at_their_parent() -> None:
    text = policy_text(CATCH_ALL).replace("    context_window: 32768\n", "")
    error = only_error_at(errors_of(text), "targets.local.context_window")
    assert error.message == "missing required field 'context_window'"
    assert error.line == line_of(text, "  local:")


def test_duplicate_rule_names() -> None:
    text = policy_text("""\
  - name: same
    when: {task: [code]}
    route: big
  - name: same
    route: local
""")
    error = only_error_at(errors_of(text), "rules[1].name")
    assert "duplicate rule name 'same'" in error.message
    assert error.line == line_of(text, "- name: same", 2)


def test_duplicate_target_key_in_yaml_is_not_silently_merged() -> None:
    text = TARGETS + "  big:\n    provider: anthropic\n" + "rules:\n" + CATCH_ALL
    error = only_error_at(errors_of(text), "targets.big")
    assert "duplicate key 'big'" in error.message and "line 3" in error.message
    assert error.line == line_of(text, "  big:", 2)


def test_duplicate_aliases_markers_and_alias_shadowing_a_target() -> None:
    head = (
        "aliases: [auto, auto, local]\n"
        "confidential_markers:\n  - {name: m, terms: [x]}\n  - {name: m, terms: [y]}\n"
    )
    problems = errors_of(policy_text(CATCH_ALL, head=head))
    assert "duplicate alias" in only_error_at(problems, "aliases[1]").message
    assert "also a target name" in only_error_at(problems, "aliases[2]").message
    assert "duplicate marker name" in only_error_at(problems, "confidential_markers[1].name").message


def test_empty_candidates() -> None:
    text = policy_text("  - name: rest\n    candidates: []\n    strategy: cheapest\n")
    error = only_error_at(errors_of(text), "rules[0].candidates")
    assert "empty candidates" in error.message
    assert error.line == line_of(text, "candidates: []")


def test_no_catch_all_at_the_end() -> None:
    text = policy_text("  - name: only-code\n    when: {task: [code]}\n    route: big\n")
    error = only_error_at(errors_of(text), "rules[0]")
    assert "no catch-all rule" in error.message
    assert error.line == line_of(text, "- name: only-code")


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("route: local\n    candidates: [big]\n    strategy: cheapest", "exactly one action"),
        ("description: nothing to do", "block (found: none)"),
        ("candidates: [local]", "candidates need a strategy"),
        ("route: local\n    strategy: fastest", "strategy only applies to candidates"),
        ("candidates: [local]\n    strategy: weighted", "weights are required"),
        ("block: {message: nope}\n    fallbacks: [local]", "a block rule has no fallbacks"),
        ("block: {message: nope, status: 418}", "403"),
    ],
)
def test_rule_action_shape(rule: str, words: str) -> None:
    text = policy_text(f"  - name: rest\n    {rule}\n")
    problems = errors_of(text)
    assert any(words in p.message and p.path.startswith("rules[0]") for p in problems), problems
    assert all(p.line is not None and p.line >= line_of(text, "- name: rest") for p in problems)


def test_weights_must_cover_candidates_exactly() -> None:
    text = policy_text("""\
  - name: rest
    candidates: [local, big]
    strategy: weighted
    weights: {local: 3, ghost: 1}
""")
    problems = errors_of(text)
    assert "not a candidate" in only_error_at(problems, "rules[0].weights.ghost").message
    assert "'big' has no weight" in only_error_at(problems, "rules[0].weights").message


def test_requested_target_needs_its_condition() -> None:
    text = policy_text("  - name: explicit\n    route: $requested\n" + CATCH_ALL)
    error = only_error_at(errors_of(text), "rules[0].route")
    assert "requested: target" in error.message
    text = policy_text("  - name: rest\n    route: local\n    fallbacks: [$requested]\n")
    assert "only be used as `route`" in only_error_at(errors_of(text), "rules[0].fallbacks[0]").message


def test_internal_target_needs_a_price_and_unknown_external_models_too() -> None:
    text = policy_text(CATCH_ALL).replace(
        "    price: {input_per_million: 0.1, output_per_million: 0.2}\n", ""
    )
    text = text.replace("model: gpt-4o", "model: house-model-x")
    problems = errors_of(text)
    assert "internal target needs an explicit price" in only_error_at(problems, "targets.local.price").message
    error = only_error_at(problems, "targets.big.price")
    assert "house-model-x" in error.message
    assert error.line == line_of(text, "  big:")  # the missing key points at its target


def test_bad_names_and_empty_condition_lists() -> None:
    text = policy_text("  - name: 'has space'\n    when: {task: []}\n    route: local\n" + CATCH_ALL)
    problems = errors_of(text)
    assert only_error_at(problems, "rules[0].name")
    assert "empty list never matches" in only_error_at(problems, "rules[0].when.task").message


def test_invalid_yaml_reports_its_line() -> None:
    text = policy_text(CATCH_ALL) + "  - name: [unclosed\n"
    (error,) = errors_of(text)
    assert error.message.startswith("invalid YAML")
    assert error.line == line_of(text, "[unclosed") + 1  # PyYAML notices at the end of input


@pytest.mark.parametrize(
    ("text", "words"), [("", "empty"), ("- a\n- b\n", "dictionary"), ("name: x\n", "missing")]
)
def test_documents_that_are_not_policies(text: str, words: str) -> None:
    assert any(words in p.message for p in errors_of(text))


def test_warnings_do_not_block_loading() -> None:
    text = (
        TARGETS
        + "  spare:\n    provider: anthropic\n    model: claude-sonnet-4-5\n    context_window: 200000\n"
    )
    text += "    internal: false\nrules:\n  - name: rest\n    route: big\n    fallbacks: [local]\n"
    policy, problems = check_policy_text(text)
    assert isinstance(policy, Policy)
    assert {p.severity for p in problems} == {"warning"}
    messages = " ".join(p.message for p in problems)
    assert "'spare' is not used" in messages
    assert "sensitive requests can reach rule 'rest'" in messages


def test_error_string_names_line_and_path() -> None:
    text = policy_text("  - name: rest\n    route: nope\n")
    error = only_error_at(errors_of(text), "rules[0].route")
    assert str(error).startswith(
        f"error: line {line_of(text, 'route: nope')}: rules[0].route: unknown target"
    )


def test_odd_target_names_are_quoted_in_paths() -> None:
    text = (
        policy_text(CATCH_ALL)
        .replace("  local:", "  llama-3.1-8b:")
        .replace("route: local", "route: llama-3.1-8b")
    )
    text = text.replace("context_window: 32768", "context_window: lots")
    assert only_error_at(errors_of(text), 'targets["llama-3.1-8b"].context_window')


def test_json_policy_loads_and_reports_lines() -> None:
    data = {
        "name": "json-policy",
        "targets": {
            "local": {
                "provider": "vllm",
                "model": "m",
                "context_window": 8192,
                "internal": True,
                "price": {"input_per_million": 0.1, "output_per_million": 0.1},
            }
        },
        "rules": [{"name": "rest", "route": "local"}],
    }
    assert must_load(json.dumps(data), fmt="json").name == "json-policy"
    data["rules"][0]["fallbacks"] = ["ghost"]  # type: ignore[index]
    text = json.dumps(data, indent=2)
    error = only_error_at(errors_of(text, fmt="json"), "rules[0].fallbacks[0]")
    assert error.line == line_of(text, '"ghost"')


def test_json_syntax_errors_and_duplicate_keys() -> None:
    (error,) = errors_of('{"name": "x",\n "targets": }', fmt="json")
    assert error.message.startswith("invalid JSON") and error.line == 2
    (dup,) = errors_of('{"name": "x",\n "name": "y"}', fmt="json")
    assert "duplicate key 'name'" in dup.message and dup.line == 2


def test_unknown_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="fmt"):
        load_policy("name: x", fmt="toml")  # type: ignore[arg-type]


def test_alias_bomb_is_refused_quickly() -> None:
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        bomb.append(
            f"{'abcdefghij'[i]}: &{'abcdefghij'[i]} [" + ", ".join([f"*{'abcdefghij'[i - 1]}"] * 10) + "]"
        )
    (error,) = errors_of("\n".join(bomb) + "\n")
    assert "too large or nested too deeply" in error.message


def test_self_referencing_anchor_is_refused() -> None:
    (error,) = errors_of("name: &loop\n  - *loop\n")
    assert "too large or nested too deeply" in error.message


def test_deeply_nested_json_is_refused() -> None:
    nested: dict[str, object] = {"task": ["code"]}
    for _ in range(60):
        nested = {"any_of": [nested]}
    data = {"name": "deep", "targets": {}, "rules": [{"name": "r", "when": nested, "route": "x"}]}
    problems = errors_of(json.dumps(data), fmt="json")
    assert any("too large or nested too deeply" in p.message for p in problems)
