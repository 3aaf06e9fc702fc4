"""Live view: Prometheus samples from /metrics turned into rates, percentiles and states per target.

Each poll parses the exposition text (prometheus_client's parser) into a snapshot; rates and latency
percentiles come from the difference between the newest snapshot and one up to `window_s` older, the way
Prometheus' rate() and histogram_quantile() would compute them. Metrics are per process: with several
replicas each console poll shows the replica that answered it.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

_CIRCUIT = {0: "closed", 1: "half-open", 2: "open"}
_MIN_GAP_S = 1.0  # polls closer than this reuse the previous snapshot as the newest one


@dataclass
class Snapshot:
    """The counters and gauges the live view needs, keyed by their labels."""

    at: float
    requests: dict[tuple[str, str], float] = field(default_factory=dict)  # (target, status) -> count
    latency: dict[str, dict[float, float]] = field(default_factory=dict)  # target -> le -> cumulative
    ttft: dict[str, dict[float, float]] = field(default_factory=dict)
    circuit: dict[str, float] = field(default_factory=dict)
    routed: dict[tuple[str, str], float] = field(default_factory=dict)  # (rule, target) -> count
    drift: dict[str, float] = field(default_factory=dict)
    in_flight: float = 0.0


def parse_metrics(text: str, *, at: float) -> Snapshot:
    snap = Snapshot(at=at)
    latency: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    ttft: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, float(sample.value)
            target = labels.get("target", "")
            if name == "gateway_requests_total":
                key = (target, labels.get("status", ""))
                snap.requests[key] = snap.requests.get(key, 0.0) + value
            elif name == "gateway_request_latency_seconds_bucket":
                latency[target][float(labels["le"])] += value  # summed over endpoints
            elif name == "gateway_time_to_first_token_seconds_bucket":
                ttft[target][float(labels["le"])] += value
            elif name == "gateway_circuit_state":
                snap.circuit[target] = value
            elif name == "gateway_routed_requests_total":
                key = (labels.get("rule", ""), target)
                snap.routed[key] = snap.routed.get(key, 0.0) + value
            elif name == "gateway_drift_psi":
                snap.drift[labels.get("feature", "")] = value
            elif name == "gateway_requests_in_flight":
                snap.in_flight = value
    snap.latency = {t: dict(b) for t, b in latency.items()}
    snap.ttft = {t: dict(b) for t, b in ttft.items()}
    return snap


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """histogram_quantile(): linear interpolation inside the bucket that holds the q-th observation."""
    edges = sorted(buckets.items())
    if not edges or edges[-1][1] <= 0:
        return None
    total = edges[-1][1]
    rank = q * total
    lower_edge, lower_count = 0.0, 0.0
    for edge, count in edges:
        if count >= rank:
            if math.isinf(edge):
                return lower_edge  # beyond the last finite bucket: its edge is the best bound known
            in_bucket = count - lower_count
            fraction = (rank - lower_count) / in_bucket if in_bucket > 0 else 1.0
            return lower_edge + (edge - lower_edge) * fraction
        lower_edge, lower_count = edge, count
    return None


def _minus(new: dict[Any, float], old: dict[Any, float]) -> dict[Any, float]:
    # A counter that went down means the process restarted: count from zero again.
    return {k: (v - old.get(k, 0.0) if v >= old.get(k, 0.0) else v) for k, v in new.items()}


def _is_error(status: str) -> bool:
    return status.isdigit() and int(status) >= 500


class LiveView:
    """Keeps recent snapshots of this process's metrics and summarises them for the console."""

    def __init__(self, *, window_s: float = 30.0) -> None:
        self._window_s = window_s
        self._snapshots: deque[Snapshot] = deque()

    def add(self, text: str, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        snap = parse_metrics(text, at=now)
        if self._snapshots and now - self._snapshots[-1].at < _MIN_GAP_S:
            self._snapshots[-1] = snap
        else:
            self._snapshots.append(snap)
        # Keep one snapshot at least `window_s` old as the baseline; one far older says nothing recent.
        while len(self._snapshots) > 2 and now - self._snapshots[1].at >= self._window_s:
            self._snapshots.popleft()
        while len(self._snapshots) > 1 and now - self._snapshots[0].at > 2 * self._window_s:
            self._snapshots.popleft()

    def summary(self) -> dict[str, Any]:
        """Per target: requests/s, errors, p50/p95 latency and TTFT, circuit; routing mix; drift."""
        if not self._snapshots:
            return {"object": "live", "window_s": None, "targets": [], "routing": [], "drift": {}}
        new = self._snapshots[-1]
        old = self._snapshots[0] if len(self._snapshots) > 1 else None
        span = new.at - old.at if old else 0.0
        requests = _minus(new.requests, old.requests) if old else {}
        targets = sorted({t for t, _ in new.requests} | set(new.circuit) | set(new.latency) - {""})
        rows = []
        for target in targets:
            total = sum(v for (t, _), v in requests.items() if t == target)
            errors = sum(v for (t, s), v in requests.items() if t == target and _is_error(s))
            latency, latency_scope = self._window_buckets(new.latency, old.latency if old else None, target)
            ttft, _ = self._window_buckets(new.ttft, old.ttft if old else None, target)
            circuit = new.circuit.get(target)
            rows.append(
                {
                    "target": target or "(none)",
                    "requests_per_s": total / span if span > 0 else None,
                    "error_rate": errors / total if total > 0 else None,
                    "requests_total": sum(v for (t, _), v in new.requests.items() if t == target),
                    "latency_scope": latency_scope,
                    "latency_p50_s": quantile(0.5, latency),
                    "latency_p95_s": quantile(0.95, latency),
                    "ttft_p50_s": quantile(0.5, ttft),
                    "ttft_p95_s": quantile(0.95, ttft),
                    "circuit": _CIRCUIT.get(int(circuit), "unknown") if circuit is not None else None,
                }
            )
        routed = _minus(new.routed, old.routed) if old else {}
        routed_total = sum(routed.values())
        routing = [
            {
                "rule": rule,
                "target": target,
                "count": count,
                "share": count / routed_total if routed_total > 0 else None,
                "count_total": new.routed[(rule, target)],
            }
            for (rule, target), count in sorted(new.routed.items(), key=lambda kv: -kv[1])
            for count in [routed.get((rule, target), 0.0)]
        ]
        return {
            "object": "live",
            "at": new.at,
            "window_s": span if old else None,
            "in_flight": new.in_flight,
            "requests_per_s": sum(requests.values()) / span if span > 0 else None,
            "targets": rows,
            "routing": routing,
            "drift": dict(sorted(new.drift.items())),
        }

    @staticmethod
    def _window_buckets(
        new: dict[str, dict[float, float]], old: dict[str, dict[float, float]] | None, target: str
    ) -> tuple[dict[float, float], str]:
        """The target's buckets over the window, or since the start when the window saw no observation."""
        current = new.get(target, {})
        if old is None:
            return current, "since_start"
        window = _minus(current, old.get(target, {}))
        return (window, "window") if any(v > 0 for v in window.values()) else (current, "since_start")
