"""LiveView on real Prometheus exposition text: rates, window percentiles, circuit states, drift."""

from __future__ import annotations

import pytest

from gateway.observability.metrics import Metrics
from gateway.ui.live import LiveView, parse_metrics, quantile


def text(metrics: Metrics) -> str:
    return metrics.render().decode()


def test_quantile_interpolates_inside_the_bucket() -> None:
    buckets = {0.1: 0.0, 0.2: 10.0, 0.5: 20.0, float("inf"): 20.0}
    assert quantile(0.5, buckets) == pytest.approx(0.2)
    assert quantile(0.25, buckets) == pytest.approx(0.15)
    assert quantile(0.95, buckets) == pytest.approx(0.2 + 0.3 * 0.9)
    assert quantile(0.5, {0.1: 0.0, float("inf"): 0.0}) is None
    assert quantile(0.5, {}) is None
    assert quantile(0.99, {1.0: 0.0, float("inf"): 4.0}) == 1.0  # beyond the last finite edge


def test_summary_over_a_window() -> None:
    metrics = Metrics()
    live = LiveView(window_s=30)
    for _ in range(10):
        metrics.requests.labels("chat", "gpt-4o", "200").inc()
        metrics.latency.labels("chat", "gpt-4o").observe(0.04)
    live.add(text(metrics), now=1000.0)
    first = live.summary()
    assert first["window_s"] is None and first["targets"][0]["requests_per_s"] is None
    # In the next 10 s: 18 fast successes and 2 upstream errors, all slow-ish.
    for _ in range(18):
        metrics.requests.labels("chat", "gpt-4o", "200").inc()
        metrics.latency.labels("chat", "gpt-4o").observe(0.3)
    for _ in range(2):
        metrics.requests.labels("chat", "gpt-4o", "502").inc()
    metrics.ttft.labels("gpt-4o").observe(0.02)
    metrics.circuit_state.labels("gpt-4o").set(2)
    metrics.routed.labels("code", "gpt-4o").inc(15)
    metrics.routed.labels("default", "llama").inc(5)
    metrics.drift_psi.labels("task").set(0.27)
    live.add(text(metrics), now=1010.0)
    summary = live.summary()
    assert summary["window_s"] == pytest.approx(10.0)
    assert summary["requests_per_s"] == pytest.approx(2.0)
    row = summary["targets"][0]
    assert row["target"] == "gpt-4o"
    assert row["requests_per_s"] == pytest.approx(2.0)
    assert row["error_rate"] == pytest.approx(0.1)
    assert row["requests_total"] == 30
    assert row["latency_scope"] == "window"
    assert 0.25 <= row["latency_p50_s"] <= 0.5  # the window's calls, not the earlier 40 ms ones
    assert 0.01 <= row["ttft_p50_s"] <= 0.025
    assert row["circuit"] == "open"
    shares = {(r["rule"], r["target"]): r["share"] for r in summary["routing"]}
    assert shares == {("code", "gpt-4o"): pytest.approx(0.75), ("default", "llama"): pytest.approx(0.25)}
    assert summary["drift"] == {"task": pytest.approx(0.27)}


def test_quiet_window_falls_back_to_percentiles_since_start() -> None:
    metrics = Metrics()
    metrics.requests.labels("chat", "t", "200").inc()
    metrics.latency.labels("chat", "t").observe(0.004)
    live = LiveView(window_s=30)
    live.add(text(metrics), now=0.0)
    live.add(text(metrics), now=5.0)
    row = live.summary()["targets"][0]
    assert row["requests_per_s"] == 0.0 and row["error_rate"] is None
    assert row["latency_scope"] == "since_start" and row["latency_p50_s"] is not None


def test_restarted_process_counts_from_zero() -> None:
    before, after = Metrics(), Metrics()
    before.requests.labels("chat", "t", "200").inc(100)
    after.requests.labels("chat", "t", "200").inc(4)
    live = LiveView(window_s=30)
    live.add(text(before), now=0.0)
    live.add(text(after), now=2.0)
    assert live.summary()["requests_per_s"] == pytest.approx(2.0)


def test_old_snapshots_leave_the_window() -> None:
    metrics = Metrics()
    live = LiveView(window_s=10)
    for at in range(0, 60, 2):
        metrics.requests.labels("chat", "t", "200").inc()
        live.add(text(metrics), now=float(at))
    summary = live.summary()
    assert 10 <= summary["window_s"] <= 12
    assert summary["requests_per_s"] == pytest.approx(0.5)
    live.add(text(metrics), now=500.0)  # a poll after a long pause: no stale baseline
    assert live.summary()["window_s"] is None


def test_polls_close_together_replace_the_newest_snapshot() -> None:
    metrics = Metrics()
    live = LiveView(window_s=30)
    live.add(text(metrics), now=0.0)
    live.add(text(metrics), now=0.2)
    assert live.summary()["window_s"] is None


def test_unrelated_and_empty_exposition_text() -> None:
    snap = parse_metrics("# nothing here\nother_metric 3\n", at=0.0)
    assert snap.requests == {} and snap.drift == {}
    live = LiveView()
    assert live.summary()["targets"] == []
