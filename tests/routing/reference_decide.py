"""A frozen copy of decide() as it was before the fast rewrite (commit 9fa06b0): gateway/routing/decide.py,
conditions.py, strategies.py and health_rank from stats.py, joined into one module. The equivalence test
compares the live decide() with it.

Do not edit it to follow later changes: it defines "the same decision". Only the imports between those
files were replaced by this module's own names.
"""

# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from gateway.auth.principal import Principal
from gateway.classify.types import Classification, Needs
from gateway.errors import GatewayError
from gateway.routing.policy import (
    LEVEL_RANK,
    REQUESTED_TARGET,
    TIER_RANK,
    Policy,
    Rule,
    Strategy,
    Target,
    When,
)
from gateway.routing.stats import TargetStats


# ---- gateway/routing/stats.py (health_rank) ----


def health_rank(stats: TargetStats | None, *, unhealthy_error_rate: float) -> int:
    """0 healthy, 1 doubtful (half-open or erring often), 2 unhealthy (circuit open). Unknown is healthy."""
    if stats is None:
        return 0
    if stats.circuit == "open":
        return 2
    if stats.circuit == "half_open" or stats.error_rate >= unhealthy_error_rate:
        return 1
    return 0


# ---- gateway/routing/strategies.py ----

_NEED_CAPABILITY = (
    ("tools", "tools"),
    ("json_mode", "json"),
    ("images", "vision"),
    ("long_context", "long_context"),
)


def missing_capability(target: Target, needs: Needs) -> str | None:
    """Why `target` cannot serve a request with these needs, or None if it can."""
    lacking = [
        cap for flag, cap in _NEED_CAPABILITY if getattr(needs, flag) and cap not in target.capabilities
    ]
    if lacking:
        return f"lacks {', '.join(lacking)}"
    total = needs.prompt_tokens + needs.expected_output_tokens
    if total > target.context_window:
        return f"context window {target.context_window} < {total} tokens needed"
    return None


def estimated_cost_usd(target: Target, needs: Needs) -> float:
    """Expected cost of this request on `target`; unknown prices sort last."""
    price = target.effective_price()
    if price is None:
        return math.inf
    return (
        needs.prompt_tokens * price.input_per_million
        + needs.expected_output_tokens * price.output_per_million
    ) / 1_000_000


def order_by_strategy(
    names: Sequence[str],
    *,
    strategy: Strategy,
    policy: Policy,
    needs: Needs,
    target_stats: Mapping[str, TargetStats],
    weights: Mapping[str, float] | None = None,
    rng: random.Random | None = None,
) -> list[str]:
    """Candidates best first; sorts are stable, so ties keep the policy's order."""
    if strategy == "cheapest":
        return sorted(names, key=lambda n: estimated_cost_usd(policy.targets[n], needs))
    if strategy == "fastest":
        return sorted(names, key=lambda n: _latency_key(target_stats.get(n)))
    if strategy == "highest_capability":
        return sorted(
            names,
            key=lambda n: (-len(set(policy.targets[n].capabilities)), -policy.targets[n].context_window),
        )
    return _weighted_order(names, weights or {}, rng)


def _latency_key(stats: TargetStats | None) -> tuple[bool, float]:
    # Unmeasured targets go after measured ones: a known latency beats a guess.
    if stats is None or stats.p50_latency_ms is None or math.isnan(stats.p50_latency_ms):
        return (True, 0.0)
    return (False, stats.p50_latency_ms)


def _weighted_order(
    names: Sequence[str], weights: Mapping[str, float], rng: random.Random | None
) -> list[str]:
    """One weighted draw picks the first; the rest follow by weight, heaviest first."""
    pool = [n for n in names if weights.get(n, 0) > 0]
    if not pool:
        return list(names)
    total = sum(weights[n] for n in pool)
    point = (rng.random() if rng is not None else random.random()) * total
    first = pool[-1]
    for name in pool:
        point -= weights[name]
        if point < 0:
            first = name
            break
    rest = sorted((n for n in names if n != first), key=lambda n: -weights.get(n, 0))
    return [first, *rest]


# ---- gateway/routing/conditions.py ----

RequestedKind = Literal["alias", "target", "unknown"]

_NEED_FLAGS = {"tools": "tools", "json": "json_mode", "images": "images", "long_context": "long_context"}


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """Everything a condition may look at."""

    classification: Classification
    principal: Principal
    requested_model: str
    requested_kind: RequestedKind


def _listed(label: str, value: str, allowed: tuple[str, ...]) -> str | None:
    if value in allowed:
        return None
    return f"{label} {value!r} not in {list(allowed)}"


def failed_conditions(when: When, facts: RequestFacts) -> list[str]:
    """The conditions of `when` that do not hold for `facts`; an empty list means the rule matches."""
    c = facts.classification
    failed: list[str] = []
    if when.sensitivity_at_least is not None:
        level = c.sensitivity.level
        # A level the classifier should never send counts as the highest: fail safe, not open.
        if LEVEL_RANK.get(level, 3) < LEVEL_RANK[when.sensitivity_at_least]:
            failed.append(f"sensitivity {level!r} < {when.sensitivity_at_least!r}")
    if when.sensitive_categories is not None:
        found = c.sensitivity.categories()
        if not found.intersection(when.sensitive_categories):
            failed.append(
                f"sensitive categories {sorted(found)} share none of {list(when.sensitive_categories)}"
            )
    if when.sensitive_kinds is not None:
        kinds = c.sensitivity.kinds()
        if not kinds.intersection(when.sensitive_kinds):
            failed.append(f"sensitive kinds {sorted(kinds)} share none of {list(when.sensitive_kinds)}")
    if when.complexity_at_least is not None:
        if TIER_RANK.get(c.complexity.tier, 2) < TIER_RANK[when.complexity_at_least]:
            failed.append(f"complexity {c.complexity.tier!r} < {when.complexity_at_least!r}")
    if when.complexity_at_most is not None:
        if TIER_RANK.get(c.complexity.tier, 2) > TIER_RANK[when.complexity_at_most]:
            failed.append(f"complexity {c.complexity.tier!r} > {when.complexity_at_most!r}")
    if when.complexity_score is not None and not when.complexity_score.holds(c.complexity.score):
        failed.append(f"complexity score {c.complexity.score:g} outside {when.complexity_score.describe()}")
    if when.task is not None and (reason := _listed("task", c.task, when.task)):
        failed.append(reason)
    if when.domain is not None and (reason := _listed("domain", c.domain, when.domain)):
        failed.append(reason)
    if when.needs is not None:
        missing = [n for n in when.needs if not getattr(c.needs_bound(), _NEED_FLAGS[n])]
        if missing:
            failed.append(f"request does not need {missing}")
    if when.prompt_tokens is not None:
        prompt_tokens = c.needs_bound().prompt_tokens  # exact (only the output estimate may be pending)
        if not when.prompt_tokens.holds(prompt_tokens):
            failed.append(f"prompt tokens {prompt_tokens} outside {when.prompt_tokens.describe()}")
    failed.extend(_caller_failures(when, facts))
    if when.any_of is not None:
        branches = [failed_conditions(branch, facts) for branch in when.any_of]
        if all(branches):
            why = "; ".join(f"[{i}] " + ", ".join(b) for i, b in enumerate(branches))
            failed.append(f"no any_of branch holds ({why})")
    return failed


def _caller_failures(when: When, facts: RequestFacts) -> list[str]:
    p = facts.principal
    failed: list[str] = []
    if when.key_id is not None and (reason := _listed("key id", p.key_id, when.key_id)):
        failed.append(reason)
    if when.key_name is not None and (reason := _listed("key name", p.name, when.key_name)):
        failed.append(reason)
    if when.team is not None and (reason := _listed("team", p.team, when.team)):
        failed.append(reason)
    if when.metadata is not None:
        for key, expected in when.metadata.items():
            allowed = expected if isinstance(expected, list | tuple) else [expected]
            if key not in p.metadata:
                failed.append(f"key metadata has no {key!r}")
            elif p.metadata[key] not in allowed:
                failed.append(f"key metadata {key}={p.metadata[key]!r} not in {list(allowed)}")
    if when.model is not None and (reason := _listed("requested model", facts.requested_model, when.model)):
        failed.append(reason)
    if when.requested is not None and facts.requested_kind != when.requested:
        failed.append(f"requested model {facts.requested_model!r} is {_kind_phrase(facts.requested_kind)}")
    return failed


def _kind_phrase(kind: RequestedKind) -> str:
    return {"alias": "an alias", "target": "a target name", "unknown": "unknown to this policy"}[kind]


# ---- gateway/routing/decide.py ----


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """One rule considered: whether it matched and, if not, which conditions failed."""

    index: int
    rule: str
    matched: bool
    failed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the request is refused, as the HTTP error the caller will get."""

    status: int
    message: str
    code: str

    def to_error(self) -> GatewayError:
        return GatewayError(self.status, self.message, code=self.code, param="model")


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a request goes (target, then fallbacks in order), or why it is refused; with the full trace."""

    target: str | None
    fallbacks: tuple[str, ...]
    rule: str | None
    policy_name: str
    policy_version: str | None
    requested_model: str
    sensitive: bool
    trace: tuple[RuleTrace, ...]
    steps: tuple[str, ...]
    refusal: Refusal | None = None

    @property
    def blocked(self) -> bool:
        return self.refusal is not None

    @property
    def chain(self) -> tuple[str, ...]:
        return ((self.target,) if self.target else ()) + self.fallbacks


@dataclass
class _Dropped:
    """Targets taken out of a chain, by reason, for the refusal message when nothing is left."""

    sensitive: list[str] = field(default_factory=list)
    not_allowed: list[str] = field(default_factory=list)
    incapable: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Request:
    """The request as the rules see it: the model name they match on and the target it names, if any."""

    model: str
    kind: RequestedKind
    named_target: str | None


def decide(
    policy: Policy,
    classification: Classification,
    *,
    principal: Principal,
    requested_model: str,
    target_stats: Mapping[str, TargetStats],
    rng: random.Random | None = None,
) -> Decision:
    """Apply the first matching rule, then the guards: capability, sensitive data, allowed models."""
    steps: list[str] = []

    def result(
        rule: Rule | None = None,
        trace: Sequence[RuleTrace] = (),
        *,
        chain: Sequence[str] = (),
        refusal: Refusal | None = None,
    ) -> Decision:
        return Decision(
            target=chain[0] if chain else None,
            fallbacks=tuple(chain[1:]),
            rule=rule.name if rule else None,
            policy_name=policy.name,
            policy_version=policy.version,
            requested_model=requested_model,
            sensitive=classification.sensitivity.is_sensitive or bool(rule and rule.keeps_data_internal),
            trace=tuple(trace),
            steps=tuple(steps),
            refusal=refusal,
        )

    request = _interpret_requested_model(policy, classification, requested_model, steps)
    if isinstance(request, Refusal):
        return result(refusal=request)

    matched, trace = _first_matching_rule(
        policy, RequestFacts(classification, principal, request.model, request.kind), request
    )
    if matched is None:
        message = f"No rule of policy {policy.name!r} matches this request."
        return result(trace=trace, refusal=Refusal(500, message, "no_rule_matched"))
    if matched.block is not None:
        steps.append(f"rule {matched.name!r} blocks the request")
        return result(
            matched, trace, refusal=Refusal(matched.block.status, matched.block.message, "blocked_by_policy")
        )

    internal_only = classification.sensitivity.is_sensitive or matched.keeps_data_internal
    dropped = _Dropped()
    chain = _build_chain(
        policy,
        matched,
        request,
        classification=classification,
        principal=principal,
        target_stats=target_stats,
        internal_only=internal_only,
        rng=rng,
        dropped=dropped,
        steps=steps,
    )
    if internal_only:
        # The last word, whatever the rule said: sensitive data never reaches an external target.
        chain = [n for n in chain if policy.targets[n].internal]
    if not chain:
        return result(
            matched, trace, refusal=_empty_chain_refusal(dropped, classification, internal_only=internal_only)
        )
    return result(matched, trace, chain=chain)


def _interpret_requested_model(
    policy: Policy, classification: Classification, requested_model: str, steps: list[str]
) -> _Request | Refusal:
    """Alias, target or unknown; and what an explicit external model means for a sensitive request."""
    kind, named_target = _requested(policy, requested_model)
    if kind == "unknown" and not _mentioned_by_rules(policy, requested_model):
        offered = ", ".join([*policy.aliases, *policy.targets])
        message = f"The model {requested_model!r} is not offered here. Choose one of: {offered}."
        return Refusal(404, message, "model_not_found")
    explicit_external = named_target is not None and not policy.targets[named_target].internal
    if not (explicit_external and classification.sensitivity.is_sensitive):
        return _Request(requested_model, kind, named_target)
    if policy.settings.explicit_external_sensitive == "refuse":
        steps.append(f"explicit external model {requested_model!r} refused: sensitive data")
        message = (
            f"The request contains sensitive data ({_describe_findings(classification)}), so it may not be "
            f"sent to the external model {requested_model!r}. Use an internal model or the alias "
            f"{(policy.aliases or ('auto',))[0]!r}."
        )
        return Refusal(403, message, "sensitive_data_external_model")
    rerouted = policy.aliases[0] if policy.aliases else requested_model
    steps.append(f"explicit external model {requested_model!r} with sensitive data: rerouted as {rerouted!r}")
    return _Request(rerouted, "alias", None)


def _first_matching_rule(
    policy: Policy, facts: RequestFacts, request: _Request
) -> tuple[Rule | None, list[RuleTrace]]:
    trace: list[RuleTrace] = []
    for index, rule in enumerate(policy.rules):
        failed = failed_conditions(rule.when, facts)
        if not failed and rule.route == REQUESTED_TARGET and request.named_target is None:
            failed = [f"requested model {request.model!r} names no target"]
        trace.append(RuleTrace(index, rule.name, not failed, tuple(failed)))
        if not failed:
            return rule, trace
    return None, trace


def _build_chain(
    policy: Policy,
    rule: Rule,
    request: _Request,
    *,
    classification: Classification,
    principal: Principal,
    target_stats: Mapping[str, TargetStats],
    internal_only: bool,
    rng: random.Random | None,
    dropped: _Dropped,
    steps: list[str],
) -> list[str]:
    """The rule's targets in order, without those that may not or cannot serve; healthy ones first."""

    def usable(name: str) -> bool:
        target = policy.targets.get(name)
        if target is None:
            steps.append(f"{name}: dropped, not a target of this policy")
            return False
        if internal_only and not target.internal:
            dropped.sensitive.append(name)
            steps.append(f"{name}: dropped, external and the request must stay internal")
            return False
        # At the ceiling of the output estimate a target that fits certainly fits: only a target that may
        # not fit needs the request's task judged (the estimate depends on it).
        lacking = missing_capability(target, classification.needs_bound())
        if lacking is not None:
            lacking = missing_capability(target, classification.needs)
        if lacking:
            dropped.incapable.append(f"{name} ({lacking})")
            steps.append(f"{name}: dropped, {lacking}")
            return False
        if not (principal.may_use(name) or principal.may_use(target.model)):
            dropped.not_allowed.append(name)
            steps.append(f"{name}: dropped, not in this key's allowed models")
            return False
        return True

    if rule.candidates is not None:
        # Only "cheapest" reads the output estimate; the other strategies need nothing judged.
        cheapest = rule.strategy in (None, "cheapest")
        primary = order_by_strategy(
            [n for n in _unique(list(rule.candidates)) if usable(n)],
            strategy=rule.strategy or "cheapest",
            policy=policy,
            needs=classification.needs if cheapest else classification.needs_bound(),
            target_stats=target_stats,
            weights=rule.weights,
            rng=rng,
        )
        steps.append(f"candidates by {rule.strategy}: {primary}")
    else:
        route = request.named_target if rule.route == REQUESTED_TARGET else rule.route
        primary = [route] if route is not None and usable(route) else []
    fallbacks = [n for n in _unique(list(rule.fallbacks)) if n not in primary and usable(n)]
    return _healthy_first([*primary, *fallbacks], target_stats, policy.settings.unhealthy_error_rate, steps)


def _requested(policy: Policy, requested_model: str) -> tuple[RequestedKind, str | None]:
    if requested_model in policy.aliases:
        return "alias", None
    target = policy.resolve_target(requested_model)
    return ("target", target) if target is not None else ("unknown", None)


def _model_lists(when: When) -> Iterator[tuple[str, ...]]:
    if when.model is not None:
        yield when.model
    for branch in when.any_of or ():
        yield from _model_lists(branch)


def _mentioned_by_rules(policy: Policy, requested_model: str) -> bool:
    return any(requested_model in names for rule in policy.rules for names in _model_lists(rule.when))


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _healthy_first(
    chain: list[str], target_stats: Mapping[str, TargetStats], error_rate: float, steps: list[str]
) -> list[str]:
    ranks = {n: health_rank(target_stats.get(n), unhealthy_error_rate=error_rate) for n in chain}
    if any(ranks.values()):
        chain = sorted(chain, key=ranks.__getitem__)
        moved = [n for n in chain if ranks[n]]
        steps.append(f"moved to the back, unhealthy: {moved}")
    return chain


def _describe_findings(classification: Classification) -> str:
    kinds = sorted(classification.sensitivity.kinds())
    level = classification.sensitivity.level
    return f"level {level}" + (f": {', '.join(kinds)}" if kinds else "")


def _empty_chain_refusal(
    dropped: _Dropped, classification: Classification, *, internal_only: bool
) -> Refusal:
    reasons = []
    if dropped.sensitive:
        reasons.append(f"external, refused: {', '.join(dropped.sensitive)}")
    if dropped.incapable:
        reasons.append(f"unable: {'; '.join(dropped.incapable)}")
    if dropped.not_allowed:
        reasons.append(f"not allowed for this API key: {', '.join(dropped.not_allowed)}")
    why = " | ".join(reasons) or "the rule names no target"
    if internal_only:
        what = (
            f"The request contains sensitive data ({_describe_findings(classification)})"
            if classification.sensitivity.is_sensitive
            else "The policy keeps this request on internal models"
        )
        return Refusal(
            403, f"{what} and no internal model can serve it ({why}).", "sensitive_data_no_internal_target"
        )
    if dropped.not_allowed:
        return Refusal(
            403, f"This API key may not use the models chosen for this request ({why}).", "model_not_allowed"
        )
    return Refusal(400, f"No model can serve this request ({why}).", "no_capable_target")
