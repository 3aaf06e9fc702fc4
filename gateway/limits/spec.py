"""Limit configuration: what a key, a team or a target may use. Validated once, when stored."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

MAX_RPM = 10**7
MAX_TPM = 10**10
MAX_CONCURRENCY = 10**5
MAX_BUDGET_USD = Decimal(10**9)
MICRO = Decimal("0.000001")

BudgetPeriod = Literal["day", "month", "total"]


def usd_to_micro(usd: Decimal | float | int | str) -> int:
    """Dollars to integer micro-dollars, rounding up so a reservation never undercounts."""
    value = usd if isinstance(usd, Decimal) else Decimal(str(usd))
    if not value.is_finite():
        raise ValueError(f"amount must be a finite number, got {usd!r}")
    return int((value / MICRO).to_integral_value(rounding="ROUND_CEILING"))


def actual_cost_micro(actual_usd: Decimal | float | int, reserved_micro: int) -> int:
    """The real cost to settle: never negative; an unknown (non-finite) cost counts as the reservation."""
    value = actual_usd if isinstance(actual_usd, Decimal) else Decimal(str(actual_usd))
    if not value.is_finite():
        return reserved_micro
    return max(0, usd_to_micro(value))


def micro_to_usd(micro: int) -> Decimal:
    return (Decimal(micro) * MICRO).quantize(MICRO)


class BudgetSpec(BaseModel):
    """A spending cap in USD for one period; day and month reset at UTC boundaries, total never."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    period: BudgetPeriod
    usd: Decimal

    @field_validator("usd", mode="before")
    @classmethod
    def _usd(cls, v: object) -> Decimal:
        if isinstance(v, bool) or not isinstance(v, Decimal | float | int | str):
            raise ValueError("usd must be a number")
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError("usd must be a finite number")
        try:
            # str() of a float keeps its shortest decimal form (0.1 stays 0.1, not 0.1000000000000000055...).
            value = v if isinstance(v, Decimal) else Decimal(str(v).strip())
        except InvalidOperation:
            raise ValueError(f"usd must be a number, got {v!r}") from None
        if not value.is_finite():
            raise ValueError("usd must be a finite number")
        if value < 0:
            raise ValueError("usd must not be negative")
        if value > MAX_BUDGET_USD:
            raise ValueError(f"usd must be at most {MAX_BUDGET_USD}")
        if value != value.quantize(MICRO, rounding="ROUND_DOWN"):
            raise ValueError("usd has more precision than a micro-dollar (6 decimal places)")
        return value

    @property
    def micro_usd(self) -> int:
        return usd_to_micro(self.usd)


class LimitSpec(BaseModel):
    """Limits of one scope (key, team or target). None means unlimited; 0 means nothing is allowed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rpm: StrictInt | None = Field(None, description="requests per minute")
    tpm: StrictInt | None = Field(None, description="tokens per minute: prompt + requested max_tokens")
    max_concurrency: StrictInt | None = Field(None, description="requests in flight at once")
    budgets: list[BudgetSpec] = Field(default_factory=list)

    @field_validator("rpm")
    @classmethod
    def _rpm(cls, v: int | None) -> int | None:
        return _bounded("rpm", v, MAX_RPM)

    @field_validator("tpm")
    @classmethod
    def _tpm(cls, v: int | None) -> int | None:
        return _bounded("tpm", v, MAX_TPM)

    @field_validator("max_concurrency")
    @classmethod
    def _concurrency(cls, v: int | None) -> int | None:
        return _bounded("max_concurrency", v, MAX_CONCURRENCY)

    @model_validator(mode="after")
    def _one_budget_per_period(self) -> LimitSpec:
        periods = [b.period for b in self.budgets]
        duplicated = sorted({p for p in periods if periods.count(p) > 1})
        if duplicated:
            raise ValueError(f"one budget per period: {', '.join(duplicated)} given more than once")
        return self

    @property
    def is_empty(self) -> bool:
        return self.rpm is None and self.tpm is None and self.max_concurrency is None and not self.budgets


def _bounded(name: str, value: int | None, maximum: int) -> int | None:
    if value is None:
        return None
    if value < 0:
        raise ValueError(f"{name} must not be negative (use null for unlimited)")
    if value > maximum:
        raise ValueError(f"{name} must be at most {maximum:,} (use null for unlimited)")
    return value
