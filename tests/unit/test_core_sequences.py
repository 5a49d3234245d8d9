"""The controller core driven through recorded event sequences, checked on fake switches."""

from __future__ import annotations

from pathlib import Path

from core_harness import HOSTS, Harness, ipv4

from vnstitch.core.actions import Reply
from vnstitch.core.commands import (
    CreateIntent,
    CreateReservation,
    DeleteReservation,
    GetReservation,
)
from vnstitch.core.events import PredictorMessage, Wake
from vnstitch.messages import ForecastBatch, PairForecast, PairId, ReservationChange
from vnstitch.stitcher.reservation import Origin, State

H1, H4 = HOSTS[1][1], HOSTS[4][1]


def _reserve(h: Harness, ticket: int = 1, **body: object) -> Reply:
    reply = h.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 10, **body}), ticket)
    assert reply is not None
    return reply


def test_reservation_is_confirmed_by_barriers_and_carries_traffic(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    reply = _reserve(h)
    assert reply.status == 201 and reply.body["state"] == "ACTIVE"
    there = h.net.trace(1, 1, ipv4(H1, H4))
    assert there.exits == [(4, 1)] and there.meters, there
    assert h.net.trace(4, 1, ipv4(H4, H1)).exits == [(1, 1)]


def test_link_down_re_stitches_onto_the_other_side(tmp_path: Path) -> None:
    """switch up -> link seen -> reservation -> link down -> re-stitch."""
    h = Harness(tmp_path)
    h.connect_square()
    _reserve(h)
    first = h.net.trace(1, 1, ipv4(H1, H4)).switches
    middle = first[1]
    h.advance(1.0)
    h.cable(1, middle, up=False)
    res = h.core.stitcher.reservations[1]
    assert res.state is State.ACTIVE and middle not in res.plan.path
    after = h.net.trace(1, 1, ipv4(H1, H4))
    assert after.exits == [(4, 1)] and middle not in after.switches
    assert h.net.trace(4, 1, ipv4(H4, H1)).exits == [(1, 1)]
    assert h.core.ledger.violations() == []


def test_unconfirmed_install_is_answered_202_when_the_wait_ends(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    h.answer_barriers = False
    assert h.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 5})) is None
    assert h.wakes, "the core asks to be woken when the wait ends"
    h.advance(2.5)
    h.feed(Wake())
    late = h.replies[1]
    assert late.status == 202 and late.body["state"] == "INSTALLING"
    h.answer_barriers = True
    h.release_barriers()
    assert h.call(GetReservation("1"), 2).body["state"] == "ACTIVE"  # type: ignore[union-attr]


def test_bad_bodies_and_unknown_ids_change_nothing(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    bad = h.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": "lots"}))
    assert bad is not None and bad.status == 400 and bad.body["field"] == "bandwidth_mbps"
    assert h.call(DeleteReservation("99"), 2).status == 404  # type: ignore[union-attr]
    assert not list(h.core.stitcher.live())
    assert not [r for r in h.net.rules() if r.priority == 20000]


def test_isolation_refuses_a_reservation_between_its_groups(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    intent = h.call(CreateIntent({"kind": "isolation", "a": [H1], "b": [H4]}), 1)
    assert intent is not None and intent.status == 201
    refused = _reserve(h, ticket=2)
    assert refused.status == 409 and refused.body["constraint"] == "isolation"


def _batch(source: str, seq: int, start: float, upper: float) -> PredictorMessage:
    forecast = PairForecast(PairId(H1, H4), (upper,), (upper,), start, start + 600.0)
    return PredictorMessage(ForecastBatch(source, seq, "hgb-1", 0.95, start, (forecast,)))


def test_forecast_batch_pre_provisions_and_is_announced(tmp_path: Path) -> None:
    """forecast batch -> provisioning -> confirmed rules before any packet."""
    h = Harness(tmp_path, predictor=True)
    h.connect_square()
    h.feed(_batch("p1", 0, h.now.wall, 6.0))
    predicted = [r for r in h.core.stitcher.live() if r.request.origin is Origin.PREDICTED]
    assert len(predicted) == 1 and predicted[0].state is State.ACTIVE
    assert predicted[0].request.bandwidth_mbps == 6.0
    assert h.net.trace(1, 1, ipv4(H1, H4)).exits == [(4, 1)]
    changes = [m for m in h.published if isinstance(m, ReservationChange)]
    assert changes and changes[-1].active and changes[-1].origin == "forecast"


def test_a_restarted_predictor_s_stale_batch_is_ignored(tmp_path: Path) -> None:
    """predictor restart -> a batch older in time than the held forecast changes nothing."""
    h = Harness(tmp_path, predictor=True)
    h.connect_square()
    t = h.now.wall
    h.feed(_batch("p1", 5, t, 6.0))
    h.feed(_batch("p2", 0, t - 300.0, 20.0))  # the new process replays an old window
    res = next(r for r in h.core.stitcher.live() if r.request.origin is Origin.PREDICTED)
    assert res.request.bandwidth_mbps == 6.0
    h.feed(_batch("p2", 1, t + 60.0, 12.0))  # newer in time: it wins
    assert res.request.bandwidth_mbps == 12.0 and res.state is State.ACTIVE


def test_withdrawing_a_reservation_removes_its_rules(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    _reserve(h)
    gone = h.call(DeleteReservation("1"), 2)
    assert gone is not None and gone.status == 200 and gone.body["state"] == "RELEASED"
    assert not [r for r in h.net.rules() if r.priority == 20000]
    assert h.core.ledger.violations() == []


def test_a_re_stitch_burst_runs_in_slices_behind_other_events(tmp_path: Path) -> None:
    """Each slice is one event; the rest is posted for later, and all of it gets done."""
    from vnstitch.core.actions import SettleMoreLater

    h = Harness(tmp_path)
    h.connect_square()
    _reserve(h, ticket=1, bandwidth_mbps=2)
    _reserve(h, ticket=2, bandwidth_mbps=2, ip_proto=6, dst_port=80)
    h.core.stitching.slice_units = 1  # one reservation per slice
    path = h.core.stitcher.reservations[1].plan.path
    posted: list[object] = []
    carry = h._carry_out

    def spy(actions: list[object]) -> None:
        posted.extend(a for a in actions if isinstance(a, SettleMoreLater))
        carry(actions)  # type: ignore[arg-type]

    h._carry_out = spy  # type: ignore[method-assign]
    h.advance(1.0)
    h.cable(1, path[1], up=False)
    assert len(posted) >= 2
    for res in h.core.stitcher.reservations.values():
        assert res.state is State.ACTIVE and path[1] not in res.plan.path
    assert h.net.trace(1, 1, ipv4(H1, H4)).exits == [(4, 1)]
