"""Live target health: latency, error rate and a circuit breaker per target, in this process.

A dead upstream must cost one fast failure, not seconds per call: after `failure_threshold` consecutive
failures the circuit opens and calls skip the target (to its fallbacks) for `open_s`; then one probe is
let through (half-open); its success closes the circuit, its failure opens it again.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from gateway.observability.metrics import Metrics
from gateway.routing import TargetStats

_STATE_VALUE = {"closed": 0, "half_open": 1, "open": 2}


@dataclass
class _Health:
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=200))
    outcomes: deque[bool] = field(default_factory=lambda: deque(maxlen=100))  # True = failure
    consecutive_failures: int = 0
    state: str = "closed"
    opened_at: float = 0.0
    probe_in_flight: bool = False


class TargetHealth:
    def __init__(
        self, *, metrics: Metrics, failure_threshold: int = 5, open_s: float = 15.0, clock=time.monotonic
    ) -> None:
        self._metrics = metrics
        self._threshold = failure_threshold
        self._open_s = open_s
        self._clock = clock
        self._targets: dict[str, _Health] = {}
        self._stats: dict[str, TargetStats] = {}
        self._stats_at = float("-inf")
        self._stats_dirty = True

    def _get(self, target: str) -> _Health:
        health = self._targets.get(target)
        if health is None:
            health = self._targets[target] = _Health()
        return health

    def allow(self, target: str) -> bool:
        """Whether a call may go to the target now (an open circuit lets one probe through after open_s)."""
        h = self._get(target)
        if h.state == "closed":
            return True
        if h.state == "open":
            if self._clock() - h.opened_at < self._open_s:
                return False
            self._set(target, h, "half_open")
        if h.probe_in_flight:
            return False
        h.probe_in_flight = True
        return True

    def success(self, target: str, latency_ms: float) -> None:
        h = self._get(target)
        h.latencies_ms.append(latency_ms)
        h.outcomes.append(False)
        h.consecutive_failures = 0
        h.probe_in_flight = False
        if h.state != "closed":
            self._set(target, h, "closed")

    def failure(self, target: str) -> None:
        h = self._get(target)
        h.outcomes.append(True)
        h.consecutive_failures += 1
        h.probe_in_flight = False
        if h.state == "half_open" or (h.state == "closed" and h.consecutive_failures >= self._threshold):
            h.opened_at = self._clock()
            self._set(target, h, "open")

    def release(self, target: str) -> None:
        """A call that ended without telling anything about the target (e.g. the client left)."""
        self._get(target).probe_in_flight = False

    def _set(self, target: str, h: _Health, state: str) -> None:
        h.state = state
        self._stats_dirty = True  # a circuit change must be seen by the very next decision
        self._metrics.circuit_state.labels(target).set(_STATE_VALUE[state])

    def stats(self) -> dict[str, TargetStats]:
        """Latency p50, error rate and circuit per target; recomputed at most every 0.25 s (it sorts)."""
        now = self._clock()
        if now - self._stats_at < 0.25 and not self._stats_dirty:
            return self._stats
        self._stats_at, self._stats_dirty = now, False
        self._stats = self._compute_stats()
        return self._stats

    def _compute_stats(self) -> dict[str, TargetStats]:
        out: dict[str, TargetStats] = {}
        for name, h in self._targets.items():
            latencies = sorted(h.latencies_ms)
            p50 = latencies[len(latencies) // 2] if latencies else None
            error_rate = sum(h.outcomes) / len(h.outcomes) if h.outcomes else 0.0
            circuit = h.state
            if circuit == "open" and self._clock() - h.opened_at >= self._open_s:
                circuit = "half_open"
            out[name] = TargetStats(p50_latency_ms=p50, error_rate=error_rate, circuit=circuit)  # type: ignore[arg-type]
        return out

    def state(self, target: str) -> str:
        return self._get(target).state
