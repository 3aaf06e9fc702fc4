"""The routing decision: (policy, classification, caller, requested model, live stats) -> target and chain."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from gateway.auth.principal import Principal
from gateway.classify.types import Classification
from gateway.errors import GatewayError
from gateway.routing.conditions import RequestedKind, RequestFacts, failed_conditions
from gateway.routing.policy import REQUESTED_TARGET, Policy, Rule, When
from gateway.routing.stats import TargetStats, health_rank
from gateway.routing.strategies import missing_capability, order_by_strategy


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
    sensitive: list[str]
    not_allowed: list[str]
    incapable: list[str]


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
    sensitive_data = classification.sensitivity.is_sensitive

    def finish(
        *,
        rule: Rule | None,
        trace: list[RuleTrace],
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
            sensitive=sensitive_data or bool(rule and rule.keeps_data_internal),
            trace=tuple(trace),
            steps=tuple(steps),
            refusal=refusal,
        )

    kind, named_target = _requested(policy, requested_model)
    if kind == "unknown" and not _mentioned_by_rules(policy, requested_model):
        offered = ", ".join([*policy.aliases, *policy.targets])
        message = f"The model {requested_model!r} is not offered here. Choose one of: {offered}."
        return finish(rule=None, trace=[], refusal=Refusal(404, message, "model_not_found"))

    effective_model = requested_model
    if (
        kind == "target"
        and named_target is not None
        and sensitive_data
        and not policy.targets[named_target].internal
    ):
        if policy.settings.explicit_external_sensitive == "refuse":
            message = (
                f"The request contains sensitive data ({_describe_findings(classification)}), "
                f"so it may not be "
                f"sent to the external model {requested_model!r}. Use an internal model or the alias "
                f"{(policy.aliases or ('auto',))[0]!r}."
            )
            steps.append(f"explicit external model {requested_model!r} refused: sensitive data")
            return finish(rule=None, trace=[], refusal=Refusal(403, message, "sensitive_data_external_model"))
        effective_model = policy.aliases[0] if policy.aliases else requested_model
        kind, named_target = "alias", None
        steps.append(
            f"explicit external model {requested_model!r} with sensitive data: "
            f"rerouted as {effective_model!r}"
        )

    facts = RequestFacts(classification, principal, effective_model, kind)
    trace: list[RuleTrace] = []
    matched: Rule | None = None
    for index, rule in enumerate(policy.rules):
        failed = failed_conditions(rule.when, facts)
        if not failed and rule.route == REQUESTED_TARGET and named_target is None:
            failed = [f"requested model {effective_model!r} names no target"]
        trace.append(RuleTrace(index, rule.name, not failed, tuple(failed)))
        if not failed:
            matched = rule
            break

    if matched is None:
        message = f"No rule of policy {policy.name!r} matches this request."
        return finish(rule=None, trace=trace, refusal=Refusal(500, message, "no_rule_matched"))
    if matched.block is not None:
        steps.append(f"rule {matched.name!r} blocks the request")
        return finish(
            rule=matched,
            trace=trace,
            refusal=Refusal(matched.block.status, matched.block.message, "blocked_by_policy"),
        )

    internal_only = sensitive_data or matched.keeps_data_internal
    dropped = _Dropped([], [], [])

    def usable(name: str) -> bool:
        target = policy.targets.get(name)
        if target is None:
            steps.append(f"{name}: dropped, not a target of this policy")
            return False
        if internal_only and not target.internal:
            dropped.sensitive.append(name)
            steps.append(f"{name}: dropped, external and the request must stay internal")
            return False
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

    if matched.candidates is not None:
        assert matched.strategy is not None  # the model validator guarantees it
        candidates = [n for n in matched.candidates if usable(n)]
        primary = order_by_strategy(
            candidates,
            strategy=matched.strategy,
            policy=policy,
            needs=classification.needs,
            target_stats=target_stats,
            weights=matched.weights,
            rng=rng,
        )
        steps.append(f"candidates by {matched.strategy}: {primary}")
    else:
        route = named_target if matched.route == REQUESTED_TARGET else matched.route
        primary = [route] if route is not None and usable(route) else []
    chain = _unique([*primary, *(n for n in matched.fallbacks if n not in primary and usable(n))])

    chain = _healthy_first(chain, target_stats, policy.settings.unhealthy_error_rate, steps)
    if internal_only:
        # The last word, whatever the rule said: sensitive data never reaches an external target.
        chain = [n for n in chain if policy.targets[n].internal]
    if not chain:
        refusal = _empty_chain_refusal(dropped, classification, internal_only=internal_only)
        return finish(rule=matched, trace=trace, refusal=refusal)
    return finish(rule=matched, trace=trace, chain=chain)


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
