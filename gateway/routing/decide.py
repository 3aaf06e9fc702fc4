"""The routing decision: (policy, classification, caller, requested model, live stats) -> target and chain."""

from __future__ import annotations

import random
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from gateway.auth.principal import Principal
from gateway.classify.types import Classification
from gateway.errors import GatewayError
from gateway.routing.conditions import RequestedKind, compile_when
from gateway.routing.policy import REQUESTED_TARGET, Policy, Rule, Target, When
from gateway.routing.stats import TargetStats, health_rank
from gateway.routing.strategies import estimated_cost_usd, latency_key, missing_capability, weighted_order


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


class Decision(NamedTuple):
    """Where a request goes (target, then fallbacks in order), or why it is refused; with the full trace.
    Made on every call: a NamedTuple (immutable, and built in half the time of a frozen dataclass)."""

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
    plan = _plans.get(id(policy))
    if plan is None or plan.policy() is not policy:
        plan = _plan_for(policy)
    is_sensitive = classification.sensitivity.is_sensitive
    steps: list[str] = []

    # The requested model: an alias, a target (by name or unique upstream model) or unknown.
    model = requested_model
    named_target: str | None = None
    kind: RequestedKind
    if requested_model in plan.aliases:
        kind = "alias"
    else:
        named_target = plan.resolved.get(requested_model)
        if named_target is not None:
            kind = "target"
            if is_sensitive and not plan.targets[named_target].internal:
                refusal = _explicit_external_sensitive(plan, classification, requested_model, steps)
                if refusal is not None:
                    return _decision(plan, requested_model, is_sensitive, None, (), (), steps, refusal)
                model, kind, named_target = plan.rerouted_to or requested_model, "alias", None
        elif requested_model in plan.mentioned:
            kind = "unknown"
        else:
            return _decision(
                plan, requested_model, is_sensitive, None, (), (), steps, plan.not_offered(requested_model)
            )

    # The first matching rule, with a trace of every rule considered.
    trace: list[RuleTrace] = []
    matched: _RulePlan | None = None
    for rule in plan.rules:
        check = rule.check
        failed = () if check is None else check(classification, principal, model, kind)
        if not failed:
            if rule.requested_route and named_target is None:
                trace.append(rule.names_no_target(model))
                continue
            trace.append(rule.matched_trace)
            matched = rule
            break
        known = rule.failed_traces.get(failed)
        if known is None:
            known = rule.failed_trace(failed)
        trace.append(known)
    if matched is None:
        message = f"No rule of policy {plan.name!r} matches this request."
        refusal = Refusal(500, message, "no_rule_matched")
        return _decision(plan, requested_model, is_sensitive, None, (), trace, steps, refusal)
    sensitive = is_sensitive or matched.keeps_data_internal
    if matched.block is not None:
        steps.append(f"rule {matched.name!r} blocks the request")
        refusal = Refusal(matched.block.status, matched.block.message, "blocked_by_policy")
        return _decision(plan, requested_model, sensitive, matched.name, (), trace, steps, refusal)

    # The rule's targets in order, without those that may not or cannot serve; healthy ones first.
    # Sensitive data never reaches an external target, whatever the rule said (usable() drops them).
    internal_only = sensitive
    drops: list[tuple[str, str]] = []
    if matched.candidates is None:
        route = named_target if matched.requested_route else matched.route
        if route is not None and _usable(plan, route, classification, principal, internal_only, drops, steps):
            primary = [route]
        else:
            primary = []
    else:
        names = [
            n
            for n in matched.candidates
            if _usable(plan, n, classification, principal, internal_only, drops, steps)
        ]
        primary = _order(plan, matched, names, classification, target_stats, rng)
        step = matched.candidates_steps.get(tuple(primary))
        if step is None:
            step = matched.candidates_step(primary)
        steps.append(step)
    chain: Sequence[str] = primary
    if matched.fallbacks:
        chain = primary + [
            n
            for n in matched.fallbacks
            if n not in primary and _usable(plan, n, classification, principal, internal_only, drops, steps)
        ]
    if internal_only:
        # The last word, whatever the rule said: sensitive data never reaches an external target.
        # (_usable already dropped them; this guard keeps the promise if that ever changes.)
        chain = [n for n in chain if plan.targets[n].internal]
    if not chain:
        refusal = _empty_chain_refusal(drops, classification, internal_only=internal_only)
        return _decision(plan, requested_model, sensitive, matched.name, (), trace, steps, refusal)
    if target_stats:
        chain = _healthy_first(chain, target_stats, plan, steps)
    return _decision(plan, requested_model, sensitive, matched.name, chain, trace, steps, None)


def _decision(
    plan: _Plan,
    requested_model: str,
    sensitive: bool,
    rule: str | None,
    chain: Sequence[str],
    trace: Sequence[RuleTrace],
    steps: list[str],
    refusal: Refusal | None,
) -> Decision:
    return Decision(
        target=chain[0] if chain else None,
        fallbacks=tuple(chain[1:]),
        rule=rule,
        policy_name=plan.name,
        policy_version=plan.version,
        requested_model=requested_model,
        sensitive=sensitive,
        trace=tuple(trace),
        steps=tuple(steps),
        refusal=refusal,
    )


def _explicit_external_sensitive(
    plan: _Plan, classification: Classification, requested_model: str, steps: list[str]
) -> Refusal | None:
    """An explicit external model with sensitive data: refused, or (None) rerouted as the first alias."""
    if plan.explicit_external_sensitive == "refuse":
        steps.append(f"explicit external model {requested_model!r} refused: sensitive data")
        message = (
            f"The request contains sensitive data ({_describe_findings(classification)}), so it may not be "
            f"sent to the external model {requested_model!r}. Use an internal model or the alias "
            f"{plan.first_alias!r}."
        )
        return Refusal(403, message, "sensitive_data_external_model")
    rerouted = plan.rerouted_to or requested_model
    steps.append(f"explicit external model {requested_model!r} with sensitive data: rerouted as {rerouted!r}")
    return None


def _usable(
    plan: _Plan,
    name: str,
    classification: Classification,
    principal: Principal,
    internal_only: bool,
    drops: list[tuple[str, str]],
    steps: list[str],
) -> bool:
    target = plan.targets.get(name)
    if target is None:
        steps.append(f"{name}: dropped, not a target of this policy")
        return False
    if internal_only and not target.internal:
        drops.append(("sensitive", name))
        steps.append(f"{name}: dropped, external and the request must stay internal")
        return False
    # A target that fits the ceiling (the prompt's tokens bounded by its bytes, the output estimate at its
    # ceiling) certainly fits: only a target that may not fit needs the prompt's tokens counted, and then
    # the request's task judged (the output estimate depends on it).
    lacking = missing_capability(target.target, classification.needs_ceiling())
    if lacking is not None:
        lacking = missing_capability(target.target, classification.needs_bound())
    if lacking is not None:
        lacking = missing_capability(target.target, classification.needs)
    if lacking is not None:
        drops.append(("incapable", f"{name} ({lacking})"))
        steps.append(f"{name}: dropped, {lacking}")
        return False
    allowed = principal.allowed_models  # Principal.may_use(name) or may_use(upstream model)
    if allowed is not None and name not in allowed and target.model not in allowed:
        drops.append(("not_allowed", name))
        steps.append(f"{name}: dropped, not in this key's allowed models")
        return False
    return True


def _order(
    plan: _Plan,
    rule: _RulePlan,
    names: list[str],
    classification: Classification,
    target_stats: Mapping[str, TargetStats],
    rng: random.Random | None,
) -> list[str]:
    """Candidates best first by the rule's strategy, on the targets' precomputed sort keys; sorts are stable,
    so ties keep the policy's order."""
    strategy = rule.strategy or "cheapest"
    if strategy == "cheapest":  # only "cheapest" reads the output estimate (and so judges the task)
        needs = classification.needs
        if len(names) < 2:
            return names
        prompt, output = needs.prompt_tokens, needs.expected_output_tokens
        return sorted(names, key=lambda n: plan.targets[n].cost(prompt, output))
    # Read, as decide() always has (it judges a record that has neither needs nor a bound), though these
    # orders ignore it; the ceiling, so that a record whose count is deferred is not counted for nothing.
    classification.needs_ceiling()
    if strategy == "fastest":
        return sorted(names, key=lambda n: latency_key(target_stats.get(n))) if len(names) > 1 else names
    if strategy == "highest_capability":
        return sorted(names, key=lambda n: plan.targets[n].capability_key) if len(names) > 1 else names
    return weighted_order(names, rule.weights or {}, rng)


def _healthy_first(
    chain: Sequence[str], target_stats: Mapping[str, TargetStats], plan: _Plan, steps: list[str]
) -> Sequence[str]:
    error_rate = plan.unhealthy_error_rate
    get = target_stats.get
    ranks = []
    unhealthy = False
    for name in chain:
        rank = health_rank(get(name), unhealthy_error_rate=error_rate)
        ranks.append(rank)
        unhealthy = unhealthy or rank > 0
    if not unhealthy:
        return chain
    # The same few chains and ranks come back call after call: remember each reordering and its step.
    key = (tuple(chain), tuple(ranks))
    known = plan.reorders.get(key)
    if known is None:
        rank_of = dict(zip(chain, ranks, strict=True))
        ordered = sorted(chain, key=rank_of.__getitem__)
        moved = [n for n in ordered if rank_of[n]]
        known = (tuple(ordered), f"moved to the back, unhealthy: {moved}")
        if len(plan.reorders) < _CACHE_LIMIT:
            plan.reorders[key] = known
    steps.append(known[1])
    return known[0]


# Derived data per policy, built on its first decision. A Policy never changes (a new version is a new
# object), so the plan is kept as long as the policy lives: keyed by id, checked by a weak reference.
_CACHE_LIMIT = 256  # distinct failure traces / candidate orders remembered per rule
_plans: dict[int, _Plan] = {}


def _plan_for(policy: Policy) -> _Plan:
    key = id(policy)

    def forget(ref: weakref.ref[Policy]) -> None:
        if (current := _plans.get(key)) is not None and current.policy is ref:
            _plans.pop(key, None)

    plan = _Plan(policy, weakref.ref(policy, forget))
    _plans[key] = plan
    return plan


class _TargetPlan:
    __slots__ = ("target", "internal", "model", "context_window", "price", "capability_key")

    def __init__(self, target: Target) -> None:
        self.target = target
        self.internal = target.internal
        self.model = target.model
        self.context_window = target.context_window
        self.price = target.effective_price()  # fixed: the policy's own, or the list price read once
        self.capability_key = (-len(set(target.capabilities)), -target.context_window)

    def cost(self, prompt_tokens: int, output_tokens: int) -> float:
        return estimated_cost_usd(self.price, prompt_tokens, output_tokens)


class _RulePlan:
    __slots__ = (
        "index", "name", "check", "requested_route", "route", "candidates", "strategy", "weights",
        "fallbacks", "block", "keeps_data_internal", "matched_trace", "failed_traces", "no_target_traces",
        "candidates_steps",
    )  # fmt: skip

    def __init__(self, index: int, rule: Rule) -> None:
        self.index = index
        self.name = rule.name
        self.check = compile_when(rule.when)
        self.requested_route = rule.route == REQUESTED_TARGET
        self.route = rule.route
        self.candidates = None if rule.candidates is None else tuple(dict.fromkeys(rule.candidates))
        self.strategy = rule.strategy
        self.weights = rule.weights
        self.fallbacks = tuple(dict.fromkeys(rule.fallbacks))
        self.block = rule.block
        self.keeps_data_internal = rule.keeps_data_internal
        self.matched_trace = RuleTrace(index, rule.name, True, ())
        self.failed_traces: dict[tuple[str, ...], RuleTrace] = {}
        self.no_target_traces: dict[str, RuleTrace] = {}
        self.candidates_steps: dict[tuple[str, ...], str] = {}

    def failed_trace(self, failed: tuple[str, ...]) -> RuleTrace:
        trace = RuleTrace(self.index, self.name, False, failed)
        if len(self.failed_traces) < _CACHE_LIMIT:
            self.failed_traces[failed] = trace
        return trace

    def names_no_target(self, model: str) -> RuleTrace:
        trace = self.no_target_traces.get(model)
        if trace is None:
            trace = RuleTrace(self.index, self.name, False, (f"requested model {model!r} names no target",))
            if len(self.no_target_traces) < _CACHE_LIMIT:
                self.no_target_traces[model] = trace
        return trace

    def candidates_step(self, primary: list[str]) -> str:
        step = f"candidates by {self.strategy}: {primary}"
        if len(self.candidates_steps) < _CACHE_LIMIT:
            self.candidates_steps[tuple(primary)] = step
        return step


class _Plan:
    """What decide() needs of one policy, worked out once: rules compiled, names resolved, prices read."""

    __slots__ = (
        "policy", "name", "version", "aliases", "resolved", "mentioned", "offered", "first_alias",
        "rerouted_to",
        "explicit_external_sensitive", "unhealthy_error_rate", "targets", "rules", "reorders",
    )  # fmt: skip

    def __init__(self, policy: Policy, ref: weakref.ref[Policy]) -> None:
        self.policy = ref
        self.name = policy.name
        self.version = policy.version
        self.aliases = policy.aliases
        # policy.resolve_target() for every name it resolves: target names, then unique upstream models.
        upstream: dict[str, list[str]] = {}
        for name, target in policy.targets.items():
            upstream.setdefault(target.model, []).append(name)
        self.resolved = {model: names[0] for model, names in upstream.items() if len(names) == 1}
        self.resolved.update({name: name for name in policy.targets})
        self.mentioned = frozenset(
            name for rule in policy.rules for names in _model_lists(rule.when) for name in names
        )
        self.offered = ", ".join([*policy.aliases, *policy.targets])
        self.first_alias = (policy.aliases or ("auto",))[0]
        self.rerouted_to = policy.aliases[0] if policy.aliases else None
        self.explicit_external_sensitive = policy.settings.explicit_external_sensitive
        self.unhealthy_error_rate = policy.settings.unhealthy_error_rate
        self.targets = {name: _TargetPlan(target) for name, target in policy.targets.items()}
        self.rules = tuple(_RulePlan(index, rule) for index, rule in enumerate(policy.rules))
        self.reorders: dict[tuple[tuple[str, ...], tuple[int, ...]], tuple[tuple[str, ...], str]] = {}

    def not_offered(self, requested_model: str) -> Refusal:
        message = f"The model {requested_model!r} is not offered here. Choose one of: {self.offered}."
        return Refusal(404, message, "model_not_found")


def _model_lists(when: When) -> Iterator[tuple[str, ...]]:
    if when.model is not None:
        yield when.model
    for branch in when.any_of or ():
        yield from _model_lists(branch)


def _describe_findings(classification: Classification) -> str:
    kinds = sorted(classification.sensitivity.kinds())
    level = classification.sensitivity.level
    return f"level {level}" + (f": {', '.join(kinds)}" if kinds else "")


def _empty_chain_refusal(
    drops: list[tuple[str, str]], classification: Classification, *, internal_only: bool
) -> Refusal:
    sensitive = [what for why, what in drops if why == "sensitive"]
    incapable = [what for why, what in drops if why == "incapable"]
    not_allowed = [what for why, what in drops if why == "not_allowed"]
    reasons = []
    if sensitive:
        reasons.append(f"external, refused: {', '.join(sensitive)}")
    if incapable:
        reasons.append(f"unable: {'; '.join(incapable)}")
    if not_allowed:
        reasons.append(f"not allowed for this API key: {', '.join(not_allowed)}")
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
    if not_allowed:
        return Refusal(
            403, f"This API key may not use the models chosen for this request ({why}).", "model_not_allowed"
        )
    return Refusal(400, f"No model can serve this request ({why}).", "no_capable_target")
