"""Provisioning decisions: threshold, hysteresis, expiry, and request/intent reservations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vnstitch.messages import ForecastBatch, PairForecast, PairId
from vnstitch.predictive.forecast_book import ForecastBook
from vnstitch.predictive.provisioning import (
    CreateReservation,
    PredictedReservation,
    ProvisioningPolicy,
    Reason,
    ReleaseReservation,
    ResizeReservation,
    plan_provisioning,
)

A = PairId("10.0.0.1", "10.0.0.2")
B = PairId("10.0.0.3", "10.0.0.4")
C = PairId("10.0.0.5", "10.0.0.6")
POLICY = ProvisioningPolicy(threshold_mbps=5.0, hysteresis=0.2, min_change_mbps=0.5)


def forecast(pair: PairId, *upper: float, start: float = 100.0, step: float = 10.0) -> PairForecast:
    """A forecast with the given upper values per step, valid from ``start``."""
    return PairForecast(
        pair,
        tuple(u / 2 for u in upper),
        upper,
        start,
        start + step * len(upper),
        "bulk",
        50.0,
        "blue",
    )


def held(pair: PairId, rate: float) -> PredictedReservation:
    return PredictedReservation(pair, rate, 50.0, "blue", "bulk")


def test_reserves_only_pairs_whose_upper_forecast_exceeds_the_threshold() -> None:
    actions = plan_provisioning(
        {A: forecast(A, 8.0), B: forecast(B, 4.0)}, {}, now=100.0, policy=POLICY
    )
    assert actions == [
        CreateReservation(A, 8.0, 50.0, "blue", "bulk", 110.0, Reason.ABOVE_THRESHOLD)
    ]


def test_reservation_is_sized_at_the_upper_forecast_of_the_current_step_times_headroom() -> None:
    policy = ProvisioningPolicy(threshold_mbps=5.0, headroom=1.25)
    (action,) = plan_provisioning({A: forecast(A, 6.0, 12.0)}, {}, now=115.0, policy=policy)
    assert isinstance(action, CreateReservation)
    assert action.rate_mbps == 15.0


def test_small_moves_stay_inside_the_hysteresis_band() -> None:
    assert plan_provisioning({A: forecast(A, 11.5)}, {A: held(A, 10.0)}, 100.0, POLICY) == []
    assert plan_provisioning({A: forecast(A, 8.5)}, {A: held(A, 10.0)}, 100.0, POLICY) == []


def test_a_move_beyond_the_band_resizes() -> None:
    actions = plan_provisioning({A: forecast(A, 13.0)}, {A: held(A, 10.0)}, 100.0, POLICY)
    assert actions == [ResizeReservation(A, 10.0, 13.0, 110.0, Reason.MOVED)]


def test_release_waits_until_the_forecast_falls_below_the_release_level() -> None:
    # threshold 5, hysteresis 0.2: release below 4; between 4 and 5 the reservation stays
    kept = plan_provisioning({A: forecast(A, 4.5)}, {A: held(A, 4.6)}, 100.0, POLICY)
    assert kept == []
    released = plan_provisioning({A: forecast(A, 3.9)}, {A: held(A, 4.6)}, 100.0, POLICY)
    assert released == [ReleaseReservation(A, 4.6, Reason.FELL_AWAY)]


def test_an_expired_or_missing_forecast_releases() -> None:
    expired = plan_provisioning({A: forecast(A, 20.0)}, {A: held(A, 20.0)}, 110.0, POLICY)
    assert expired == [ReleaseReservation(A, 20.0, Reason.EXPIRED)]
    missing = plan_provisioning({}, {A: held(A, 20.0)}, 100.0, POLICY)
    assert missing == [ReleaseReservation(A, 20.0, Reason.WITHDRAWN)]


def test_an_expired_forecast_creates_nothing() -> None:
    assert plan_provisioning({A: forecast(A, 20.0)}, {}, 110.0, POLICY) == []


def test_pairs_with_request_or_intent_reservations_get_no_forecast_reservation() -> None:
    actions = plan_provisioning(
        {A: forecast(A, 20.0), B: forecast(B, 20.0)},
        {B: held(B, 20.0)},
        100.0,
        POLICY,
        protected={A, B},
    )
    assert actions == [ReleaseReservation(B, 20.0, Reason.SUPERSEDED)]


def test_a_class_change_releases_and_recreates() -> None:
    other = PredictedReservation(A, 10.0, 5.0, "red", "voice")
    actions = plan_provisioning({A: forecast(A, 10.0)}, {A: other}, 100.0, POLICY)
    assert [type(a) for a in actions] == [ReleaseReservation, CreateReservation]
    assert actions[0].reason == Reason.CLASS_CHANGED


def test_releases_and_shrinks_come_before_creates_and_growth() -> None:
    actions = plan_provisioning(
        {A: forecast(A, 30.0), B: forecast(B, 2.0), C: forecast(C, 40.0)},
        {A: held(A, 10.0), B: held(B, 10.0), C: held(C, 80.0)},
        100.0,
        POLICY,
    )
    kinds = [(type(a).__name__, a.pair) for a in actions]
    assert kinds == [
        ("ReleaseReservation", B),
        ("ResizeReservation", C),
        ("ResizeReservation", A),
    ]


pairs = st.sampled_from([A, B, C])
uppers = st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=3)


@given(
    st.dictionaries(pairs, uppers),
    st.dictionaries(pairs, st.floats(min_value=0.1, max_value=100)),
    st.sets(pairs),
    st.floats(min_value=90, max_value=140),
)
def test_actions_only_ever_touch_forecast_reservations(
    upper_by_pair: dict[PairId, list[float]],
    rate_by_pair: dict[PairId, float],
    protected: set[PairId],
    now: float,
) -> None:
    forecasts = {p: forecast(p, *u) for p, u in upper_by_pair.items()}
    reservations = {p: held(p, r) for p, r in rate_by_pair.items()}
    actions = plan_provisioning(forecasts, reservations, now, POLICY, protected)
    for action in actions:
        if isinstance(action, CreateReservation):
            assert action.pair not in protected
            assert action.rate_mbps > POLICY.threshold_mbps
        else:
            assert action.pair in reservations
    created = [a.pair for a in actions if isinstance(a, CreateReservation)]
    assert len(created) == len(set(created))


def batch(source: str, seq: int, *forecasts: PairForecast) -> ForecastBatch:
    return ForecastBatch(source, seq, "m", 0.95, forecasts[0].valid_from, forecasts)


def test_the_book_keeps_the_newest_forecast_per_pair() -> None:
    book = ForecastBook()
    assert book.update(batch("p1", 5, forecast(A, 8.0, start=200.0))) == 1
    assert book.update(batch("p1", 4, forecast(A, 9.0, start=190.0), forecast(B, 7.0))) == 1
    assert book.forecasts[A].upper_mbps == (8.0,)  # the late, older batch did not win
    assert book.update(batch("p1", 6, forecast(A, 10.0, start=200.0))) == 1  # same step, newer
    restarted = batch("p2", 0, forecast(A, 11.0, start=210.0))  # new predictor, seq from 0
    assert book.update(restarted) == 1 and book.forecasts[A].upper_mbps == (11.0,)


def test_the_book_prunes_expired_forecasts_after_provisioning_saw_them() -> None:
    book = ForecastBook()
    book.update(batch("p1", 0, forecast(A, 8.0, start=100.0), forecast(B, 8.0, start=200.0)))
    actions = plan_provisioning(book.forecasts, {A: held(A, 8.0)}, 150.0, POLICY)
    assert [a for a in actions if a.pair == A] == [ReleaseReservation(A, 8.0, Reason.EXPIRED)]
    book.prune(150.0)
    assert set(book.forecasts) == {B}


def test_a_pair_crossing_the_threshold_one_round_later_is_reserved_now() -> None:
    rising = PairForecast(A, (1.0, 9.0), (2.0, 12.0), 0.0, 600.0)
    assert plan_provisioning({A: rising}, {}, 10.0, POLICY) == []
    early = plan_provisioning({A: rising}, {}, 10.0, POLICY, lead_s=300.0)
    assert [(type(a), a.rate_mbps) for a in early] == [(CreateReservation, 12.0)]


def test_a_late_next_forecast_keeps_the_reservation_while_the_current_one_holds() -> None:
    current = PairForecast(A, (6.0, 6.0), (8.0, 8.0), 0.0, 600.0)
    ahead = 650.0  # the round ahead is past this forecast; its successor has not come yet
    assert plan_provisioning({A: current}, {A: held(A, 8.0)}, ahead, POLICY, present=350.0) == []
    expired = plan_provisioning({A: current}, {A: held(A, 8.0)}, ahead, POLICY, present=620.0)
    assert expired == [ReleaseReservation(A, 8.0, Reason.EXPIRED)]


ASYMMETRIC = ProvisioningPolicy(
    threshold_mbps=5.0,
    hysteresis=0.2,
    min_change_mbps=0.5,
    grow_hysteresis=0.0,
    shrink_hysteresis=0.3,
    max_shrink=0.25,
)


def test_without_the_new_settings_growing_and_shrinking_share_one_band() -> None:
    assert POLICY.grow_band == POLICY.shrink_band == POLICY.hysteresis
    assert POLICY.resized(10.0, 11.9) is None and POLICY.resized(10.0, 12.1) == 12.1
    assert POLICY.resized(10.0, 8.1) is None and POLICY.resized(10.0, 7.9) == 7.9


def test_asymmetric_hysteresis_grows_at_once() -> None:
    actions = plan_provisioning({A: forecast(A, 10.6)}, {A: held(A, 10.0)}, 100.0, ASYMMETRIC)
    assert actions == [ResizeReservation(A, 10.0, 10.6, 110.0, Reason.MOVED)]
    # below min_change_mbps nothing moves, however eager the policy
    assert plan_provisioning({A: forecast(A, 10.4)}, {A: held(A, 10.0)}, 100.0, ASYMMETRIC) == []


def test_asymmetric_hysteresis_shrinks_late_and_slowly() -> None:
    # a 25 % dip stays inside the 30 % shrink band
    assert plan_provisioning({A: forecast(A, 7.5)}, {A: held(A, 10.0)}, 100.0, ASYMMETRIC) == []
    # a fall to 5 shrinks by at most a quarter per decision: 10 -> 7.5, then 7.5 -> 5.625
    (first,) = plan_provisioning({A: forecast(A, 5.0)}, {A: held(A, 10.0)}, 100.0, ASYMMETRIC)
    assert isinstance(first, ResizeReservation) and first.rate_mbps == 7.5
    (second,) = plan_provisioning({A: forecast(A, 5.0)}, {A: held(A, 7.5)}, 100.0, ASYMMETRIC)
    assert isinstance(second, ResizeReservation) and second.rate_mbps == pytest.approx(5.625)
    # the release level is not delayed: below it the reservation goes at once
    (gone,) = plan_provisioning({A: forecast(A, 3.0)}, {A: held(A, 10.0)}, 100.0, ASYMMETRIC)
    assert gone == ReleaseReservation(A, 10.0, Reason.FELL_AWAY)


def test_asymmetric_settings_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="grow_hysteresis"):
        ProvisioningPolicy(grow_hysteresis=-0.1)
    with pytest.raises(ValueError, match="max_shrink"):
        ProvisioningPolicy(max_shrink=0.0)
