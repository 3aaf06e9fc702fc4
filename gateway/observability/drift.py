"""Drift of the traffic the classifier sees: the population stability index (PSI) per feature, comparing
the recent window with a baseline window before it.

PSI = Σ (recent_i − baseline_i) · ln(recent_i / baseline_i) over the categories of a feature, with shares
smoothed so an empty category does not divide by zero. Below 0.1 stable, 0.1–0.2 watch, above 0.2
investigate. Counts are kept per minute in memory (each replica judges its own traffic), so the cost per
call is a handful of dict increments.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.classify import Classification

FEATURES = ("task", "domain", "complexity_tier", "sensitivity_level", "prompt_length")
# Judged for the router on every call (counted on every call) vs judged or counted only when a rule or a
# check reads them (counted on a sample of calls, see DriftMonitor): the prompt's length is its token
# count, which most calls never make.
CONTENT_FEATURES = frozenset(("task", "domain", "complexity_tier", "prompt_length"))
_LENGTH_EDGES = (64, 256, 1024, 4096, 16384)
_SMOOTHING = 1e-4


_LENGTH_LABELS = (*(f"<{edge}" for edge in _LENGTH_EDGES), f">={_LENGTH_EDGES[-1]}")


def length_bucket(tokens: int) -> str:
    """The prompt-length category: "<64" for 0..63 tokens, ..., ">=16384"."""
    return _LENGTH_LABELS[bisect_right(_LENGTH_EDGES, tokens)]


def psi(baseline: Counter[str], recent: Counter[str]) -> float:
    b_total, r_total = sum(baseline.values()), sum(recent.values())
    value = 0.0
    for category in set(baseline) | set(recent):
        b = max(baseline[category] / b_total, _SMOOTHING)
        r = max(recent[category] / r_total, _SMOOTHING)
        value += (r - b) * math.log(r / b)
    return value


@dataclass
class _Bucket:
    minute: int
    counts: dict[str, Counter[str]] = field(default_factory=lambda: {f: Counter() for f in FEATURES})
    calls: int = 0
    sampled: int = 0  # calls whose content features were counted

    def estimated(self, feature: str) -> Counter[str]:
        """The minute's counts of a feature over all its calls: the sampled counts of a content feature
        scaled up by calls/sampled (each minute is a stratum sampled uniformly in time)."""
        counts = self.counts[feature]
        if feature not in CONTENT_FEATURES or self.sampled in (0, self.calls):
            return counts
        scale = self.calls / self.sampled
        return Counter({category: n * scale for category, n in counts.items()})


class DriftMonitor:
    def __init__(
        self,
        *,
        recent_s: float = 3600,
        baseline_s: float = 86400,
        min_samples: int = 100,
        clock: Callable[[], float] = time.time,
        content_interval_s: float = 0.0,
    ) -> None:
        """Task, domain, complexity and prompt length are counted on at most one call per
        content_interval_s (every call when calls are rarer; every call at 0), since judging them (or
        counting the prompt's tokens) costs more than the rest of routing when no rule or check needs them:
        under load, one call in hundreds. Each minute's sample is then weighted by that minute's calls, so
        a busy minute counts for its calls, not for its samples. Sensitivity is counted on every call.
        min_samples applies to what each feature counted."""
        self._content_interval = max(0.0, content_interval_s)
        self._next_content = -math.inf
        self._recent_min = max(1, int(recent_s // 60))
        self._baseline_min = max(1, int(baseline_s // 60))
        self._min_samples = min_samples
        self._clock = clock
        self._buckets: deque[_Bucket] = deque()

    def observe(self, classification: Classification) -> None:
        now = self._clock()
        minute = int(now // 60)
        if not self._buckets or self._buckets[-1].minute != minute:
            self._buckets.append(_Bucket(minute))
            horizon = minute - self._recent_min - self._baseline_min
            while self._buckets and self._buckets[0].minute <= horizon:
                self._buckets.popleft()
        bucket = self._buckets[-1]
        counts = bucket.counts
        # Sensitivity is judged on every call anyway; the content features and the length are sampled.
        counts["sensitivity_level"][classification.sensitivity.level] += 1
        bucket.calls += 1
        last_sample = self._next_content - self._content_interval
        if now >= self._next_content or now < last_sample:  # the interval has passed, or the clock went back
            self._next_content = now + self._content_interval
            bucket.sampled += 1
            counts["task"][classification.task] += 1
            counts["domain"][classification.domain] += 1
            counts["complexity_tier"][classification.complexity.tier] += 1
            counts["prompt_length"][length_bucket(classification.needs_bound().prompt_tokens)] += 1

    def windows(self, feature: str, *, estimated: bool = True) -> tuple[Counter[str], Counter[str]]:
        """(baseline, recent) distributions of a feature: over all calls (estimated from the samples for a
        content feature), or with estimated=False what was counted."""
        now = int(self._clock() // 60)
        recent_start = now - self._recent_min + 1
        baseline_start = recent_start - self._baseline_min
        baseline: Counter[str] = Counter()
        recent: Counter[str] = Counter()
        for bucket in self._buckets:
            counts = bucket.estimated(feature) if estimated else bucket.counts[feature]
            if bucket.minute >= recent_start:
                recent.update(counts)
            elif bucket.minute >= baseline_start:
                baseline.update(counts)
        return baseline, recent

    def report(self) -> dict[str, dict[str, object]]:
        """Per feature: PSI (None until both windows hold min_samples), status and the two distributions."""
        out: dict[str, dict[str, object]] = {}
        for feature in FEATURES:
            baseline, recent = self.windows(feature)
            counted = (
                self.windows(feature, estimated=False) if feature in CONTENT_FEATURES else (baseline, recent)
            )
            enough = all(sum(window.values()) >= self._min_samples for window in counted)
            value = psi(baseline, recent) if enough else None
            status = (
                "insufficient_data"
                if value is None
                else ("stable" if value < 0.1 else "watch" if value <= 0.2 else "investigate")
            )
            out[feature] = {
                "psi": value,
                "status": status,
                "baseline": {k: round(v, 1) for k, v in baseline.items()},
                "recent": {k: round(v, 1) for k, v in recent.items()},
            }
        return out
