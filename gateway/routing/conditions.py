"""Evaluate a rule's conditions against one request, saying which condition failed and why."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Literal

from gateway.auth.principal import Principal
from gateway.classify.types import Classification
from gateway.routing.policy import LEVEL_RANK, TIER_RANK, When

RequestedKind = Literal["alias", "target", "unknown"]

_NEED_FLAGS = {"tools": "tools", "json": "json_mode", "images": "images", "long_context": "long_context"}


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """Everything a condition may look at."""

    classification: Classification
    principal: Principal
    requested_model: str
    requested_kind: RequestedKind


def failed_conditions(when: When, facts: RequestFacts) -> list[str]:
    """The conditions of `when` that do not hold for `facts`, in order; an empty list means it matches.
    (decide() compiles each rule's `when` once per policy with compile_when; this is the same check.)"""
    check = compile_when(when)
    if check is None:
        return []
    return list(check(facts.classification, facts.principal, facts.requested_model, facts.requested_kind))


def _kind_phrase(kind: RequestedKind) -> str:
    return {"alias": "an alias", "target": "a target name", "unknown": "unknown to this policy"}[kind]


# A `when` as a function, built once per policy: one check per condition, in the policy's order, each
# giving its failure message or None. A level or tier the classifier should never send counts as the highest
# (fail safe, not open). Complexity, task and domain are read only by conditions on them, so a request
# whose route no such condition decides is never judged for them (see Classification). The constant parts
# of the messages are built in advance; tests/routing/test_decide_equivalence.py holds the output to the
# first, plain implementation (tests/routing/reference_decide.py).

WhenCheck = Callable[[Classification, Principal, str, RequestedKind], tuple[str, ...]]
_Check = Callable[[Classification, Principal, str, RequestedKind], "str | None"]


def compile_when(when: When) -> WhenCheck | None:
    """A function giving the failed conditions of `when` (() when it holds), or None for an empty `when`."""
    checks = _compile_checks(when)
    if not checks:
        return None
    if len(checks) == 1:
        (check,) = checks

        def single(c: Classification, p: Principal, model: str, kind: RequestedKind) -> tuple[str, ...]:
            reason = check(c, p, model, kind)
            return () if reason is None else (reason,)

        evaluate: WhenCheck = single
    else:

        def several(c: Classification, p: Principal, model: str, kind: RequestedKind) -> tuple[str, ...]:
            failed = [reason for check in checks if (reason := check(c, p, model, kind)) is not None]
            return tuple(failed)

        evaluate = several
    return evaluate


def _compile_checks(when: When) -> list[_Check]:  # noqa: C901 (one branch per condition, in order)
    checks: list[_Check] = []
    if when.sensitivity_at_least is not None:
        checks.append(
            _at_least_check(
                "sensitivity", LEVEL_RANK, when.sensitivity_at_least, attrgetter("sensitivity.level")
            )
        )
    if when.sensitive_categories is not None:
        categories = when.sensitive_categories
        checks.append(_shares_check("sensitive categories", categories, lambda c: c.sensitivity.categories()))
    if when.sensitive_kinds is not None:
        checks.append(_shares_check("sensitive kinds", when.sensitive_kinds, lambda c: c.sensitivity.kinds()))
    if when.complexity_at_least is not None:
        checks.append(
            _at_least_check("complexity", TIER_RANK, when.complexity_at_least, attrgetter("complexity.tier"))
        )
    if when.complexity_at_most is not None:
        at_most = when.complexity_at_most
        most_rank = TIER_RANK[at_most]

        def at_most_check(c: Classification, p: Principal, m: str, k: RequestedKind) -> str | None:
            tier = c.complexity.tier
            return f"complexity {tier!r} > {at_most!r}" if TIER_RANK.get(tier, 2) > most_rank else None

        checks.append(at_most_check)
    if when.complexity_score is not None:
        score_range = when.complexity_score
        score_outside = f" outside {score_range.describe()}"

        def score_check(c: Classification, p: Principal, m: str, k: RequestedKind) -> str | None:
            score = c.complexity.score
            return None if score_range.holds(score) else f"complexity score {score:g}{score_outside}"

        checks.append(score_check)
    if when.task is not None:
        checks.append(_listed_check("task", when.task, lambda c, p, m: c.task))
    if when.domain is not None:
        checks.append(_listed_check("domain", when.domain, lambda c, p, m: c.domain))
    if when.needs is not None:
        flags = [(need, _NEED_FLAGS[need]) for need in when.needs]

        def needs_check(c: Classification, p: Principal, m: str, k: RequestedKind) -> str | None:
            bound = c.needs_bound()
            missing = [need for need, flag in flags if not getattr(bound, flag)]
            return f"request does not need {missing}" if missing else None

        checks.append(needs_check)
    if when.prompt_tokens is not None:
        tokens_range = when.prompt_tokens
        tokens_outside = f" outside {tokens_range.describe()}"

        def tokens_check(c: Classification, p: Principal, m: str, k: RequestedKind) -> str | None:
            prompt_tokens = c.needs_bound().prompt_tokens  # exact (only the output estimate may be pending)
            return (
                None
                if tokens_range.holds(prompt_tokens)
                else f"prompt tokens {prompt_tokens}{tokens_outside}"
            )

        checks.append(tokens_check)
    if when.key_id is not None:
        checks.append(_listed_check("key id", when.key_id, lambda c, p, m: p.key_id))
    if when.key_name is not None:
        checks.append(_listed_check("key name", when.key_name, lambda c, p, m: p.name))
    if when.team is not None:
        checks.append(_listed_check("team", when.team, lambda c, p, m: p.team))
    for key, expected in (when.metadata or {}).items():
        checks.append(_metadata_check(key, expected))
    if when.model is not None:
        checks.append(_listed_check("requested model", when.model, lambda c, p, m: m))
    if when.requested is not None:
        requested = when.requested

        def requested_check(c: Classification, p: Principal, m: str, k: RequestedKind) -> str | None:
            return None if k == requested else f"requested model {m!r} is {_kind_phrase(k)}"

        checks.append(requested_check)
    if when.any_of is not None:
        checks.append(_any_of_check([compile_when(branch) for branch in when.any_of]))
    return checks


def _at_least_check(
    label: str, ranks: Mapping[str, int], least: str, read: Callable[[Classification], str]
) -> _Check:
    """Fails, with its message, for a value ranked below `least`. Unknown values rank highest, so they
    never fall short: .get gives None (holds) for them."""
    below = {value: f"{label} {value!r} < {least!r}" for value, rank in ranks.items() if rank < ranks[least]}
    return lambda c, p, m, k: below.get(read(c))


def _shares_check(
    label: str, wanted: tuple[str, ...], found_in: Callable[[Classification], frozenset[str]]
) -> _Check:
    share_none = f" share none of {list(wanted)}"

    def check(c: Classification, p: Principal, m: str, k: RequestedKind) -> str | None:
        found = found_in(c)
        return None if found.intersection(wanted) else f"{label} {sorted(found)}{share_none}"

    return check


def _listed_check(
    label: str, allowed: tuple[str, ...], value_of: Callable[[Classification, Principal, str], str]
) -> _Check:
    not_in = f" not in {list(allowed)}"

    def check(c: Classification, p: Principal, m: str, k: RequestedKind) -> str | None:
        value = value_of(c, p, m)
        return None if value in allowed else f"{label} {value!r}{not_in}"

    return check


def _metadata_check(key: str, expected: Any) -> _Check:
    allowed = expected if isinstance(expected, list | tuple) else [expected]
    absent = f"key metadata has no {key!r}"
    prefix = f"key metadata {key}="
    not_in = f" not in {list(allowed)}"

    def check(c: Classification, p: Principal, m: str, k: RequestedKind) -> str | None:
        metadata = p.metadata
        if key not in metadata:
            return absent
        value = metadata[key]
        return None if value in allowed else f"{prefix}{value!r}{not_in}"

    return check


_MESSAGES_KEPT = 256  # distinct any_of messages remembered per condition (failures repeat call after call)


def _any_of_check(branches: list[WhenCheck | None]) -> _Check:
    messages: dict[tuple[tuple[str, ...], ...], str] = {}

    def check(c: Classification, p: Principal, m: str, k: RequestedKind) -> str | None:
        # Every branch is evaluated, as failed_conditions does (a later branch may judge the content).
        results = tuple([() if branch is None else branch(c, p, m, k) for branch in branches])
        if not all(results):
            return None
        message = messages.get(results)
        if message is None:
            why = "; ".join(f"[{i}] " + ", ".join(failed) for i, failed in enumerate(results))
            message = f"no any_of branch holds ({why})"
            if len(messages) < _MESSAGES_KEPT:
                messages[results] = message
        return message

    return check
