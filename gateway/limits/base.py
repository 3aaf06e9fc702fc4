"""The limiter interface every backend implements, and the settings they share."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from gateway.limits.results import Admission, BudgetState, LimitExceeded, Scope
from gateway.limits.spec import LimitSpec

WINDOW_S = 60  # RPM and TPM are counted over the last 60 one-second buckets
DEFAULT_LEASE_S = 900.0  # an unsettled slot or reservation is forgotten after this (crashed process)


class Limiter(Protocol):
    """Check-and-reserve before a call, settle after it. One round trip each on Redis."""

    async def admit(
        self,
        *,
        key_id: str,
        team: str,
        target: str,
        key_limits: LimitSpec | None,
        team_limits: LimitSpec | None,
        target_limits: LimitSpec | None,
        tokens: int,
        max_cost_usd: Decimal,
    ) -> Admission | LimitExceeded:
        """Reserve every applicable limit at once, or nothing and say which limit refused.

        tokens: prompt tokens + the requested max_tokens; max_cost_usd: the call's worst-case price.
        """
        ...

    async def settle(self, admission: Admission, *, actual_tokens: int, actual_cost_usd: Decimal) -> None:
        """Correct tokens and spend to the real usage and free the slot. Idempotent; call it on errors too."""
        ...

    async def spend(self, scope: Scope, id: str) -> list[BudgetState]:
        """Spend per budget period of one key, team or target, for the admin API."""
        ...

    async def close(self) -> None: ...
