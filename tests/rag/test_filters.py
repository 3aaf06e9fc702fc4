"""Parsing metadata filters: both spellings, and every malformed one refused."""

from __future__ import annotations

import pytest

from rag.stores.base import InvalidFilterError
from rag.stores.filters import Comparison, Compound, parse_filters


def test_empty_filters_mean_no_filter() -> None:
    assert parse_filters(None) is None
    assert parse_filters({}) is None


def test_shorthand_means_and_of_equalities_and_lists_mean_in() -> None:
    assert parse_filters({"topic": "a", "year": [2020, 2021]}) == Compound(
        "and", (Comparison("eq", "topic", "a"), Comparison("in", "year", (2020, 2021)))
    )


def test_openai_comparison_and_compound_filters() -> None:
    raw = {
        "type": "or",
        "filters": [
            {"type": "gte", "key": "year", "value": 2020},
            {"type": "and", "filters": [{"type": "ne", "key": "lang", "value": "de"}]},
        ],
    }
    assert parse_filters(raw) == Compound(
        "or", (Comparison("gte", "year", 2020), Compound("and", (Comparison("ne", "lang", "de"),)))
    )


def test_an_attribute_named_type_still_works_in_shorthand() -> None:
    assert parse_filters({"type": "report"}) == Compound("and", (Comparison("eq", "type", "report"),))


@pytest.mark.parametrize(
    "raw",
    [
        "topic=a",
        {"type": "eq", "key": "k"},
        {"type": "eq", "value": 1},
        {"type": "eq", "key": "k", "value": 1, "extra": 2},
        {"type": "and", "filters": []},
        {"type": "and", "filters": "x"},
        {"type": "or", "filters": [{"type": "between", "key": "k", "value": 1}]},
        {"type": "or", "filters": ["eq"]},
        {"type": "lt", "key": "k", "value": "10"},
        {"type": "lt", "key": "k", "value": True},
        {"type": "in", "key": "k", "value": []},
        {"type": "nin", "key": "k", "value": 3},
        {"type": "eq", "key": "", "value": 1},
        {"type": "eq", "key": "x" * 65, "value": 1},
        {"type": "eq", "key": 'a"b', "value": 1},
        {"type": "eq", "key": "k", "value": None},
        {"type": "eq", "key": "k", "value": float("inf")},
        {"k": {"a": 1}},
        {"k": [[1]]},
    ],
)
def test_malformed_filters_are_refused(raw: object) -> None:
    with pytest.raises(InvalidFilterError):
        parse_filters(raw)  # type: ignore[arg-type]


def test_deep_nesting_is_refused() -> None:
    node: dict = {"type": "eq", "key": "k", "value": 1}
    for _ in range(10):
        node = {"type": "and", "filters": [node]}
    with pytest.raises(InvalidFilterError):
        parse_filters(node)
