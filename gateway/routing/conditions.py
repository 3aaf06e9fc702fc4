"""Evaluate a rule's conditions against one request, saying which condition failed and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
