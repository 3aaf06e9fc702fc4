"""Order a rule's candidates by its strategy, and judge whether a target can serve a request at all."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence

from gateway.classify.types import Needs
from gateway.routing.policy import Policy, Strategy, Target
from gateway.routing.stats import TargetStats

_NEED_CAPABILITY = (
    ("tools", "tools"),
    ("json_mode", "json"),
    ("images", "vision"),
    ("long_context", "long_context"),
)


def missing_capability(target: Target, needs: Needs) -> str | None:
    """Why `target` cannot serve a request with these needs, or None if it can."""
    lacking = [
        cap for flag, cap in _NEED_CAPABILITY if getattr(needs, flag) and cap not in target.capabilities
    ]
    if lacking:
        return f"lacks {', '.join(lacking)}"
    total = needs.prompt_tokens + needs.expected_output_tokens
    if total > target.context_window:
        return f"context window {target.context_window} < {total} tokens needed"
    return None


def estimated_cost_usd(target: Target, needs: Needs) -> float:
    """Expected cost of this request on `target`; unknown prices sort last."""
    price = target.effective_price()
    if price is None:
        return math.inf
    return (
        needs.prompt_tokens * price.input_per_million
        + needs.expected_output_tokens * price.output_per_million
    ) / 1_000_000


def order_by_strategy(
    names: Sequence[str],
    *,
    strategy: Strategy,
    policy: Policy,
    needs: Needs,
    target_stats: Mapping[str, TargetStats],
    weights: Mapping[str, float] | None = None,
    rng: random.Random | None = None,
) -> list[str]:
    """Candidates best first; sorts are stable, so ties keep the policy's order."""
    if strategy == "cheapest":
        return sorted(names, key=lambda n: estimated_cost_usd(policy.targets[n], needs))
    if strategy == "fastest":
        return sorted(names, key=lambda n: _latency_key(target_stats.get(n)))
    if strategy == "highest_capability":
        return sorted(
            names,
            key=lambda n: (-len(set(policy.targets[n].capabilities)), -policy.targets[n].context_window),
        )
    return _weighted_order(names, weights or {}, rng)


def _latency_key(stats: TargetStats | None) -> tuple[bool, float]:
    # Unmeasured targets go after measured ones: a known latency beats a guess.
    if stats is None or stats.p50_latency_ms is None or math.isnan(stats.p50_latency_ms):
        return (True, 0.0)
    return (False, stats.p50_latency_ms)


def _weighted_order(
    names: Sequence[str], weights: Mapping[str, float], rng: random.Random | None
) -> list[str]:
    """One weighted draw picks the first; the rest follow by weight, heaviest first."""
    pool = [n for n in names if weights.get(n, 0) > 0]
    if not pool:
        return list(names)
    total = sum(weights[n] for n in pool)
    point = (rng.random() if rng is not None else random.random()) * total
    first = pool[-1]
    for name in pool:
        point -= weights[name]
        if point < 0:
            first = name
            break
    rest = sorted((n for n in names if n != first), key=lambda n: -weights.get(n, 0))
    return [first, *rest]
