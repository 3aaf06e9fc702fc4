"""Metrics: our own accumulators behind one collector; what they count is what /metrics exports, in
prometheus_client's text format (bucket edges, label escaping, _total/_bucket/_count/_sum names)."""

import pytest

from gateway.observability.metrics import Metrics


def test_child_is_the_labelled_child_and_counts_into_the_registry() -> None:
    m = Metrics()
    first = m.child(m.requests, "chat", "gpt-4o", "200")
    assert first is m.requests.labels("chat", "gpt-4o", "200")
    assert m.child(m.requests, "chat", "gpt-4o", "200") is first
    first.inc()
    m.child(m.requests, "chat", "gpt-4o", "200").inc(2)
    m.child(m.latency, "chat", "gpt-4o").observe(0.01)
    assert (
        m.registry.get_sample_value(
            "gateway_requests_total", {"endpoint": "chat", "target": "gpt-4o", "status": "200"}
        )
        == 3
    )
    assert (
        m.registry.get_sample_value(
            "gateway_request_latency_seconds_count", {"endpoint": "chat", "target": "gpt-4o"}
        )
        == 1
    )


def test_children_are_per_metric_and_per_label_set() -> None:
    m = Metrics()
    assert m.child(m.requests, "chat", "a", "200") is not m.child(m.requests, "chat", "a", "502")
    assert m.child(m.cost, "a", "rule") is not m.child(m.routed, "a", "rule")
    m.child(m.routed, "rule", "a").inc()
    assert m.registry.get_sample_value("gateway_routed_requests_total", {"rule": "rule", "target": "a"}) == 1
    assert m.registry.get_sample_value("gateway_cost_usd_total", {"target": "a", "rule": "rule"}) == 0


def _sample(m: Metrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def test_histogram_buckets_are_less_or_equal_and_cumulative() -> None:
    m = Metrics()
    h = m.child(m.latency, "chat", "t")
    for value in (0.0005, 0.001, 0.0011, 0.3, 120, 121):
        h.observe(value)
    got = {
        le: _sample(m, "gateway_request_latency_seconds_bucket", endpoint="chat", target="t", le=le)
        for le in ("0.001", "0.0025", "0.25", "0.5", "120.0", "+Inf")
    }
    # 0.001 counts in le="0.001" (a bound holds values equal to it); 121 only in +Inf
    assert got == {"0.001": 2, "0.0025": 3, "0.25": 3, "0.5": 4, "120.0": 5, "+Inf": 6}
    assert _sample(m, "gateway_request_latency_seconds_count", endpoint="chat", target="t") == 6
    assert _sample(m, "gateway_request_latency_seconds_sum", endpoint="chat", target="t") == pytest.approx(
        0.0005 + 0.001 + 0.0011 + 0.3 + 120 + 121
    )


def test_gauges_with_and_without_labels() -> None:
    m = Metrics()
    m.in_flight.inc()
    m.in_flight.inc(2)
    m.in_flight.dec()
    assert _sample(m, "gateway_requests_in_flight") == 2
    m.ledger_pending.set(7)
    assert _sample(m, "gateway_ledger_pending_rows") == 7
    m.circuit_state.labels("a").set(2)
    m.circuit_state.labels("a").set(1)
    assert _sample(m, "gateway_circuit_state", target="a") == 1


def test_label_values_are_escaped_kept_as_str_and_counted() -> None:
    m = Metrics()
    m.child(m.routed, 'odd "rule" \\ x', "line\nbreak").inc(3)
    text = m.render().decode()
    assert 'gateway_routed_requests_total{rule="odd \\"rule\\" \\\\ x",target="line\\nbreak"} 3.0' in text
    m.child(m.requests, "chat", "t", 200).inc()  # type: ignore[arg-type]
    m.child(m.requests, "chat", "t", "200").inc()
    m.child(m.requests, "chat", "t", 200).inc()  # type: ignore[arg-type]
    assert _sample(m, "gateway_requests_total", endpoint="chat", target="t", status="200") == 3
    with pytest.raises(ValueError):
        m.child(m.routed, "only-one-label")
    assert "only-one-label" not in m.render().decode()


def test_every_family_is_exported_with_help_and_type() -> None:
    text = Metrics().render().decode()
    for name, kind in (
        ("gateway_requests_total", "counter"),
        ("gateway_request_latency_seconds", "histogram"),
        ("gateway_requests_in_flight", "gauge"),
        ("gateway_upstream_attempts_total", "counter"),
        ("gateway_drift_psi", "gauge"),
    ):
        assert f"# TYPE {name} {kind}" in text
        assert f"# HELP {name} " in text
