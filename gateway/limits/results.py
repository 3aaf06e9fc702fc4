"""What the limiter answers: an admission to settle later, or the limit that refused the call."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from gateway.errors import GatewayError
from gateway.limits.checks import Check
from gateway.limits.periods import period_end_s
from gateway.limits.spec import micro_to_usd

LimitKind = Literal["requests", "tokens", "concurrency", "budget"]
Scope = Literal["key", "team", "target"]
Backend = Literal["redis", "memory"]


@dataclass(frozen=True, slots=True)
class LimitState:
    """One limit as seen right after the decision: for the x-ratelimit-* headers."""

    kind: LimitKind
    scope: Scope
    limit: int  # requests, tokens, slots or micro-dollars
    remaining: int
    reset_s: float  # seconds until the limit is back at its full value


@dataclass(slots=True)
class Admission:
    """A granted reservation. Pass it to `Limiter.settle` exactly when the call ends, however it ends."""

    id: str
    backend: Backend
    admitted_at_ms: int
    checks: tuple[Check, ...]
    periods: tuple[int, ...]  # budget period index per check (0 for other kinds)
    states: tuple[LimitState, ...]
    tokens: int
    max_cost_micro: int
    settled: bool = field(default=False)


@dataclass(frozen=True, slots=True)
class LimitExceeded:
    """A refusal. `unavailable` means a budget could not be checked (shared store down): a 503, not a 429."""

    kind: LimitKind
    scope: Scope
    limit: int
    remaining: int
    reset_s: float
    retry_after_s: float | None  # None: this request can never fit (e.g. more tokens than the TPM)
    states: tuple[LimitState, ...] = ()
    unavailable: bool = False

    @property
    def message(self) -> str:
        if self.unavailable:
            return f"The {self.scope} budget cannot be checked right now; try again shortly."
        what = {
            "requests": f"{self.limit} requests per minute",
            "tokens": f"{self.limit} tokens per minute",
            "concurrency": f"{self.limit} concurrent requests",
            "budget": f"a budget of ${_usd(self.limit)}",
        }[self.kind]
        if self.retry_after_s is None:
            return f"Request too large for the {self.scope} limit of {what}."
        return f"Rate limit reached: the {self.scope} limit of {what} is used up."

    def error(self, headers: dict[str, str] | None = None) -> GatewayError:
        """The reply to send: 429 (or 503 when unavailable) in the OpenAI shape, with Retry-After."""
        all_headers = dict(headers or {})
        if self.retry_after_s is not None:
            all_headers["retry-after"] = str(max(1, math.ceil(self.retry_after_s)))
        code = "budget_unavailable" if self.unavailable else f"{self.kind}_limit_exceeded"
        if self.kind == "budget" and not self.unavailable:
            code = "budget_exceeded"
        return GatewayError(503 if self.unavailable else 429, self.message, code=code, headers=all_headers)


@dataclass(frozen=True, slots=True)
class BudgetState:
    """Spend of one scope in one budget period, for the admin API."""

    period: Literal["day", "month", "total"]
    spent_usd: Decimal  # settled calls
    reserved_usd: Decimal  # worst case of calls still in flight
    budget_usd: Decimal | None  # the limit last enforced, None if never enforced
    resets_at: datetime | None  # None for "total"

    @classmethod
    def of(cls, period: str, index: int, *, spent: int, committed: int, limit: int | None) -> BudgetState:
        """From the stored micro-dollar counters of the period with this index."""
        end_s = period_end_s(period, index)
        return cls(
            period=period,  # type: ignore[arg-type]
            spent_usd=micro_to_usd(spent),
            reserved_usd=micro_to_usd(max(0, committed - spent)),
            budget_usd=None if limit is None else micro_to_usd(limit),
            resets_at=None if end_s is None else datetime.fromtimestamp(end_s, UTC),
        )


def _usd(micro: int) -> str:
    return f"{Decimal(micro) / Decimal(1_000_000):.2f}"
