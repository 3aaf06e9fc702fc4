"""The circuit breaker: closed → open after N failures → half-open probe → closed or open again."""

from __future__ import annotations

from gateway.observability.metrics import Metrics
from gateway.serving.health import TargetHealth


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_cycle() -> None:
    clock = Clock()
    h = TargetHealth(metrics=Metrics(), failure_threshold=3, open_s=10, clock=clock)
    for _ in range(2):
        assert h.allow("a")
        h.failure("a")
    assert h.state("a") == "closed"
    h.failure("a")
    assert h.state("a") == "open" and not h.allow("a")
    clock.now += 10
    assert h.allow("a")  # the one probe
    assert not h.allow("a")  # nobody else while it runs
    h.failure("a")
    assert h.state("a") == "open" and not h.allow("a")
    clock.now += 10
    assert h.allow("a")
    h.success("a", 12.0)
    assert h.state("a") == "closed" and h.allow("a") and h.allow("a")
    stats = h.stats()["a"]
    assert stats.circuit == "closed" and stats.p50_latency_ms == 12.0 and 0 < stats.error_rate < 1


def test_a_released_probe_lets_the_next_call_probe() -> None:
    clock = Clock()
    h = TargetHealth(metrics=Metrics(), failure_threshold=1, open_s=1, clock=clock)
    h.failure("a")
    clock.now += 1
    assert h.allow("a")
    h.release("a")  # the client left: nothing learnt, but the probe slot is free again
    assert h.allow("a")


def test_success_resets_the_consecutive_count() -> None:
    h = TargetHealth(metrics=Metrics(), failure_threshold=2, open_s=1, clock=Clock())
    h.failure("a")
    h.success("a", 1.0)
    h.failure("a")
    assert h.state("a") == "closed"
