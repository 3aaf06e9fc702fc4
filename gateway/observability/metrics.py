"""Prometheus metrics, one registry per app. Labels hold target and route names, never keys or secrets.

The metrics every call updates (about ten updates per call) are our own small accumulators, exported through
one prometheus_client collector, so /metrics is prometheus_client's own text format. prometheus_client's
metric objects take a lock and check their arguments on every update, and its histogram walks its buckets
in Python: together about 5 µs of CPU per call, a few percent of the gateway's whole cost per call. Ours are
attribute additions. They are updated from the event loop's thread only (no update is made from the
worker threads that embed or check policies), so they need no lock.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Any, Generic, TypeVar

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Value:
    """One label set's counter or gauge."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount

    def dec(self, amount: float = 1.0) -> None:
        self.value -= amount

    def set(self, value: float) -> None:
        self.value = float(value)


class Distribution:
    """One label set's histogram: counts per bucket (not cumulative; the last is +Inf) and the sum."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, amount: float) -> None:
        # Prometheus buckets are "less than or equal": the first bound >= amount.
        self.counts[bisect_left(self.bounds, amount)] += 1
        self.sum += amount


Child = TypeVar("Child", Value, Distribution)


class _Family(Generic[Child]):
    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._children: dict[tuple[str, ...], Child] = {}

    def _new(self) -> Child:
        raise NotImplementedError

    def labels(self, *values: str) -> Child:
        """The child for one label set, created on first use (never removed, like prometheus_client's)."""
        found = self._children.get(values)
        if found is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name} takes labels {self.labelnames}, got {values}")
            key = tuple(str(v) for v in values)  # a non-str value is exported (and kept) as its str
            found = self._children.get(key)
            if found is None:
                found = self._children[key] = self._new()
        return found

    def collect(self) -> Metric:
        raise NotImplementedError


class _ValueFamily(_Family[Value]):
    """A family of single values, exported as `exported_as` (a counter's or a gauge's metric family)."""

    exported_as: type[CounterMetricFamily] | type[GaugeMetricFamily]

    def _new(self) -> Value:
        return Value()

    def collect(self) -> Metric:
        family = self.exported_as(self.name, self.documentation, labels=self.labelnames)
        for values, child in self._children.items():
            family.add_metric(values, child.value)
        return family


class Counter(_ValueFamily):
    exported_as = CounterMetricFamily


class Gauge(_ValueFamily):
    """A gauge with labels (`labels(...).set(v)`), or without: then inc/dec/set act on its one value."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, documentation, labelnames)
        if not self.labelnames:
            self._only = self.labels()

    def inc(self, amount: float = 1.0) -> None:
        self._only.value += amount

    def dec(self, amount: float = 1.0) -> None:
        self._only.value -= amount

    def set(self, value: float) -> None:
        self._only.value = float(value)

    exported_as = GaugeMetricFamily


class Histogram(_Family[Distribution]):
    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], *, buckets: Sequence[float]
    ) -> None:
        super().__init__(name, documentation, labelnames)
        self.bounds = tuple(float(b) for b in buckets)
        if list(self.bounds) != sorted(set(self.bounds)):
            raise ValueError("histogram buckets must increase")

    def _new(self) -> Distribution:
        return Distribution(self.bounds)

    def collect(self) -> Metric:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        edges = [floatToGoString(b) for b in self.bounds] + ["+Inf"]
        for values, child in self._children.items():
            running = 0
            cumulative = []
            for edge, count in zip(edges, child.counts, strict=True):
                running += count
                cumulative.append((edge, running))
            family.add_metric(values, cumulative, child.sum)
        return family


class _Collector:
    """Hands the registry our families at each scrape."""

    def __init__(self, families: list[_Family[Any]]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        for family in self._families:
            yield family.collect()

    def describe(self) -> Iterator[Metric]:
        return self.collect()


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "gateway_requests",
            "Requests served, by endpoint, target and status.",
            ["endpoint", "target", "status"],
        )
        self.latency = Histogram(
            "gateway_request_latency_seconds",
            "End-to-end latency.",
            ["endpoint", "target"],
            buckets=_LATENCY_BUCKETS,
        )
        self.ttft = Histogram(
            "gateway_time_to_first_token_seconds",
            "Time to the first streamed chunk.",
            ["target"],
            buckets=_LATENCY_BUCKETS,
        )
        self.tokens = Counter(
            "gateway_tokens",
            "Tokens by target, routing rule and kind.",
            ["target", "rule", "kind"],
        )
        self.cost = Counter(
            "gateway_cost_usd",
            "Cost in USD by target and routing rule.",
            ["target", "rule"],
        )
        self.upstream_errors = Counter(
            "gateway_upstream_errors",
            "Upstream failures by target and kind.",
            ["target", "kind"],
        )
        self.limit_rejections = Counter(
            "gateway_limit_rejections",
            "Calls refused by a limit or budget.",
            ["kind", "scope"],
        )
        self.circuit_state = Gauge(
            "gateway_circuit_state",
            "Circuit breaker per target: 0 closed, 1 half-open, 2 open.",
            ["target"],
        )
        self.attempts = Counter(
            "gateway_upstream_attempts",
            "Upstream attempts by target and outcome.",
            ["target", "outcome"],
        )
        self.routed = Counter(
            "gateway_routed_requests",
            "Routing decisions by rule and chosen target.",
            ["rule", "target"],
        )
        self.drift_psi = Gauge(
            "gateway_drift_psi",
            "Population stability index of a classification feature, recent vs baseline.",
            ["feature"],
        )
        self.in_flight = Gauge("gateway_requests_in_flight", "Requests being served.")
        self.ledger_pending = Gauge(
            "gateway_ledger_pending_rows",
            "Ledger rows waiting to be written.",
        )
        self.registry.register(_Collector([v for v in vars(self).values() if isinstance(v, _Family)]))

    @staticmethod
    def child(metric: Counter | Gauge | Histogram, *values: str) -> Any:
        """`metric.labels(*values)`: the one child per label set that /metrics exports."""
        return metric.labels(*values)

    def render(self) -> bytes:
        return generate_latest(self.registry)
