"""OpenAI-style rate-limit headers and the error reply of a refusal."""

from __future__ import annotations

import pytest

from gateway.limits import Admission, LimitExceeded, LimitState, format_reset, ratelimit_headers


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.02, "20ms"),
        (0.9994, "999ms"),
        (1, "1s"),
        (1.5, "1.5s"),
        (8.64, "8.64s"),
        (59.999, "59.999s"),
        (60, "1m0s"),
        (360, "6m0s"),
        (3723.25, "1h2m3.25s"),
        (-3, "0s"),
    ],
)
def test_reset_is_formatted_like_openai(seconds, text):
    assert format_reset(seconds) == text


def states() -> tuple[LimitState, ...]:
    return (
        LimitState("requests", "key", 60, 59, 1.0),
        LimitState("requests", "team", 1000, 10, 30.0),
        LimitState("tokens", "key", 100_000, 99_000, 0.6),
        LimitState("concurrency", "key", 4, 3, 0.0),
        LimitState("budget", "key", 5_000_000, 4_000_000, 3600.0),
    )


def test_admission_headers_show_the_tightest_scope_per_kind():
    admission = Admission("id", "memory", 0, (), (), states(), 10, 0)
    assert ratelimit_headers(admission) == {
        "x-ratelimit-limit-requests": "1000",
        "x-ratelimit-remaining-requests": "10",
        "x-ratelimit-reset-requests": "30s",
        "x-ratelimit-limit-tokens": "100000",
        "x-ratelimit-remaining-tokens": "99000",
        "x-ratelimit-reset-tokens": "600ms",
    }


def test_no_rate_limits_means_no_headers():
    assert ratelimit_headers(Admission("id", "memory", 0, (), (), (), 0, 0)) == {}


def test_refusal_headers_and_error_carry_retry_after():
    refused = LimitExceeded("tokens", "key", 1000, 0, 42.0, 12.2, states=states())
    headers = ratelimit_headers(refused)
    assert headers["retry-after"] == "13"
    error = refused.error(headers)
    assert error.status == 429
    assert error.code == "tokens_limit_exceeded"
    assert error.type == "rate_limit_error"
    assert error.headers["retry-after"] == "13"
    assert "1000 tokens per minute" in error.message


def test_a_request_that_never_fits_has_no_retry_after():
    refused = LimitExceeded("tokens", "team", 1000, 1000, 0.0, None)
    assert "retry-after" not in ratelimit_headers(refused)
    assert "Request too large" in refused.message
    assert "retry-after" not in refused.error().headers


def test_budget_refusals_are_429_and_an_unavailable_budget_is_503():
    exceeded = LimitExceeded("budget", "team", 2_500_000, 0, 100.0, 100.0)
    assert exceeded.error().status == 429
    assert exceeded.error().code == "budget_exceeded"
    assert "$2.50" in exceeded.message
    unavailable = LimitExceeded("budget", "key", 1, 0, 0.0, 1.0, unavailable=True)
    error = unavailable.error()
    assert (error.status, error.code, error.headers["retry-after"]) == (503, "budget_unavailable", "1")
