"""Prometheus metrics, one registry per app. Labels hold target and route names, never keys or secrets."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "gateway_requests",
            "Requests served, by endpoint, target and status.",
            ["endpoint", "target", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "gateway_request_latency_seconds",
            "End-to-end latency.",
            ["endpoint", "target"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            "gateway_time_to_first_token_seconds",
            "Time to the first streamed chunk.",
            ["target"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "gateway_tokens",
            "Tokens by target, routing rule and kind.",
            ["target", "rule", "kind"],
            registry=r,
        )
        self.cost = Counter(
            "gateway_cost_usd", "Cost in USD by target and routing rule.", ["target", "rule"], registry=r
        )
        self.upstream_errors = Counter(
            "gateway_upstream_errors", "Upstream failures by target and kind.", ["target", "kind"], registry=r
        )
        self.limit_rejections = Counter(
            "gateway_limit_rejections", "Calls refused by a limit or budget.", ["kind", "scope"], registry=r
        )
        self.circuit_state = Gauge(
            "gateway_circuit_state",
            "Circuit breaker per target: 0 closed, 1 half-open, 2 open.",
            ["target"],
            registry=r,
        )
        self.attempts = Counter(
            "gateway_upstream_attempts",
            "Upstream attempts by target and outcome.",
            ["target", "outcome"],
            registry=r,
        )
        self.routed = Counter(
            "gateway_routed_requests",
            "Routing decisions by rule and chosen target.",
            ["rule", "target"],
            registry=r,
        )
        self.drift_psi = Gauge(
            "gateway_drift_psi",
            "Population stability index of a classification feature, recent vs baseline.",
            ["feature"],
            registry=r,
        )
        self.in_flight = Gauge("gateway_requests_in_flight", "Requests being served.", registry=r)
        self.ledger_pending = Gauge(
            "gateway_ledger_pending_rows", "Ledger rows waiting to be written.", registry=r
        )
        self._children: dict[tuple[MetricWrapperBase, tuple[str, ...]], Any] = {}

    def child(self, metric: MetricWrapperBase, *values: str) -> Any:
        """`metric.labels(*values)`, looked up once per label set. `labels()` checks its arguments and takes a
        lock on every call (about a microsecond, several times per call on the hot path); a dict hit does not.
        Nothing here removes a label set, so a remembered child is always the one the registry exports."""
        key = (metric, values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found

    def render(self) -> bytes:
        return generate_latest(self.registry)
