"""Evaluate a rule's conditions against one request, saying which condition failed and why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


# A `when` turned into a function once per policy: the same failures, in the same order, reading the same
# fields of the classification (complexity, task and domain only where the plain evaluation above reads
# them), with the constant parts of the messages built in advance. decide() uses these; `failed_conditions`
# stays the readable definition, and the equivalence test holds the two to the same output.

WhenCheck = Callable[[Classification, Principal, str, RequestedKind], tuple[str, ...]]
_Check = Callable[[Classification, Principal, str, RequestedKind], "str | None"]


def compile_when(when: When, *, memoize: bool = True) -> WhenCheck | None:
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
    parts = _key_parts(when)
    if not memoize or parts is None or (len(checks) == 1 and when.any_of is None):
        return evaluate
    return _memoized(evaluate, parts)


# Several conditions (or an any_of) cost several calls and often a joined message, yet their failures depend
# only on a few plain values: the level, tier, task, model... Such a `when` is evaluated once per distinct
# tuple of those values. The key reads what the evaluation reads, in the same order (so the same content gets
# judged); a condition on a number (score, prompt tokens) or on key metadata (any value) is never memoized.
_PURE_PARTS = {
    "c.sensitivity.level", "c.sensitivity.categories()", "c.sensitivity.kinds()", "c.complexity.tier",
    "c.task", "c.domain", "p.key_id", "p.name", "p.team", "m", "k",
}  # fmt: skip
_MEMO_LIMIT = 1024  # distinct keys remembered per `when`; past it, evaluated every time


def _key_parts(when: When) -> list[str] | None:  # noqa: C901 (one line per condition, in order)
    parts: list[str] = []
    if when.sensitivity_at_least is not None:
        parts.append("c.sensitivity.level")
    if when.sensitive_categories is not None:
        parts.append("c.sensitivity.categories()")
    if when.sensitive_kinds is not None:
        parts.append("c.sensitivity.kinds()")
    if when.complexity_at_least is not None:
        parts.append("c.complexity.tier")
    if when.complexity_at_most is not None:
        parts.append("c.complexity.tier")
    if when.complexity_score is not None or when.prompt_tokens is not None or when.metadata is not None:
        return None
    if when.task is not None:
        parts.append("c.task")
    if when.domain is not None:
        parts.append("c.domain")
    if when.needs is not None:
        parts.append("_need_flags(c.needs_bound())")
    if when.key_id is not None:
        parts.append("p.key_id")
    if when.key_name is not None:
        parts.append("p.name")
    if when.team is not None:
        parts.append("p.team")
    if when.model is not None:
        parts.append("m")
    if when.requested is not None:
        parts += ["m", "k"]
    for branch in when.any_of or ():
        branch_parts = _key_parts(branch)
        if branch_parts is None:
            return None
        parts += branch_parts
    return parts


def _need_flags(needs: Any) -> tuple[bool, bool, bool, bool]:
    return (needs.tools, needs.json_mode, needs.images, needs.long_context)


def _memoized(evaluate: WhenCheck, parts: list[str]) -> WhenCheck:
    # A pure part read twice gives the same value: read it once. needs_bound() is read as often as evaluated.
    unique = [part for i, part in enumerate(parts) if part not in _PURE_PARTS or part not in parts[:i]]
    assert all(part in _PURE_PARTS or part == "_need_flags(c.needs_bound())" for part in unique), unique
    # The parts come from the fixed list above, never from the policy's text.
    key_of = eval(f"lambda c, p, m, k: ({', '.join(unique)},)", {"_need_flags": _need_flags})  # noqa: S307
    memo: dict[tuple[Any, ...], tuple[str, ...]] = {}

    def memoized(c: Classification, p: Principal, model: str, kind: RequestedKind) -> tuple[str, ...]:
        key = key_of(c, p, model, kind)
        failed = memo.get(key)
        if failed is None:
            failed = evaluate(c, p, model, kind)
            if len(memo) < _MEMO_LIMIT:
                memo[key] = failed
        return failed

    return memoized


def _compile_checks(when: When) -> list[_Check]:  # noqa: C901 (one branch per condition, in order)
    checks: list[_Check] = []
    if when.sensitivity_at_least is not None:
        least = when.sensitivity_at_least
        # Unknown levels rank highest, so they never fall short: .get gives None (holds) for them.
        too_low = {
            level: f"sensitivity {level!r} < {least!r}"
            for level, rank in LEVEL_RANK.items()
            if rank < LEVEL_RANK[least]
        }
        checks.append(lambda c, p, m, k: too_low.get(c.sensitivity.level))
    if when.sensitive_categories is not None:
        categories = when.sensitive_categories
        share_none = f" share none of {list(categories)}"

        def category_check(c: Classification, p: Principal, m: str, k: RequestedKind) -> str | None:
            found = c.sensitivity.categories()
            return (
                None
                if found.intersection(categories)
                else f"sensitive categories {sorted(found)}{share_none}"
            )

        checks.append(category_check)
    if when.sensitive_kinds is not None:
        wanted_kinds = when.sensitive_kinds
        kinds_share_none = f" share none of {list(wanted_kinds)}"

        def kind_check(c: Classification, p: Principal, m: str, k: RequestedKind) -> str | None:
            kinds = c.sensitivity.kinds()
            return (
                None
                if kinds.intersection(wanted_kinds)
                else f"sensitive kinds {sorted(kinds)}{kinds_share_none}"
            )

        checks.append(kind_check)
    if when.complexity_at_least is not None:
        at_least = when.complexity_at_least
        # Unknown tiers rank highest, so they never fall short: .get gives None (holds) for them.
        below = {
            tier: f"complexity {tier!r} < {at_least!r}"
            for tier, rank in TIER_RANK.items()
            if rank < TIER_RANK[at_least]
        }
        checks.append(lambda c, p, m, k: below.get(c.complexity.tier))
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
        checks.append(_any_of_check([compile_when(branch, memoize=False) for branch in when.any_of]))
    return checks


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
