"""Requests and tokens per minute, on both backends."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.limits import Admission, LimitExceeded, LimitSpec
from tests.limits.limits_helpers import ZERO, admit


async def test_rpm_admits_exactly_the_limit_then_refuses_with_details(limiter, clock):
    spec = LimitSpec(rpm=5)
    results = [await admit(limiter, key_limits=spec) for _ in range(7)]
    assert [isinstance(r, Admission) for r in results] == [True] * 5 + [False] * 2
    refused = results[5]
    assert isinstance(refused, LimitExceeded)
    assert (refused.kind, refused.scope, refused.limit, refused.remaining) == ("requests", "key", 5, 0)
    assert refused.retry_after_s == pytest.approx(60, abs=1)
    assert refused.reset_s == pytest.approx(60, abs=1)
    assert [r.states[0].remaining for r in results[:5]] == [4, 3, 2, 1, 0]


async def test_rpm_window_slides_by_the_second(limiter, clock):
    spec = LimitSpec(rpm=3)
    assert isinstance(await admit(limiter, key_limits=spec), Admission)  # t = 0
    clock.advance(20)
    assert isinstance(await admit(limiter, key_limits=spec), Admission)  # t = 20
    assert isinstance(await admit(limiter, key_limits=spec), Admission)
    clock.advance(20)  # t = 40
    refused = await admit(limiter, key_limits=spec)
    assert isinstance(refused, LimitExceeded)
    # The call at t = 0 leaves the window at t = 60: 20 s from now, not a full minute.
    assert refused.retry_after_s == pytest.approx(20, abs=1)
    clock.advance(refused.retry_after_s)
    assert isinstance(await admit(limiter, key_limits=spec), Admission)
    refused = await admit(limiter, key_limits=spec)
    assert isinstance(refused, LimitExceeded)


async def test_rpm_zero_refuses_everything(limiter):
    refused = await admit(limiter, key_limits=LimitSpec(rpm=0))
    assert isinstance(refused, LimitExceeded)
    assert refused.retry_after_s is None


async def test_tpm_counts_tokens_and_refuses_a_call_that_can_never_fit(limiter):
    spec = LimitSpec(tpm=1000)
    assert isinstance(await admit(limiter, key_limits=spec, tokens=600), Admission)
    refused = await admit(limiter, key_limits=spec, tokens=500)
    assert isinstance(refused, LimitExceeded)
    assert (refused.kind, refused.remaining) == ("tokens", 400)
    assert refused.retry_after_s == pytest.approx(60, abs=1)
    assert isinstance(await admit(limiter, key_limits=spec, tokens=400), Admission)
    too_big = await admit(limiter, key_limits=spec, tokens=1001)
    assert isinstance(too_big, LimitExceeded)
    assert too_big.retry_after_s is None
    assert "too large" in too_big.message


async def test_token_correction_refunds_unused_reservation(limiter):
    spec = LimitSpec(tpm=1000)
    first = await admit(limiter, key_limits=spec, tokens=900)  # prompt + max_tokens reserved up front
    assert isinstance(first, Admission)
    assert isinstance(await admit(limiter, key_limits=spec, tokens=200), LimitExceeded)
    await limiter.settle(first, actual_tokens=150, actual_cost_usd=ZERO)
    second = await admit(limiter, key_limits=spec, tokens=850)
    assert isinstance(second, Admission)
    assert second.states[0].remaining == 0
    assert isinstance(await admit(limiter, key_limits=spec, tokens=1), LimitExceeded)


async def test_token_correction_counts_usage_beyond_the_reservation(limiter):
    spec = LimitSpec(tpm=1000)
    first = await admit(limiter, key_limits=spec, tokens=100)
    await limiter.settle(first, actual_tokens=700, actual_cost_usd=ZERO)
    refused = await admit(limiter, key_limits=spec, tokens=301)
    assert isinstance(refused, LimitExceeded)
    assert refused.remaining == 300


async def test_correction_after_the_window_counts_only_the_excess_now(limiter, clock):
    spec = LimitSpec(tpm=1000)
    long_call = await admit(limiter, key_limits=spec, tokens=300)
    clock.advance(90)  # a long stream: its reservation has already left the window
    await limiter.settle(long_call, actual_tokens=500, actual_cost_usd=ZERO)
    refused = await admit(limiter, key_limits=spec, tokens=801)
    assert isinstance(refused, LimitExceeded)
    assert refused.remaining == 800


async def test_settle_is_idempotent(limiter):
    spec = LimitSpec(tpm=1000)
    first = await admit(limiter, key_limits=spec, tokens=1000)
    await limiter.settle(first, actual_tokens=0, actual_cost_usd=ZERO)
    await limiter.settle(first, actual_tokens=0, actual_cost_usd=ZERO)
    # A copy (as a replayed settle would carry) must not refund twice either.
    first.settled = False
    await limiter.settle(first, actual_tokens=0, actual_cost_usd=ZERO)
    assert isinstance(await admit(limiter, key_limits=spec, tokens=1000), Admission)
    assert isinstance(await admit(limiter, key_limits=spec, tokens=1), LimitExceeded)


async def test_all_or_nothing_a_refusal_reserves_nothing(limiter):
    key_spec = LimitSpec(rpm=10, tpm=1000, max_concurrency=5)
    team_spec = LimitSpec(tpm=100)
    refused = await admit(limiter, key_limits=key_spec, team_limits=team_spec, tokens=200)
    assert isinstance(refused, LimitExceeded)
    assert (refused.kind, refused.scope) == ("tokens", "team")
    # The key's requests, tokens and slots were left untouched by the refused call.
    other_team = await admit(limiter, key_limits=key_spec, team="t2", tokens=1000)
    assert isinstance(other_team, Admission)
    by_kind = {s.kind: s.remaining for s in other_team.states}
    assert by_kind == {"requests": 9, "tokens": 0, "concurrency": 4}


async def test_team_and_target_limits_are_shared_across_keys(limiter):
    team_spec = LimitSpec(rpm=2)
    target_spec = LimitSpec(rpm=3)
    assert isinstance(
        await admit(limiter, key="a", team_limits=team_spec, target_limits=target_spec), Admission
    )
    assert isinstance(
        await admit(limiter, key="b", team_limits=team_spec, target_limits=target_spec), Admission
    )
    refused = await admit(limiter, key="c", team_limits=team_spec, target_limits=target_spec)
    assert isinstance(refused, LimitExceeded) and refused.scope == "team"
    other_team = await admit(limiter, key="c", team="t2", team_limits=team_spec, target_limits=target_spec)
    assert isinstance(other_team, Admission)
    refused = await admit(limiter, key="d", team="t3", target_limits=target_spec)
    assert isinstance(refused, LimitExceeded) and refused.scope == "target"
    assert isinstance(
        await admit(limiter, key="d", team="t3", target="claude", target_limits=target_spec), Admission
    )


async def test_refusal_names_the_limit_that_keeps_the_call_out_longest(limiter, clock):
    key_spec = LimitSpec(rpm=1)
    team_spec = LimitSpec(tpm=100)
    assert isinstance(await admit(limiter, key_limits=key_spec), Admission)  # key frees at t = 60
    clock.advance(30)
    assert isinstance(
        await admit(limiter, key="other", team_limits=team_spec, tokens=100), Admission
    )  # t = 90
    refused = await admit(limiter, key_limits=key_spec, team_limits=team_spec, tokens=50)
    assert isinstance(refused, LimitExceeded)
    assert (refused.kind, refused.scope) == ("tokens", "team")
    assert refused.retry_after_s == pytest.approx(60, abs=1)
    assert {(s.kind, s.scope, s.remaining) for s in refused.states} == {
        ("requests", "key", 0),
        ("tokens", "team", 0),
    }


async def test_ids_with_separators_do_not_collide(limiter):
    spec = LimitSpec(rpm=1)
    assert isinstance(await admit(limiter, key="a:b", team="x", key_limits=spec), Admission)
    assert isinstance(await admit(limiter, key="a", team="b", key_limits=spec), Admission)
    assert isinstance(await admit(limiter, key="x", team="a:b", team_limits=spec), Admission)


async def test_no_limits_admits_and_settles_without_state(limiter):
    admission = await admit(limiter, tokens=10, cost=Decimal("0.5"))
    assert isinstance(admission, Admission)
    assert admission.states == ()
    await limiter.settle(admission, actual_tokens=5, actual_cost_usd=Decimal("0.1"))


@pytest.mark.parametrize("tokens", [-1, True, 1.5])
async def test_bad_token_counts_are_refused(limiter, tokens):
    with pytest.raises(ValueError, match="tokens"):
        await admit(limiter, key_limits=LimitSpec(tpm=10), tokens=tokens)


async def test_negative_cost_is_refused(limiter):
    with pytest.raises(ValueError, match="max_cost_usd"):
        await admit(limiter, key_limits=LimitSpec(rpm=10), cost=Decimal("-0.01"))
