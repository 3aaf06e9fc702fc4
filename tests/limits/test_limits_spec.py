"""LimitSpec and BudgetSpec refuse what makes no sense, with messages that say why."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from gateway.limits import BudgetSpec, LimitSpec
from gateway.limits.spec import micro_to_usd, usd_to_micro


def test_a_full_spec_is_accepted():
    spec = LimitSpec.model_validate(
        {"rpm": 60, "tpm": 100_000, "max_concurrency": 4, "budgets": [{"period": "day", "usd": "12.50"}]}
    )
    assert spec.budgets[0].micro_usd == 12_500_000
    assert not spec.is_empty
    assert LimitSpec().is_empty


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rpm", -1, "rpm must not be negative"),
        ("rpm", 10**7 + 1, "rpm must be at most 10,000,000"),
        ("tpm", 10**10 + 1, "tpm must be at most"),
        ("max_concurrency", -5, "max_concurrency must not be negative"),
        ("max_concurrency", 10**5 + 1, "max_concurrency must be at most"),
        ("rpm", True, "valid integer"),
        ("rpm", "100", "valid integer"),
        ("rpm", 1.5, "valid integer"),
    ],
)
def test_bad_counts_are_refused(field, value, message):
    with pytest.raises(ValidationError, match=message):
        LimitSpec.model_validate({field: value})


def test_limits_at_the_maximum_are_accepted():
    spec = LimitSpec(rpm=10**7, tpm=10**10, max_concurrency=10**5)
    assert spec.rpm == 10**7


@pytest.mark.parametrize(
    ("usd", "message"),
    [
        (-0.01, "must not be negative"),
        ("1e10", "at most"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        ("NaN", "finite"),
        ("abc", "must be a number"),
        (True, "must be a number"),
        (None, "must be a number"),
        ("0.0000001", "micro-dollar"),
    ],
)
def test_bad_budgets_are_refused(usd, message):
    with pytest.raises(ValidationError, match=message):
        BudgetSpec.model_validate({"period": "day", "usd": usd})


def test_budget_period_must_be_known_and_unique():
    with pytest.raises(ValidationError, match="period"):
        BudgetSpec.model_validate({"period": "week", "usd": 1})
    with pytest.raises(ValidationError, match="one budget per period: day"):
        LimitSpec.model_validate({"budgets": [{"period": "day", "usd": 1}, {"period": "day", "usd": 2}]})


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError, match="Extra inputs"):
        LimitSpec.model_validate({"rpn": 10})


def test_float_budgets_keep_their_decimal_value():
    assert BudgetSpec(period="month", usd=0.1).usd == Decimal("0.1")
    assert BudgetSpec(period="total", usd=1000).micro_usd == 1_000_000_000


def test_money_conversion_rounds_reservations_up_and_is_exact_back():
    assert usd_to_micro(Decimal("0.0000001")) == 1
    assert usd_to_micro(Decimal("0.123456")) == 123_456
    assert usd_to_micro(0.1) == 100_000
    assert micro_to_usd(123_456) == Decimal("0.123456")
    with pytest.raises(ValueError, match="finite"):
        usd_to_micro(Decimal("NaN"))
