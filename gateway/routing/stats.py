"""Live health of a target, as the provider layer measures it; the router only reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CircuitState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True, slots=True)
class TargetStats:
    """p50 latency in milliseconds (None until measured), error rate 0..1, circuit breaker state."""

    p50_latency_ms: float | None = None
    error_rate: float = 0.0
    circuit: CircuitState = "closed"


def health_rank(stats: TargetStats | None, *, unhealthy_error_rate: float) -> int:
    """0 healthy, 1 doubtful (half-open or erring often), 2 unhealthy (circuit open). Unknown is healthy."""
    if stats is None:
        return 0
    if stats.circuit == "open":
        return 2
    if stats.circuit == "half_open" or stats.error_rate >= unhealthy_error_rate:
        return 1
    return 0
