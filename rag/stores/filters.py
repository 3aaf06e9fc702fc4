"""Metadata filters on chunk attributes: parsing and validation shared by every index.

Two spellings are accepted:
- OpenAI's: {"type": "eq"|"ne"|"gt"|"gte"|"lt"|"lte"|"in"|"nin", "key": k, "value": v} and
  {"type": "and"|"or", "filters": [...]};
- a shorthand {k: v, ...}: every key equal to its value (a list value means "in").
`ne` and `nin` also match chunks that lack the key, as in Qdrant's must_not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from rag.stores.base import InvalidFilterError

Scalar = str | int | float | bool
ComparisonOp = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
CompoundOp = Literal["and", "or"]
COMPARISON_OPS: frozenset[str] = frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"})
RANGE_OPS: frozenset[str] = frozenset({"gt", "gte", "lt", "lte"})
COMPOUND_OPS: frozenset[str] = frozenset({"and", "or"})
# Keys become JSON paths in Qdrant, where dots and quotes have meaning; keep them plain.
_KEY = re.compile(r"^[A-Za-z0-9_\-:]{1,64}$")
_MAX_DEPTH = 8
_MAX_LIST = 1000


@dataclass(frozen=True, slots=True)
class Comparison:
    """One attribute compared with a value (or, for in/nin, a tuple of values)."""

    op: ComparisonOp
    key: str
    value: Scalar | tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Compound:
    """All (and) or any (or) of the nested filters."""

    op: CompoundOp
    filters: tuple[Filter, ...]


Filter = Comparison | Compound


def parse_filters(raw: Mapping[str, object] | None) -> Filter | None:
    """Validate a filter mapping and return its tree; None or {} means no filter."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise InvalidFilterError(f"filters must be an object, got {type(raw).__name__}")
    if not raw:
        return None
    if _is_structured(raw):
        return _parse_node(raw, depth=0)
    return Compound("and", tuple(_shorthand(key, value) for key, value in raw.items()))


def _is_structured(raw: Mapping[str, object]) -> bool:
    # An operator name in "type" next to "key" or "filters" is the OpenAI spelling (then strictly checked).
    kind = raw.get("type")
    if kind not in COMPARISON_OPS and kind not in COMPOUND_OPS:
        return False
    return "key" in raw or "filters" in raw or set(raw) <= {"type", "key", "value", "filters"}


def _parse_node(raw: object, *, depth: int) -> Filter:
    if depth > _MAX_DEPTH:
        raise InvalidFilterError(f"filters nest deeper than {_MAX_DEPTH} levels")
    if not isinstance(raw, Mapping):
        raise InvalidFilterError(f"each filter must be an object, got {type(raw).__name__}")
    kind = raw.get("type")
    if kind in COMPOUND_OPS:
        unknown = set(raw) - {"type", "filters"}
        nested = raw.get("filters")
        if unknown or not isinstance(nested, list) or not nested:
            raise InvalidFilterError(f"a '{kind}' filter needs a non-empty 'filters' list and nothing else")
        return Compound(kind, tuple(_parse_node(item, depth=depth + 1) for item in nested))
    if kind in COMPARISON_OPS:
        unknown = set(raw) - {"type", "key", "value"}
        if unknown or "key" not in raw or "value" not in raw:
            raise InvalidFilterError(f"a '{kind}' filter needs exactly 'key' and 'value'")
        return _comparison(kind, raw["key"], raw["value"])
    raise InvalidFilterError(f"unknown filter type {kind!r}")


def _shorthand(key: object, value: object) -> Comparison:
    if isinstance(value, list | tuple):
        return _comparison("in", key, list(value))
    return _comparison("eq", key, value)


def _comparison(op: str, key: object, value: object) -> Comparison:
    if not isinstance(key, str) or not _KEY.match(key):
        raise InvalidFilterError(f"filter key {key!r} must be 1-64 letters, digits, '_', '-' or ':'")
    if op in ("in", "nin"):
        if not isinstance(value, list | tuple) or not value or len(value) > _MAX_LIST:
            raise InvalidFilterError(f"'{op}' on {key!r} needs a list of 1 to {_MAX_LIST} values")
        return Comparison(op, key, tuple(_scalar(key, item) for item in value))  # type: ignore[arg-type]
    scalar = _scalar(key, value)
    if op in RANGE_OPS and (isinstance(scalar, bool) or not isinstance(scalar, int | float)):
        raise InvalidFilterError(f"'{op}' on {key!r} needs a number, got {scalar!r}")
    return Comparison(op, key, scalar)  # type: ignore[arg-type]


def _scalar(key: str, value: object) -> Scalar:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidFilterError(f"filter value for {key!r} must be finite")
    if isinstance(value, str | int | float | bool):
        return value
    raise InvalidFilterError(f"filter value for {key!r} must be a string, number or boolean")


def is_number(value: Scalar) -> bool:
    """Numbers compare numerically (1 == 1.0); booleans are not numbers here."""
    return isinstance(value, int | float) and not isinstance(value, bool)
