"""An isolation never silently cuts a live reservation (issue #16, item 1), on fake switches."""

from __future__ import annotations

from pathlib import Path

from core_harness import HOSTS, Harness, ipv4

from vnstitch.core.commands import CreateIntent, CreateReservation
from vnstitch.core.events import PredictorMessage
from vnstitch.intents.model import IntentState
from vnstitch.messages import ForecastBatch, PairForecast, PairId
from vnstitch.stitcher.reservation import Origin, State

H1, H4 = HOSTS[1][1], HOSTS[4][1]
ISOLATION = {"kind": "isolation", "a": [H1], "b": [H4]}


def _reserved(h: Harness) -> str:
    reply = h.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 5}), 1)
    assert reply is not None and reply.status == 201
    return str(reply.body["id"])


def test_an_isolation_over_a_live_reservation_is_refused_naming_it(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    res_id = _reserved(h)
    reply = h.call(CreateIntent(ISOLATION), 2)
    assert reply is not None and reply.status == 409
    assert f"reservation {res_id}" in reply.body["error"]
    assert reply.body["conflicts"][0]["reservation_id"] == res_id
    assert not h.core.intents.intents  # nothing kept
    assert h.core.stitcher.reservations[int(res_id)].state is State.ACTIVE
    assert h.net.trace(1, 1, ipv4(H1, H4)).exits == [(4, 1)]


def test_preempt_withdraws_the_reservation_and_the_isolation_holds(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    res_id = _reserved(h)
    dry = h.call(CreateIntent({**ISOLATION, "preempt": True}, dry_run=True), 2)
    assert dry is not None and dry.status == 200
    assert dry.body["withdraws"] == [{"intent": None, "reservation": res_id, "reason": "preempted"}]
    assert h.core.stitcher.reservations[int(res_id)].state is State.ACTIVE  # dry run
    reply = h.call(CreateIntent({**ISOLATION, "preempt": True}), 3)
    assert reply is not None and reply.status == 201, reply
    res = h.core.stitcher.reservations[int(res_id)]
    assert res.state is State.RELEASED and reply.body["id"] in (res.reason or "")
    assert h.net.trace(1, 1, ipv4(H1, H4)).exits == []  # dropped


def test_preempt_withdraws_a_connectivity_intent_through_the_intent(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    body = {"kind": "connectivity", "src": H1, "dst": H4, "bandwidth_mbps": 2}
    conn = h.call(CreateIntent(body), 1)
    assert conn is not None and conn.status == 201
    refused = h.call(CreateIntent(ISOLATION), 2)
    assert refused is not None and refused.status == 409
    assert conn.body["id"] in refused.body["error"]
    reply = h.call(CreateIntent({**ISOLATION, "preempt": True}), 3)
    assert reply is not None and reply.status == 201
    withdrawn = h.core.intents.intents[conn.body["id"]]
    assert withdrawn.state is IntentState.WITHDRAWN
    assert any(reply.body["id"] in (e.reason or "") for e in withdrawn.history)


def test_preempt_is_a_boolean(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    reply = h.call(CreateIntent({**ISOLATION, "preempt": "yes"}), 1)
    assert reply is not None and reply.status == 400 and reply.body["field"] == "preempt"


def _forecast(h: Harness, seq: int) -> PredictorMessage:
    start = h.now.wall
    fc = PairForecast(PairId(H1, H4), (6.0,), (6.0,), start, start + 600.0)
    return PredictorMessage(ForecastBatch("p1", seq, "hgb-1", 0.95, start, (fc,)))


def test_predicted_reservations_across_an_isolation_go_and_never_come_back(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path, predictor=True)
    h.connect_square()
    h.feed(_forecast(h, 0))
    (predicted,) = [r for r in h.core.stitcher.live() if r.request.origin is Origin.PREDICTED]
    reply = h.call(CreateIntent(ISOLATION), 2)  # no preempt needed for forecasts
    assert reply is not None and reply.status == 201, reply
    assert predicted.state is State.RELEASED
    h.advance(10.0)
    h.feed(_forecast(h, 1))
    assert not [r for r in h.core.stitcher.live() if r.request.origin is Origin.PREDICTED]
    assert h.net.trace(1, 1, ipv4(H1, H4)).exits == []
