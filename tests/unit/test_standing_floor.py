"""A standing floor: every forecast pair holds rules before its first packet (#15).

``ProvisioningPolicy.floor_mbps``: a pair with a forecast, however small, holds a reservation of
at least the floor; its bandwidth follows the forecast above it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from core_harness import HOSTS, Harness, ipv4

from vnstitch.core.events import PredictorMessage
from vnstitch.messages import ForecastBatch, PairForecast, PairId
from vnstitch.northbound.config import ConfigError, parse_config
from vnstitch.predictive.provisioning import (
    CreateReservation,
    PredictedReservation,
    ProvisioningPolicy,
    Reason,
    ReleaseReservation,
    ResizeReservation,
    plan_provisioning,
)
from vnstitch.rules.meters import meter_rate_mbps
from vnstitch.stitcher.reservation import Origin, State

A = PairId("10.0.0.1", "10.0.0.2")
B = PairId("10.0.0.3", "10.0.0.4")
C = PairId("10.0.0.5", "10.0.0.6")
FLOOR = ProvisioningPolicy(threshold_mbps=1.0, hysteresis=0.2, min_change_mbps=0.5, floor_mbps=0.1)


def forecast(pair: PairId, upper: float, start: float = 100.0) -> PairForecast:
    return PairForecast(pair, (upper / 2,), (upper,), start, start + 10.0)


def held(pair: PairId, rate: float) -> PredictedReservation:
    return PredictedReservation(pair, rate)


def test_every_forecast_pair_gets_a_reservation_of_at_least_the_floor() -> None:
    forecasts = {A: forecast(A, 0.002), B: forecast(B, 3.0), C: forecast(C, 1.05)}
    actions = plan_provisioning(forecasts, {}, 100.0, FLOOR)
    rates = {a.pair: a.rate_mbps for a in actions if isinstance(a, CreateReservation)}
    assert rates == {A: 0.1, B: 3.0, C: 1.05}
    reasons = {a.pair: a.reason for a in actions if isinstance(a, CreateReservation)}
    assert reasons[A] is Reason.STANDING and reasons[B] is Reason.ABOVE_THRESHOLD


def test_without_a_floor_a_pair_below_the_threshold_gets_nothing() -> None:
    no_floor = replace(FLOOR, floor_mbps=0.0)
    assert plan_provisioning({A: forecast(A, 0.002)}, {}, 100.0, no_floor) == []


def test_standing_reservations_are_planned_after_the_forecast_ones() -> None:
    # A's standing floor sorts before B by pair, but must not take capacity B's forecast needs
    forecasts = {A: forecast(A, 0.0), B: forecast(B, 3.0)}
    actions = plan_provisioning(forecasts, {C: held(C, 5.0)}, 100.0, FLOOR)
    assert [type(a) for a in actions] == [
        ReleaseReservation,
        CreateReservation,
        CreateReservation,
    ]
    assert [a.pair for a in actions] == [C, B, A]


def test_a_forecast_falling_away_shrinks_to_the_floor_instead_of_releasing() -> None:
    actions = plan_provisioning({A: forecast(A, 0.5)}, {A: held(A, 2.0)}, 100.0, FLOOR)
    assert actions == [ResizeReservation(A, 2.0, 0.1, 110.0, Reason.BACK_TO_FLOOR)]
    # and at the floor it stays as it is
    assert plan_provisioning({A: forecast(A, 0.0)}, {A: held(A, 0.1)}, 100.0, FLOOR) == []


def test_at_the_floor_growth_does_not_wait_for_the_minimum_change() -> None:
    # 0.1 -> 1.3 is less than min_change (0.5) above the floor: without a floor the pair would
    # have had no reservation and got one at 1.3, so it grows
    actions = plan_provisioning({A: forecast(A, 1.3)}, {A: held(A, 0.1)}, 100.0, FLOOR)
    assert actions == [ResizeReservation(A, 0.1, 1.3, 110.0, Reason.MOVED)]
    # above the floor the minimum change holds as before
    assert plan_provisioning({A: forecast(A, 1.7)}, {A: held(A, 1.3)}, 100.0, FLOOR) == []


def test_a_shrink_never_goes_below_the_floor() -> None:
    actions = plan_provisioning({A: forecast(A, 1.0)}, {A: held(A, 3.0)}, 100.0, FLOOR)
    assert actions == [ResizeReservation(A, 3.0, 1.0, 110.0, Reason.MOVED)]
    policy = replace(FLOOR, floor_mbps=1.5)
    actions = plan_provisioning({A: forecast(A, 1.0)}, {A: held(A, 3.0)}, 100.0, policy)
    assert actions == [ResizeReservation(A, 3.0, 1.5, 110.0, Reason.MOVED)]


def test_an_expired_or_withdrawn_forecast_still_releases_a_standing_reservation() -> None:
    expired = plan_provisioning({A: forecast(A, 0.0)}, {A: held(A, 0.1)}, 110.0, FLOOR)
    assert expired == [ReleaseReservation(A, 0.1, Reason.EXPIRED)]
    withdrawn = plan_provisioning({}, {A: held(A, 0.1)}, 100.0, FLOOR)
    assert withdrawn == [ReleaseReservation(A, 0.1, Reason.WITHDRAWN)]
    # a forecast not valid yet gives no floor (it would be released as expired next round)
    assert plan_provisioning({A: forecast(A, 0.0, start=200.0)}, {}, 210.0, FLOOR) == []


def test_pairs_with_request_or_intent_reservations_get_no_standing_reservation() -> None:
    assert plan_provisioning({A: forecast(A, 0.0)}, {}, 100.0, FLOOR, protected={A}) == []


def test_a_negative_floor_is_refused() -> None:
    with pytest.raises(ValueError, match="floor_mbps"):
        ProvisioningPolicy(floor_mbps=-0.1)


def test_the_floor_is_a_predictor_setting_of_the_controller_config() -> None:
    assert parse_config({"predictor": {"floor_mbps": 0.05}}).predictor.floor_mbps == 0.05
    assert parse_config({}).predictor.floor_mbps == 0.0
    with pytest.raises(ConfigError, match="floor_mbps"):
        parse_config({"predictor": {"floor_mbps": -1}})


H1, H4 = HOSTS[1][1], HOSTS[4][1]


def test_in_the_core_a_pair_forecast_near_zero_holds_rules_and_a_floor_meter(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path, predictor=True)
    h.connect_square()
    prediction = h.core.prediction
    assert prediction is not None
    prediction.policy = replace(prediction.policy, floor_mbps=0.1)  # threshold 1 Mbit/s
    t = h.now.wall
    quiet = PairForecast(PairId(H1, H4), (0.001,), (0.002,), t, t + 600.0)
    h.feed(PredictorMessage(ForecastBatch("p1", 0, "hgb-1", 0.95, t, (quiet,))))
    (res,) = [r for r in h.core.stitcher.live() if r.request.origin is Origin.PREDICTED]
    assert res.state is State.ACTIVE and not res.request.bidirectional
    assert res.request.bandwidth_mbps == 0.1
    assert h.net.trace(1, 1, ipv4(H1, H4)).exits == [(4, 1)]  # rules before any packet
    assert res.plan is not None
    (meter,) = res.plan.meters
    assert h.net.meters[(meter.dpid, meter.meter_id)].rate_kbps == max(
        64, round(meter_rate_mbps(0.1) * 1000)
    )
    # the forecast rises: the same reservation grows, nothing is released
    busy = PairForecast(PairId(H1, H4), (2.0,), (3.0,), t + 60.0, t + 660.0)
    h.advance(60.0)
    h.feed(PredictorMessage(ForecastBatch("p1", 1, "hgb-1", 0.95, t + 60.0, (busy,))))
    (grown,) = [r for r in h.core.stitcher.live() if r.request.origin is Origin.PREDICTED]
    assert grown.id == res.id and grown.request.bandwidth_mbps == 3.0
