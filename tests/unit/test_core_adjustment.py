"""Dynamic adjustment through the core: congestion -> move, recovery -> move back, anomaly ->
a grown reservation. Port counters are fed as the switches would report them."""

from __future__ import annotations

from pathlib import Path

import pytest
from core_harness import HOSTS, Harness, ipv4

from vnstitch.core.commands import CreateIntent, CreateReservation, GetForecasts
from vnstitch.core.events import PortCounters, PortStats, PredictorMessage, StatsTick
from vnstitch.messages import Anomaly, PairId
from vnstitch.northbound.config import AdjustmentOptions
from vnstitch.stitcher.reservation import Origin, Reservation, State

H1, H4 = HOSTS[1][1], HOSTS[4][1]
WEB = {"ip_proto": 6, "dst_port": 80}
ROUND_S = 2.0
# A triangle: the direct cable 1-4 (one hop, the cheapest path) and the detour 1-2-4.
TRIANGLE = [(1, 4), (1, 2), (2, 4)]
DIRECT, DETOUR = (1, 4), (1, 2, 4)


def _options(**overrides: object) -> AdjustmentOptions:
    base: dict[str, object] = {
        "enabled": True,
        "congestion_threshold": 0.9,
        "congestion_rounds": 3,
        "reoptimise_min_gain_ms": 0.01,
    }
    base.update(overrides)
    return AdjustmentOptions(**base)  # type: ignore[arg-type]


class Counters:
    """Transmit byte counters of switch ports, advanced at given rates every round."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.tx: dict[tuple[int, int], int] = {}

    def rounds(self, count: int, mbps: dict[tuple[int, int], float]) -> None:
        """``count`` statistics rounds with these port rates ((dpid, port) -> Mbit/s)."""
        for _ in range(count):
            self.h.advance(ROUND_S)
            for dpid in sorted({d for d, _ in mbps}):
                ports = []
                for (d, port), rate in sorted(mbps.items()):
                    if d == dpid:
                        key = (d, port)
                        self.tx[key] = self.tx.get(key, 0) + int(rate * 1e6 * ROUND_S / 8)
                        ports.append(PortCounters(port, self.tx[key]))
                self.h.feed(PortStats(dpid, tuple(ports)))
            self.h.feed(StatsTick())


def _reserve(h: Harness, mbps: float, ticket: int, **body: object) -> Reservation:
    request = {"src": H1, "dst": H4, "bandwidth_mbps": mbps, **body}
    reply = h.call(CreateReservation(request), ticket)
    assert reply is not None and reply.status == 201, reply
    return h.core.stitcher.reservations[int(reply.body["id"])]


def _moves(h: Harness, reason: str) -> float:
    return h.core.metrics.adjustment_moves.value(reason=reason)


def _triangle(tmp_path: Path, **overrides: object) -> tuple[Harness, Counters]:
    h = Harness(tmp_path, adjustment=_options(**overrides))
    h.connect_square(cables=TRIANGLE)
    return h, Counters(h)


HOT = {(1, 14): 950.0}  # switch 1's port to switch 4: 95 % of 1,000 Mbit/s
QUIET = {(1, 14): 10.0}


def test_congestion_for_n_rounds_moves_a_reservation_to_the_free_path(tmp_path: Path) -> None:
    h, counters = _triangle(tmp_path)
    big = _reserve(h, 100, 1)
    small = _reserve(h, 20, 2, **WEB)
    assert big.plan is not None and big.plan.path == DIRECT
    counters.rounds(3, HOT)  # the first reading only starts the counter: 2 rounds above
    assert big.plan.path == DIRECT and _moves(h, "congestion") == 0
    counters.rounds(1, HOT)  # the third round above the threshold
    # 50 Mbit/s above 90 %: moving the larger one relieves it, the smaller stays
    assert big.state is State.ACTIVE and big.plan.path == DETOUR
    assert small.plan is not None and small.plan.path == DIRECT
    assert any(
        r and "congestion on 0000000000000001->0000000000000004" in r for *_, r in big.history
    )
    assert _moves(h, "congestion") == 1
    assert h.net.trace(1, 1, ipv4(H1, H4)).exits == [(4, 1)]
    assert h.core.ledger.violations() == []


def test_no_move_when_no_path_avoids_the_congested_link(tmp_path: Path) -> None:
    h = Harness(tmp_path, adjustment=_options())
    h.connect_square(cables=[(1, 4)])
    res = _reserve(h, 100, 1)
    Counters(h).rounds(5, HOT)
    assert res.plan is not None and res.plan.path == DIRECT and res.state is State.ACTIVE
    assert _moves(h, "congestion") == 0
    assert h.core.metrics.adjustment_refused.value(reason="no_path") >= 1


def test_recovery_moves_back_when_the_gain_is_worth_it(tmp_path: Path) -> None:
    h, counters = _triangle(tmp_path)
    res = _reserve(h, 100, 1)
    counters.rounds(4, HOT)
    assert res.plan is not None and res.plan.path == DETOUR
    counters.rounds(2, QUIET)
    assert res.plan.path == DETOUR  # not recovered yet: 3 rounds below
    counters.rounds(1, QUIET)
    assert res.plan.path == DIRECT and res.state is State.ACTIVE
    assert any(r and r.startswith("re-optimised") for *_, r in res.history)
    assert _moves(h, "reoptimise") == 1
    assert h.net.trace(1, 1, ipv4(H1, H4)).exits == [(4, 1)]


def test_no_move_back_that_would_congest_the_link_again(tmp_path: Path) -> None:
    h, counters = _triangle(tmp_path, congestion_threshold=0.5)
    res = _reserve(h, 100, 1)
    counters.rounds(4, HOT)
    assert res.plan is not None and res.plan.path == DETOUR
    # the surge goes on: 420 of 1,000 Mbit/s is below 50 % (recovered), but 420 + 100 is not
    counters.rounds(6, {(1, 14): 420.0})
    assert res.plan.path == DETOUR and _moves(h, "reoptimise") == 0
    assert _moves(h, "congestion") == 1  # no flapping back and forth


def test_recovery_keeps_the_path_when_the_gain_is_below_the_threshold(tmp_path: Path) -> None:
    h, counters = _triangle(tmp_path, reoptimise_min_gain_ms=1000.0)
    res = _reserve(h, 100, 1)
    counters.rounds(4, HOT)
    counters.rounds(5, QUIET)
    assert res.plan is not None and res.plan.path == DETOUR
    assert _moves(h, "reoptimise") == 0


def test_periodic_re_optimisation_without_a_recovery(tmp_path: Path) -> None:
    h, counters = _triangle(tmp_path, reoptimise_interval_s=3 * ROUND_S)
    res = _reserve(h, 100, 1)
    # moved onto the detour by hand (as a failure would have): the timer brings it back
    assert res.plan is not None
    job = h.core.stitcher.move(res.id, DETOUR, h.now.wall, "test")
    h.core.stitching.run(job, h.now)  # type: ignore[arg-type]
    h.feed()
    assert res.plan.path == DETOUR
    counters.rounds(5, QUIET)
    assert res.plan.path == DIRECT and _moves(h, "reoptimise") == 1


def test_disabled_adjustment_moves_nothing(tmp_path: Path) -> None:
    h, counters = _triangle(tmp_path, enabled=False)
    res = _reserve(h, 100, 1)
    counters.rounds(6, HOT)
    assert res.plan is not None and res.plan.path == DIRECT


def _anomaly(observed: float, upper: float, direction: str = "above") -> PredictorMessage:
    return PredictorMessage(
        Anomaly("predictor", 1, 0.0, PairId(H1, H4), observed, 0.0, upper, 3, direction)
    )


def test_an_anomaly_grows_the_pairs_reservation_at_once(tmp_path: Path) -> None:
    h = Harness(tmp_path, predictor=True, adjustment=_options(anomaly_growth=0.25))
    h.connect_square()
    h.feed(_anomaly(8.0, 4.0))  # no reservation yet: one is made
    (res,) = [r for r in h.core.stitcher.live() if r.request.origin is Origin.PREDICTED]
    assert res.state is State.ACTIVE and res.request.bandwidth_mbps == pytest.approx(10.0)
    h.feed(_anomaly(16.0, 9.0))  # above again: the same reservation grows
    assert res.state is State.ACTIVE and res.request.bandwidth_mbps == pytest.approx(20.0)
    assert any(r and r.startswith("anomaly: 16.00 Mbit/s") for *_, r in res.history)
    h.feed(
        _anomaly(1.0, 9.0, "below"), _anomaly(12.0, 9.0)
    )  # below, or not above what it holds: kept
    assert res.request.bandwidth_mbps == pytest.approx(20.0)
    assert _moves(h, "anomaly") == 2
    assert h.core.metrics.anomalies.value() == 4
    h.advance(60.0)
    h.feed(StatsTick())  # no forecast for the pair, but it is held: kept
    assert res.state is State.ACTIVE and res.request.bandwidth_mbps == pytest.approx(20.0)
    h.advance(300.0)
    h.feed(StatsTick())  # the hold is over: provisioning follows the forecasts (none)
    assert res.state is State.RELEASED


def test_predicted_reservations_move_first(tmp_path: Path) -> None:
    h = Harness(tmp_path, predictor=True, adjustment=_options())
    h.connect_square(cables=TRIANGLE)
    requested = _reserve(h, 100, 1, **WEB)
    h.feed(_anomaly(10.0, 5.0))  # a predicted reservation of 12 Mbit/s, smaller
    (predicted,) = [r for r in h.core.stitcher.live() if r.request.origin is Origin.PREDICTED]
    assert predicted.plan is not None and predicted.plan.path == DIRECT
    Counters(h).rounds(4, {(1, 14): 910.0})  # 10 Mbit/s above 90 %: one move is enough
    assert predicted.plan.path == DETOUR and predicted.state is State.ACTIVE
    assert requested.plan is not None and requested.plan.path == DIRECT


def test_an_intents_reservation_never_moves(tmp_path: Path) -> None:
    h, counters = _triangle(tmp_path)
    body = {"kind": "connectivity", "src": H1, "dst": H4, "bandwidth_mbps": 100}
    reply = h.call(CreateIntent(body), 1)
    assert reply is not None and reply.status == 201, reply
    (owned,) = list(h.core.stitcher.live())
    assert owned.request.origin is Origin.INTENT and owned.plan is not None
    counters.rounds(6, HOT)
    assert owned.plan.path == DIRECT and _moves(h, "congestion") == 0


def test_get_forecasts_lists_the_predictors_anomalies(tmp_path: Path) -> None:
    h = Harness(tmp_path, predictor=True)
    h.connect_square()
    h.feed(_anomaly(8.0, 4.0), _anomaly(1.0, 4.0, "below"))
    reply = h.call(GetForecasts(), 9)
    assert reply is not None and reply.status == 200
    first, second = reply.body["anomalies"]
    assert first == {
        "pair": [H1, H4],
        "time": "1970-01-01T00:00:00.000Z",
        "observed_mbps": 8.0,
        "lower_mbps": 0.0,
        "upper_mbps": 4.0,
        "steps_outside": 3,
        "direction": "above",
    }
    assert second["direction"] == "below" and second["observed_mbps"] == 1.0
