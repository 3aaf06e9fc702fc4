"""Whether one rule's conditions already match every request another's do (so the later one never wins)."""

from __future__ import annotations

from typing import Any

from gateway.routing.policy import LEVEL_RANK, TIER_RANK, Range, When

# Conditions that hold when the value is any one of the listed ones: fewer listed = stricter.
_ANY_OF_LISTS = (
    "sensitive_categories",
    "sensitive_kinds",
    "task",
    "domain",
    "key_id",
    "key_name",
    "team",
    "model",
)
# Conditions that always hold, however they are written.
_TRIVIAL = {("sensitivity_at_least", "none"), ("complexity_at_least", "low"), ("complexity_at_most", "high")}


def _values(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list | tuple) else (value,)


def _range_within(inner: Range, outer: Range) -> bool:
    low_ok = outer.min is None or (inner.min is not None and inner.min >= outer.min)
    high_ok = outer.max is None or (inner.max is not None and inner.max <= outer.max)
    return low_ok and high_ok


def _field_covers(field: str, wide: Any, narrow: Any) -> bool:
    """Does the condition `field: wide` hold for every request that `field: narrow` admits?"""
    if narrow is None:
        return False
    if field in _ANY_OF_LISTS:
        return all(v in wide for v in narrow)
    if field == "needs":
        return all(v in narrow for v in wide)
    if field == "sensitivity_at_least":
        return LEVEL_RANK[narrow] >= LEVEL_RANK[wide]
    if field == "complexity_at_least":
        return TIER_RANK[narrow] >= TIER_RANK[wide]
    if field == "complexity_at_most":
        return TIER_RANK[narrow] <= TIER_RANK[wide]
    if field in ("complexity_score", "prompt_tokens"):
        return _range_within(narrow, wide)
    if field == "metadata":
        return all(
            key in narrow and all(v in _values(wide[key]) for v in _values(narrow[key])) for key in wide
        )
    # requested: only an identical condition is known to cover.
    return bool(wide == narrow)


def covers(earlier: When, later: When) -> bool:
    """True if `earlier` matches every request `later` matches. Conservative: False when unsure."""
    for field in When.model_fields:
        wide = getattr(earlier, field)
        if wide is None or (isinstance(wide, str) and (field, wide) in _TRIVIAL):
            continue
        if field == "any_of":
            # Holds if the same any_of is required later, or one branch alone already covers `later`.
            if wide != later.any_of and not any(covers(branch, later) for branch in wide):
                return False
        elif not _field_covers(field, wide, getattr(later, field)):
            return False
    return True


def matches_everything(when: When) -> bool:
    """No conditions, or only ones that always hold (e.g. `complexity_at_least: low`)."""
    return covers(when, When())
