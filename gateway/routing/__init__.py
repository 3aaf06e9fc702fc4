"""Policy routing: load and validate policies, and decide where each request goes (pure functions)."""

from gateway.routing.admin import decision_to_dict, diff_policies, explain, policy_to_yaml
from gateway.routing.decide import Decision, Refusal, RuleTrace, decide
from gateway.routing.loading import check_policy_text, load_policy, load_policy_file
from gateway.routing.policy import Block, ConfidentialMarker, Policy, Price, Rule, Settings, Target, When
from gateway.routing.problems import PolicyError
from gateway.routing.stats import TargetStats

__all__ = [
    "Block",
    "ConfidentialMarker",
    "Decision",
    "Policy",
    "PolicyError",
    "Price",
    "Refusal",
    "Rule",
    "RuleTrace",
    "Settings",
    "Target",
    "TargetStats",
    "When",
    "check_policy_text",
    "decide",
    "decision_to_dict",
    "diff_policies",
    "explain",
    "load_policy",
    "load_policy_file",
    "policy_to_yaml",
]
