"""Router quality as in the RouteLLM paper (arXiv 2406.18665): PGR, APGR, CPT."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

# Shares of strong-model calls at which PGR is integrated (0 %, 1 %, ..., 100 %).
SHARE_GRID = np.linspace(0.0, 1.0, 101)


@dataclass(frozen=True, slots=True)
class RouterQuality:
    shares: np.ndarray
    pgr: np.ndarray  # PGR at each share
    apgr: float
    cpt50: float
    cpt80: float

    def pgr_at(self, share: float) -> float:
        return float(np.interp(share, self.shares, self.pgr))


def pgr_curve(
    scores: ArrayLike, weak_correct: ArrayLike, strong_correct: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """PGR when the highest-scored share of prompts goes to the strong model, for each share in the grid.
    Ties in score are broken at random but reproducibly, so a constant score behaves like a random router."""
    score = np.asarray(scores, dtype=float)
    weak = np.asarray(weak_correct, dtype=float)
    strong = np.asarray(strong_correct, dtype=float)
    n = len(score)
    tie_break = np.random.default_rng(0).random(n)
    order = np.lexsort((tie_break, -score))  # best candidates for the strong model first
    gain = np.concatenate([[0.0], np.cumsum((strong - weak)[order])])
    q_weak, q_strong = weak.mean(), strong.mean()
    counts = np.rint(SHARE_GRID * n).astype(int)
    q_router = q_weak + gain[counts] / n
    return SHARE_GRID.copy(), (q_router - q_weak) / (q_strong - q_weak)


def quality(scores: ArrayLike, weak_correct: ArrayLike, strong_correct: ArrayLike) -> RouterQuality:
    shares, pgr = pgr_curve(scores, weak_correct, strong_correct)
    return summarise(shares, pgr)


def summarise(shares: np.ndarray, pgr: np.ndarray) -> RouterQuality:
    apgr = float(np.trapezoid(pgr, shares))
    return RouterQuality(
        shares,
        pgr,
        apgr,
        call_performance_threshold(shares, pgr, 0.5),
        call_performance_threshold(shares, pgr, 0.8),
    )


def call_performance_threshold(shares: np.ndarray, pgr: np.ndarray, target: float) -> float:
    """CPT: the smallest share of strong calls whose PGR reaches target (1.0 if none does)."""
    reached = np.nonzero(pgr >= target - 1e-12)[0]
    return float(shares[reached[0]]) if len(reached) else 1.0


def random_router_quality(
    weak_correct: ArrayLike, strong_correct: ArrayLike, *, runs: int = 200
) -> RouterQuality:
    """The mean PGR curve of random routers (expected PGR(p) = p, APGR = 0.5)."""
    rng = np.random.default_rng(1)
    n = len(np.asarray(weak_correct))
    curves = [pgr_curve(rng.random(n), weak_correct, strong_correct)[1] for _ in range(runs)]
    return summarise(SHARE_GRID.copy(), np.mean(curves, axis=0))


def routellm_apgr(
    scores: ArrayLike, weak_correct: ArrayLike, strong_correct: ArrayLike, *, bins: int = 10
) -> float:
    """APGR as RouteLLM's evaluate code computes it (routellm/evals/benchmarks.py + evaluate.py): thresholds
    at the quantiles of the scores (pd.qcut with `bins` bins; duplicate edges dropped), a prompt goes to the
    strong model when its score >= threshold (> for the last, highest one, so that point has no strong
    call), and accuracy is integrated over the realised strong-call shares with the trapezoid rule.
    Kept beside quality() to show the two definitions agree."""
    score = np.asarray(scores, dtype=float)
    weak = np.asarray(weak_correct, dtype=float)
    strong = np.asarray(strong_correct, dtype=float)
    thresholds = np.unique(np.quantile(score, np.linspace(0.0, 1.0, bins + 1)))
    points = []
    for index, threshold in enumerate(thresholds):
        chosen = score > threshold if index == len(thresholds) - 1 else score >= threshold
        points.append((chosen.mean(), np.where(chosen, strong, weak).mean()))
    points.sort()
    shares = np.array([share for share, _ in points])
    accuracy = np.array([acc for _, acc in points])
    span = shares[-1] - shares[0]
    area = float(np.trapezoid(accuracy, shares))
    q_weak, q_strong = weak.mean(), strong.mean()
    return (area - q_weak * span) / ((q_strong - q_weak) * span)
