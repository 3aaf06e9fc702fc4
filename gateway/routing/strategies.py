"""What decide() orders candidates by (cost, latency, a weighted draw), and whether a target can serve."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence

from gateway.classify.types import Needs
from gateway.routing.policy import Target
from gateway.routing.prices import ModelPrice
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


def estimated_cost_usd(price: ModelPrice | None, prompt_tokens: int, output_tokens: int) -> float:
    """Expected cost of a request at a target's `effective_price()`; unknown prices sort last."""
    if price is None:
        return math.inf
    return (prompt_tokens * price.input_per_million + output_tokens * price.output_per_million) / 1_000_000


def latency_key(stats: TargetStats | None) -> tuple[bool, float]:
    # Unmeasured targets go after measured ones: a known latency beats a guess.
    if stats is None or stats.p50_latency_ms is None or math.isnan(stats.p50_latency_ms):
        return (True, 0.0)
    return (False, stats.p50_latency_ms)


def weighted_order(
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
