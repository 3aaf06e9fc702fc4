"""Checks a structurally valid policy for mistakes the schema cannot see: references, reachability, leaks."""

from __future__ import annotations

import re
from collections.abc import Iterator

from gateway.routing.policy import REQUESTED_TARGET, Policy, Rule, When
from gateway.routing.problems import Loc
from gateway.routing.shadowing import covers, matches_everything

# (location, message, severity)
Finding = tuple[Loc, str, str]


def check_policy(policy: Policy) -> list[Finding]:
    """Every semantic error and warning in `policy`, in document order."""
    findings: list[Finding] = []
    findings += _check_targets(policy)
    findings += _check_markers(policy)
    findings += _check_aliases(policy)
    for index, rule in enumerate(policy.rules):
        findings += _check_rule_targets(policy, index, rule)
    findings += _check_rule_names(policy)
    findings += _check_reachability(policy)
    findings += _check_sensitive_exposure(policy)
    findings += _check_unused_targets(policy)
    return findings


def _check_targets(policy: Policy) -> Iterator[Finding]:
    for name, target in policy.targets.items():
        if target.internal and target.price is None:
            yield (
                ("targets", name, "price"),
                "an internal target needs an explicit price (input_per_million and output_per_million, or "
                "gpu_hours): "
                "litellm's list prices are for hosted APIs, not our own GPUs",
                "error",
            )
        elif target.effective_price() is None:
            yield (
                ("targets", name, "price"),
                f"no list price is known for model {target.model!r}; set price explicitly",
                "error",
            )
    if not any(t.internal for t in policy.targets.values()):
        yield (("targets",), "no internal target: every sensitive request will be blocked", "warning")


def _check_markers(policy: Policy) -> Iterator[Finding]:
    seen: set[str] = set()
    for index, marker in enumerate(policy.confidential_markers):
        loc: Loc = ("confidential_markers", index)
        if marker.name in seen:
            yield ((*loc, "name"), f"duplicate marker name {marker.name!r}", "error")
        seen.add(marker.name)
        if not marker.terms and not marker.patterns:
            yield (loc, f"marker {marker.name!r} has neither terms nor patterns", "error")
        for term_index, term in enumerate(marker.terms):
            if not term.strip():
                yield ((*loc, "terms", term_index), "empty term", "error")
        for pattern_index, pattern in enumerate(marker.patterns):
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                yield (
                    (*loc, "patterns", pattern_index),
                    f"bad regular expression {pattern!r}: {exc}",
                    "error",
                )
                continue
            if compiled.match(""):
                yield (
                    (*loc, "patterns", pattern_index),
                    f"pattern {pattern!r} matches the empty string, so it would mark every prompt",
                    "error",
                )


def _check_aliases(policy: Policy) -> Iterator[Finding]:
    seen: set[str] = set()
    for index, alias in enumerate(policy.aliases):
        if alias in seen:
            yield (("aliases", index), f"duplicate alias {alias!r}", "error")
        seen.add(alias)
        if alias in policy.targets:
            yield (("aliases", index), f"alias {alias!r} is also a target name", "error")


def _check_rule_targets(policy: Policy, index: int, rule: Rule) -> Iterator[Finding]:
    loc: Loc = ("rules", index)
    listed: set[str] = set()
    for where, name in rule.named_targets():
        path = (*loc, *where)
        if name == REQUESTED_TARGET:
            if where != ("route",):
                yield (path, f"{REQUESTED_TARGET} may only be used as `route`", "error")
            elif rule.when.requested != "target":
                yield (
                    path,
                    f"route {REQUESTED_TARGET} needs the condition `requested: target` "
                    "(the caller must have named a target)",
                    "error",
                )
            continue
        target = policy.targets.get(name)
        if target is None:
            known = ", ".join(sorted(policy.targets))
            yield (path, f"unknown target {name!r} (known: {known})", "error")
            continue
        if name in listed:
            severity = "error" if where[0] == "candidates" else "warning"
            yield (path, f"target {name!r} is listed twice in this rule", severity)
        listed.add(name)
        if rule.keeps_data_internal and not target.internal:
            why = (
                "is internal_only"
                if rule.internal_only
                else "matches sensitive data (so it is internal-only)"
            )
            yield (path, f"target {name!r} is external, but rule {rule.name!r} {why}", "error")
    if rule.candidates is not None and not rule.candidates:
        yield ((*loc, "candidates"), "empty candidates: list at least one target", "error")
    if rule.weights is not None:
        for name, weight in rule.weights.items():
            if name not in (rule.candidates or ()):
                yield ((*loc, "weights", name), f"weight for {name!r}, which is not a candidate", "error")
            elif weight <= 0:
                yield ((*loc, "weights", name), f"weight must be positive (got {weight})", "error")
        for name in rule.candidates or ():
            if name not in rule.weights:
                yield ((*loc, "weights"), f"candidate {name!r} has no weight", "error")


def _check_rule_names(policy: Policy) -> Iterator[Finding]:
    first_seen: dict[str, int] = {}
    for index, rule in enumerate(policy.rules):
        if rule.name in first_seen:
            yield (
                ("rules", index, "name"),
                f"duplicate rule name {rule.name!r} (also rules[{first_seen[rule.name]}])",
                "error",
            )
        else:
            first_seen[rule.name] = index


def _check_reachability(policy: Policy) -> Iterator[Finding]:
    catch_all: int | None = None
    for index, rule in enumerate(policy.rules):
        if catch_all is not None:
            yield (
                ("rules", index),
                f"unreachable: rule {rule.name!r} comes after the catch-all rule "
                f"{policy.rules[catch_all].name!r} (rules[{catch_all}]), which matches every request",
                "error",
            )
            continue
        shadow = next((i for i in range(index) if covers(policy.rules[i].when, rule.when)), None)
        if shadow is not None:
            how = "has the same conditions as" if policy.rules[shadow].when == rule.when else "is shadowed by"
            yield (
                ("rules", index, "when"),
                f"unreachable: rule {rule.name!r} {how} rule {policy.rules[shadow].name!r} "
                f"(rules[{shadow}]), which matches every request this one does and comes first",
                "error",
            )
        if matches_everything(rule.when):
            catch_all = index
    if catch_all is None:
        last = len(policy.rules) - 1
        yield (
            ("rules", last),
            "no catch-all rule at the end: add a last rule without `when` so every request gets a decision",
            "error",
        )


def _catches_all_sensitive(rule: Rule) -> bool:
    return covers(rule.when, When(sensitivity_at_least="low"))


def _check_sensitive_exposure(policy: Policy) -> Iterator[Finding]:
    # Not an error: decide() filters external targets from sensitive requests anyway; this says so early.
    for index, rule in enumerate(policy.rules):
        external = [
            n for _, n in rule.named_targets() if n in policy.targets and not policy.targets[n].internal
        ]
        if external and not rule.keeps_data_internal:
            yield (
                ("rules", index),
                f"sensitive requests can reach rule {rule.name!r}; its external targets "
                f"({', '.join(external)}) will be dropped for them. Put a rule with "
                "`when: {sensitivity_at_least: low}` before it",
                "warning",
            )
        if _catches_all_sensitive(rule):
            return  # no sensitive request gets past this rule


def _check_unused_targets(policy: Policy) -> Iterator[Finding]:
    used = {n for rule in policy.rules for _, n in rule.named_targets()}
    routes_requested = REQUESTED_TARGET in used
    for name in policy.targets:
        if name not in used and not routes_requested:
            yield (("targets", name), f"target {name!r} is not used by any rule", "warning")
