"""From a request to an ordered chain of runtime targets: classify, then let the active policy decide.

Policy targets are bound to the provider connections that settings define (a policy never names a URL).
The bound targets and a classifier that knows the policy's confidential markers are built once per policy
version and cached, so routing a call costs a classification and a `decide`, nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gateway.accounting.prices import GpuHourPrice, Price, litellm_price
from gateway.auth.principal import Principal
from gateway.classify import Classification, Classifier, default_classifier
from gateway.classify import ConfidentialMarker as ClassifierMarker
from gateway.errors import GatewayError
from gateway.observability.drift import DriftMonitor
from gateway.observability.metrics import Metrics
from gateway.providers.base import Provider
from gateway.providers.registry import Target
from gateway.routing import Decision, Policy, decide
from gateway.serving.health import TargetHealth

ZERO = Price(Decimal(0), Decimal(0))
_CHAINS_KEPT = 1024  # distinct chains remembered per policy version (a policy has a handful)


@dataclass(frozen=True, slots=True)
class Route:
    decision: Decision
    classification: Classification
    chain: tuple[Target, ...]

    @property
    def headers(self) -> dict[str, str]:
        d = self.decision
        return {"x-gateway-rule": d.rule or "", "x-gateway-policy-version": str(d.policy_version or "")}


@dataclass(frozen=True, slots=True)
class PolicyRuntime:
    policy: Policy
    targets: dict[str, Target]
    classifier: Classifier
    # A decision's chain of names -> its reachable targets: the same few chains come back call after call.
    chains: dict[tuple[str, ...], tuple[Target, ...]] = field(default_factory=dict)


def price_of(policy_target: Any) -> Price | GpuHourPrice:
    if policy_target.price is not None:
        p = policy_target.price
        if p.gpu_hours is not None:
            g = p.gpu_hours
            return GpuHourPrice(
                usd_per_hour=g.usd_per_gpu_hour * g.gpus,
                assumed_tokens_per_second=g.assumed_tokens_per_second,
            )
        return Price.per_million(p.input_per_million, p.output_per_million)
    return litellm_price(policy_target.model, policy_target.provider) or ZERO


def bind_targets(policy: Policy, connections: dict[str, Provider]) -> dict[str, Target]:
    out: dict[str, Target] = {}
    for name, t in policy.targets.items():
        provider = connections.get(t.provider)
        if provider is None:
            continue  # no connection configured for this provider kind: the target cannot be reached
        out[name] = Target(
            name=name,
            provider=provider,
            upstream_model=t.model,
            price=price_of(t),
            internal=t.internal,
            context_window=t.context_window,
            capabilities=frozenset(t.capabilities),
        )
    return out


class Router:
    def __init__(
        self,
        *,
        active_policy: Callable[[], Policy],
        connections: dict[str, Provider],
        health: TargetHealth,
        metrics: Metrics,
        drift: DriftMonitor | None = None,
    ) -> None:
        self._active_policy = active_policy
        self._drift = drift
        self._connections = connections
        self.health = health
        self._metrics = metrics
        self._runtime: PolicyRuntime | None = None
        self._routed: dict[tuple[str, str], Any] = {}  # (rule, target) -> its routed counter
        # The tokenizer, lexicon and complexity model are the same for every policy; only the markers differ.
        self._base = default_classifier()

    def runtime(self) -> PolicyRuntime:
        policy = self._active_policy()
        current = self._runtime
        if current is None or current.policy is not policy:
            markers = [ClassifierMarker(**m.model_dump()) for m in policy.confidential_markers]
            current = self._runtime = PolicyRuntime(
                policy=policy,
                targets=bind_targets(policy, self._connections),
                classifier=Classifier(
                    markers=markers,
                    encoding=self._base.encoding,
                    lexicon=self._base.lexicon,
                    complexity_model=self._base.complexity_model,
                ),
            )
        return current

    def route(self, principal: Principal, body: dict[str, Any], requested_model: str) -> Route:
        """Classify and decide; a refusal (blocked, sensitive with no internal target, not allowed) raises."""
        runtime = self.runtime()
        classification = runtime.classifier.classify(body, lazy=True)
        if self._drift is not None:
            self._drift.observe(classification)
        decision = decide(
            runtime.policy,
            classification,
            principal=principal,
            requested_model=requested_model,
            target_stats=self.health.stats(),
        )
        if decision.refusal is not None:
            raise decision.refusal.to_error()
        names = decision.chain
        chain = runtime.chains.get(names)
        if chain is None:
            targets = runtime.targets
            chain = tuple(targets[name] for name in names if name in targets)
            if len(runtime.chains) < _CHAINS_KEPT:
                runtime.chains[names] = chain
        if not chain:
            raise GatewayError(
                503, "no configured connection can serve this request's targets", code="no_reachable_target"
            )
        rule = decision.rule or ""
        routed = self._routed.get((rule, chain[0].name))
        if routed is None:
            routed = self._routed[rule, chain[0].name] = self._metrics.child(
                self._metrics.routed, rule, chain[0].name
            )
        routed.inc()
        return Route(decision=decision, classification=classification, chain=chain)
