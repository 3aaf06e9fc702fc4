"""OpenAI-style x-ratelimit-* headers from the limiter's answer."""

from __future__ import annotations

import math

from gateway.limits.results import Admission, LimitExceeded, LimitState


def format_reset(seconds: float) -> str:
    """A duration the way OpenAI writes it (Go's time.Duration): "20ms", "1s", "1.5s", "6m0s", "1h2m3s"."""
    ms = max(0, round(seconds * 1000))
    if ms < 1000:
        return f"{ms}ms" if ms else "0s"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def ratelimit_headers(state: Admission | LimitExceeded) -> dict[str, str]:
    """x-ratelimit-{limit,remaining,reset}-{requests,tokens} of the tightest scope; Retry-After on refusal."""
    headers: dict[str, str] = {}
    for kind in ("requests", "tokens"):
        tightest = _tightest([s for s in state.states if s.kind == kind])
        if tightest is None:
            continue
        headers[f"x-ratelimit-limit-{kind}"] = str(tightest.limit)
        headers[f"x-ratelimit-remaining-{kind}"] = str(max(0, tightest.remaining))
        headers[f"x-ratelimit-reset-{kind}"] = format_reset(tightest.reset_s)
    if isinstance(state, LimitExceeded) and state.retry_after_s is not None:
        headers["retry-after"] = str(max(1, math.ceil(state.retry_after_s)))
    return headers


def _tightest(states: list[LimitState]) -> LimitState | None:
    # The scope with the fewest remaining is the one a client must pace itself by.
    return min(states, key=lambda s: (s.remaining, -s.reset_s), default=None)
