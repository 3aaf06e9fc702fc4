"""Pure helpers for the admin API: canonical YAML, diffs, explanations; and the price-map loader."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.routing import Policy, TargetStats, diff_policies, explain, load_policy, policy_to_yaml
from gateway.routing.prices import default_price, price_map_path

from .builders import DEFAULT_POLICY, REPO, make_classification, make_principal


def test_policy_to_yaml_round_trips(default_policy: Policy) -> None:
    text = policy_to_yaml(default_policy)
    assert load_policy(text) == default_policy
    assert "capabilities: [tools, json, code]" in text
    assert "internal: false" in text  # always explicit, even though it is not a default


def test_policy_to_yaml_keeps_litellm_prices_out(default_policy: Policy) -> None:
    text = policy_to_yaml(default_policy)
    assert text.count("price:") == 1  # only llama's, which the policy sets itself


def test_diff_policies_shows_the_changed_lines() -> None:
    old = DEFAULT_POLICY.read_text()
    new = old.replace("context_window: 32768", "context_window: 65536")
    diff = diff_policies(old, new, old_label="v1", new_label="v2")
    assert diff.startswith("--- v1\n+++ v2\n")
    assert "-    context_window: 32768\n" in diff and "+    context_window: 65536\n" in diff
    assert diff_policies(old, old) == ""


def test_explain_is_json_serialisable_and_complete(default_policy: Policy) -> None:
    classification = make_classification(level="medium", tier="high", task="code")
    result = explain(
        default_policy,
        classification,
        principal=make_principal(),
        requested_model="gpt-4o",
        target_stats={"gpt-4o": TargetStats(300.0, circuit="half_open")},
    )
    encoded = json.loads(json.dumps(result))
    assert encoded["classification"]["sensitivity"]["level"] == "medium"
    assert encoded["classification"]["sensitivity"]["findings"][0]["kind"] == "email"
    assert encoded["target"] == "llama-3.1-8b" and encoded["fallbacks"] == []
    assert encoded["rules_considered"] == [
        {"index": 0, "rule": "sensitive-stays-internal", "matched": True, "why_not": []}
    ]
    assert encoded["sensitive"] is True and encoded["blocked"] is False
    assert encoded["target_stats"]["gpt-4o"]["circuit"] == "half_open"
    # records are objects with their field names, whatever their Python type (dataclass or NamedTuple)
    needs = classification.needs
    assert encoded["classification"]["needs"] == {
        "prompt_tokens": needs.prompt_tokens,
        "expected_output_tokens": needs.expected_output_tokens,
        "tools": needs.tools,
        "json_mode": needs.json_mode,
        "images": needs.images,
        "long_context": needs.long_context,
    }
    assert encoded["policy"] == {"name": "default", "version": None}


def test_explain_of_a_refusal(default_policy: Policy) -> None:
    result = explain(
        default_policy,
        make_classification(),
        principal=make_principal(),
        requested_model="nope",
        target_stats={},
    )
    assert result["blocked"] is True and result["target"] is None
    assert result["refusal"]["status"] == 404


def test_price_map_is_read_from_the_installed_litellm_without_importing_it() -> None:
    path = price_map_path()
    assert path is not None and path.name == "model_prices_and_context_window_backup.json"
    gpt = default_price("gpt-4o")
    assert gpt is not None and gpt.input_per_million > 0 and gpt.output_per_million > gpt.input_per_million
    assert default_price("claude-sonnet-4-5", "anthropic") is not None
    assert default_price("certainly-not-a-model") is None
    # In a fresh interpreter: other tests in this process may have imported litellm for their own reasons.
    probe = (
        "import sys; from gateway.routing.prices import default_price; "
        "assert default_price('gpt-4o') is not None; assert 'litellm' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, cwd=REPO, timeout=60)


POLICY_FILES = [DEFAULT_POLICY, *sorted((REPO / "router_policies" / "examples").glob("*.yaml"))]


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_every_shipped_policy_round_trips_through_yaml_and_json(path: Path) -> None:
    policy = load_policy(path.read_text())
    assert isinstance(policy, Policy)
    assert load_policy(policy_to_yaml(policy)) == policy
    assert load_policy(policy.model_dump_json(), fmt="json") == policy
