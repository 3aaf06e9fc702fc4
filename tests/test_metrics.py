"""Metrics.child: the remembered child is the registry's own, so what it counts is what /metrics exports."""

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
