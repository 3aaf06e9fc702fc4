"""Drift: PSI per feature between the recent and the baseline window."""

from __future__ import annotations

import math
from collections import Counter

from gateway.classify.types import Classification, Complexity, Needs, Sensitivity
from gateway.observability.drift import DriftMonitor, length_bucket, psi


def make(task: str = "qa", tokens: int = 100, level: str = "none") -> Classification:
    return Classification(
        sensitivity=Sensitivity(level=level),  # type: ignore[arg-type]
        complexity=Complexity(score=0.2, tier="low"),
        task=task,
        domain="general",
        needs=Needs(prompt_tokens=tokens, expected_output_tokens=100),
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_psi_known_values() -> None:
    assert psi(Counter(a=50, b=50), Counter(a=50, b=50)) == 0
    expected = (0.9 - 0.5) * math.log(0.9 / 0.5) + (0.1 - 0.5) * math.log(0.1 / 0.5)
    assert math.isclose(psi(Counter(a=50, b=50), Counter(a=90, b=10)), expected)
    assert psi(Counter(a=100), Counter(b=100)) > 1  # a category that vanished: large, but finite


def test_same_traffic_is_stable_and_a_shift_is_flagged() -> None:
    clock = Clock()
    monitor = DriftMonitor(recent_s=600, baseline_s=3600, min_samples=50, clock=clock)
    for _ in range(50):  # 50 minutes of baseline: 60 % qa, 40 % code
        for i in range(10):
            monitor.observe(make("qa" if i < 6 else "code"))
        clock.now += 60
    for _ in range(10):  # the recent 10 minutes: the same mix
        for i in range(10):
            monitor.observe(make("qa" if i < 6 else "code"))
        clock.now += 60
    clock.now -= 60
    report = monitor.report()
    assert report["task"]["status"] == "stable" and report["task"]["psi"] < 0.01
    for _ in range(10):  # then 10 minutes of mostly code and long prompts
        clock.now += 60
        for i in range(10):
            monitor.observe(make("code" if i < 9 else "qa", tokens=5000))
    report = monitor.report()
    assert report["task"]["status"] == "investigate" and report["task"]["psi"] > 0.2
    assert report["prompt_length"]["psi"] > 0.2
    assert report["sensitivity_level"]["status"] == "stable"


def test_not_enough_data_says_so_and_old_buckets_are_forgotten() -> None:
    clock = Clock()
    monitor = DriftMonitor(recent_s=60, baseline_s=120, min_samples=10, clock=clock)
    monitor.observe(make())
    assert monitor.report()["task"] == {
        "psi": None,
        "status": "insufficient_data",
        "baseline": {},
        "recent": {"qa": 1},
    }
    clock.now += 3600
    monitor.observe(make("code"))
    baseline, recent = monitor.windows("task")
    assert baseline == Counter() and recent == Counter(code=1)


def test_length_buckets() -> None:
    assert [length_bucket(t) for t in (0, 63, 64, 5000, 10**6)] == ["<64", "<64", "<256", "<16384", ">=16384"]


def _twelve_lazy_calls_observed(clock: Clock) -> tuple[DriftMonitor, list[Classification]]:
    """Twelve classified calls 0.3 s apart, observed with a 1 s sample interval: the first of every four
    falls 1.2 s after the one before and is sampled."""
    from gateway.classify import default_classifier

    monitor = DriftMonitor(recent_s=600, baseline_s=3600, min_samples=1, clock=clock, content_interval_s=1.0)
    classifier = default_classifier()
    records = [
        classifier.classify({"messages": [{"role": "user", "content": f"say hello {i}"}]}, lazy=True)
        for i in range(12)
    ]
    for record in records:
        monitor.observe(record)
        clock.now += 0.3
    return monitor, records


def test_content_features_counted_at_most_once_per_interval_without_judging_the_rest() -> None:
    clock = Clock()
    monitor, records = _twelve_lazy_calls_observed(clock)
    _, recent_tasks = monitor.windows("task", estimated=False)
    _, recent_levels = monitor.windows("sensitivity_level")
    assert sum(recent_tasks.values()) == 3 and sum(recent_levels.values()) == 12
    # Only the sampled calls had their content judged for drift.
    assert [r.assessed for r in records] == [i % 4 == 0 for i in range(12)]
    # Calls rarer than the interval are all counted.
    clock.now += 5
    for _ in range(3):
        monitor.observe(make("code"))
        clock.now += 1.5
    _, recent_tasks = monitor.windows("task", estimated=False)
    assert recent_tasks["code"] == 3


def test_each_minutes_sample_is_weighted_by_its_calls() -> None:
    clock = Clock()
    monitor = DriftMonitor(recent_s=600, baseline_s=3600, min_samples=5, clock=clock, content_interval_s=1.0)
    for _ in range(100):  # a busy minute: 100 code calls, 10 ms apart, one judged
        monitor.observe(make("code"))
        clock.now += 0.01
    clock.now += 60
    for _ in range(10):  # a quiet minute: 10 chat calls, 2 s apart, all judged
        monitor.observe(make("chat"))
        clock.now += 2
    _, counted = monitor.windows("task", estimated=False)
    _, estimated = monitor.windows("task")
    assert counted == Counter(code=1, chat=10)
    assert estimated == Counter(code=100, chat=10)
    report = monitor.report()["task"]
    assert report["recent"] == {"code": 100, "chat": 10}
    assert report["status"] == "insufficient_data"  # the baseline window counted nothing yet


def test_a_clock_set_back_does_not_stop_the_sampling() -> None:
    clock = Clock()
    monitor = DriftMonitor(recent_s=600, baseline_s=3600, min_samples=1, clock=clock, content_interval_s=1.0)
    monitor.observe(make("code"))
    clock.now -= 3600
    clock.now += 0.5
    monitor.observe(make("qa"))  # an hour "earlier": sampled, not skipped for an hour
    clock.now += 0.5
    monitor.observe(make("qa"))  # 0.5 s after that one: not sampled
    assert (
        sum(monitor.windows("task", estimated=False)[1].values())
        + sum(monitor.windows("task", estimated=False)[0].values())
        == 2
    )


def test_prompt_length_is_counted_on_the_sample_only_and_estimated_for_all_calls() -> None:
    """The length bucket needs the prompt's token count, which the router makes only when a check needs it:
    drift counts it on the sampled calls (as task and domain) and scales it by the minute's calls."""
    monitor, records = _twelve_lazy_calls_observed(Clock())
    _, counted = monitor.windows("prompt_length", estimated=False)
    _, estimated = monitor.windows("prompt_length")
    assert counted == Counter({"<64": 3})
    assert estimated == Counter({"<64": 12})
    # The unsampled calls' prompts were never counted.
    assert [type(r._needs) is Needs or type(r._bound) is Needs for r in records] == [
        i % 4 == 0 for i in range(12)
    ]
