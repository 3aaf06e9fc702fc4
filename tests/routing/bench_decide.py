"""Latency of decide() on the default policy: `python -m tests.routing.bench_decide` (not a pytest test).

Each case is timed on the live decide() and, in alternating blocks of the same run, on the frozen copy of the
implementation before the rewrite (reference_decide.py), with the ratio of their means."""

from __future__ import annotations

import platform
import statistics
import time
from pathlib import Path

from gateway.auth.principal import Principal
from gateway.classify.types import Classification, Complexity, Needs, SensitiveFinding, Sensitivity
from gateway.routing import TargetStats, check_policy_text, decide, explain
from tests.routing import reference_decide as reference

DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "router_policies" / "default.yaml"
ROUNDS = 20_000
BLOCK = 1_000


def classification(level: str, tier: str, task: str, **needs: bool) -> Classification:
    findings = (SensitiveFinding("email", "personal", 0.9),) if level != "none" else ()
    return Classification(
        Sensitivity(level, findings),  # type: ignore[arg-type]
        Complexity(0.5, tier),  # type: ignore[arg-type]
        task,
        "general",
        Needs(400, 300, **needs),
    )


def percentile_us(samples: list[int], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000


def main() -> None:
    text = DEFAULT_POLICY.read_text()
    started = time.perf_counter()
    policy, _ = check_policy_text(text)
    first_load_ms = (time.perf_counter() - started) * 1000
    assert policy is not None
    started = time.perf_counter()
    for _ in range(50):
        check_policy_text(text)
    load_ms = (time.perf_counter() - started) * 1000 / 50
    caller = Principal("k", "bench", "team", frozenset(), None)
    stats = {
        "gpt-4o": TargetStats(800.0),
        "claude-sonnet-4-5": TargetStats(600.0, circuit="half_open"),
        "llama-3.1-8b": TargetStats(250.0),
    }
    cases = {
        "explicit gpt-4o, not sensitive": (classification("none", "low", "qa"), "gpt-4o"),
        "sensitive (rule 1 of 5)": (classification("medium", "low", "qa"), "auto"),
        "hard code, fastest (rule 4)": (classification("none", "high", "code"), "auto"),
        "simple, cheapest (rule 5)": (classification("none", "low", "qa"), "auto"),
        "simple + images (rule 5)": (classification("none", "low", "qa", images=True), "auto"),
        "explicit gpt-4o + sensitive": (classification("high", "low", "qa"), "gpt-4o"),
    }
    print(f"decide() on router_policies/default.yaml, {ROUNDS} calls per case, {platform.python_version()}")
    print(
        f"policy load+validate: first {first_load_ms:.1f} ms (reads litellm price map), then {load_ms:.2f} ms"
    )
    print(f"  {'':30s} {'live decide()':>38s}   {'reference (before the rewrite)':>30s}")
    for label, (request, model) in cases.items():
        live: list[int] = []
        before: list[int] = []
        # Alternate blocks of the two, so both see the same load on a shared machine.
        for _ in range(ROUNDS // BLOCK):
            for fn, samples in ((decide, live), (reference.decide, before)):
                for _ in range(BLOCK):
                    t0 = time.perf_counter_ns()
                    fn(policy, request, principal=caller, requested_model=model, target_stats=stats)
                    samples.append(time.perf_counter_ns() - t0)
        print(
            f"  {label:30s} p50 {percentile_us(live, 0.5):6.1f} µs"
            f"  p99 {percentile_us(live, 0.99):6.1f} µs"
            f"  mean {statistics.fmean(live) / 1000:6.1f} µs"
            f"   p50 {percentile_us(before, 0.5):6.1f} µs  mean {statistics.fmean(before) / 1000:6.1f} µs"
            f"   {statistics.fmean(before) / statistics.fmean(live):4.1f}x"
        )
    request, model = cases["hard code, fastest (rule 4)"]
    samples = []
    for _ in range(ROUNDS // 4):
        t0 = time.perf_counter_ns()
        explain(policy, request, principal=caller, requested_model=model, target_stats=stats)
        samples.append(time.perf_counter_ns() - t0)
    print(f"  {'explain(), hard code':30s} p50 {percentile_us(samples, 0.5):6.1f} µs")


if __name__ == "__main__":
    main()
