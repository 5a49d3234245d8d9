"""Advance reservations driven through the core on fake switches: book, install at the lead
time (barrier-confirmed), remove at the end, refuse what over-books some instant, restart."""

from __future__ import annotations

from pathlib import Path

from core_harness import HOSTS, Harness, ipv4

from vnstitch.clock import rfc3339
from vnstitch.core.actions import Reply
from vnstitch.core.commands import (
    CreateReservation,
    DeleteReservation,
    GetReservation,
    ReservationAvailability,
)
from vnstitch.core.events import PredictorMessage, Wake
from vnstitch.messages import ForecastBatch, PairForecast, PairId
from vnstitch.stitcher.reservation import Origin, State
from vnstitch.stitcher.schedule import AHEAD_OWNER

H1, H4 = HOSTS[1][1], HOSTS[4][1]
LINE = [(1, 2), (2, 4)]  # one path only: 1 - 2 - 4
RESERVED = 20000  # priority of reservation rules


def _book(h: Harness, start: float, end: float | None, mbps: float, ticket: int) -> Reply:
    body: dict[str, object] = {"src": H1, "dst": H4, "bandwidth_mbps": mbps}
    body["start"] = rfc3339(h.now.wall + start)
    if end is not None:
        body["end"] = rfc3339(h.now.wall + end)
    reply = h.call(CreateReservation(body), ticket)
    assert reply is not None
    return reply


def _reserved_rules(h: Harness) -> list[object]:
    return [r for r in h.net.rules() if r.priority == RESERVED]


def _wake(h: Harness, seconds: float) -> None:
    h.advance(seconds)
    h.feed(Wake())


def test_installed_a_lead_time_before_start_and_removed_at_the_end(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    booked = _book(h, 10.0, 20.0, 10, 1)
    assert booked.status == 201 and booked.body["state"] == "SCHEDULED", booked.body
    assert booked.body["start"] == rfc3339(h.now.wall + 10.0)
    assert booked.body["install_at"] == rfc3339(h.now.wall + 7.0)  # lead 3 s by default
    assert not _reserved_rules(h) and h.net.trace(1, 1, ipv4(H1, H4)).meters == []
    assert h.now.mono + 7.0 in h.wakes  # the core asked to be woken at the install time
    _wake(h, 6.9)
    assert h.core.stitcher.reservations[1].state is State.SCHEDULED and not _reserved_rules(h)
    _wake(h, 0.1)
    res = h.core.stitcher.reservations[1]
    assert res.state is State.ACTIVE  # barriers answered: confirmed 3 s before start
    there = h.net.trace(1, 1, ipv4(H1, H4))
    assert there.exits == [(4, 1)] and there.meters
    _wake(h, 12.9)
    assert res.state is State.ACTIVE
    _wake(h, 0.1)
    assert res.state is State.ENDED and not _reserved_rules(h)
    assert h.core.ledger.holding(1) is None and h.core.ledger.violations() == []
    shown = h.call(GetReservation("1"), 9)
    assert shown is not None and shown.body["state"] == "ENDED"


def test_removal_at_the_end_takes_the_ingress_rules_first(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    _book(h, 5.0, 10.0, 10, 1)
    _wake(h, 2.0)
    plan = h.core.stitcher.reservations[1].plan
    assert plan is not None
    ingress = {r.key for r in plan.ingress}
    h.sent.clear()
    _wake(h, 8.0)
    deletes = [a.message.rule.key for a in h.sent if hasattr(a.message, "rule")]
    assert deletes and set(deletes[: len(ingress)]) == ingress


def test_windows_that_over_book_a_link_together_are_refused_disjoint_ones_fit(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path)
    h.connect_square(cables=LINE)
    assert _book(h, 10.0, 20.0, 500, 1).status == 201
    refused = _book(h, 15.0, 25.0, 500, 2)
    assert refused.status == 409 and refused.body["constraint"] == "bandwidth"
    reason = refused.body["error"]
    assert "full during" in reason and rfc3339(h.now.wall + 20.0) in reason, reason
    assert "link 1:12->2:11 is full" in reason  # names the link
    assert _book(h, 30.0, 40.0, 500, 3).status == 201  # disjoint: both fit
    assert _book(h, 20.0, 26.0, 300, 4).status == 201  # lead 3 s: overlaps 10-20 by 3 s, fits
    assert h.core.ledger.violations() == []


def test_open_ended_admission_now_respects_booked_windows(tmp_path: Path) -> None:
    """A request for now (open-ended) and a forecast never take what a window was promised."""
    h = Harness(tmp_path, predictor=True)
    h.connect_square(cables=LINE)
    assert _book(h, 3600.0, 7200.0, 500, 1).status == 201
    ahead = h.core.ledger.holding(AHEAD_OWNER)
    assert ahead is not None and max(ahead.amounts.values()) == 560.0  # the meter rate
    now = h.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 500}), 2)
    assert now is not None and now.status == 409
    forecast = PairForecast(PairId(H1, H4), (600.0,), (600.0,), h.now.wall, h.now.wall + 600)
    h.feed(PredictorMessage(ForecastBatch("p1", 0, "hgb-1", 0.95, h.now.wall, (forecast,))))
    predicted = [r for r in h.core.stitcher.live() if r.request.origin is Origin.PREDICTED]
    assert all(r.state is not State.ACTIVE for r in predicted), predicted
    small = h.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 200}), 3)
    assert small is not None and small.status == 201  # what is free in it may be used
    assert h.core.ledger.violations() == []


def test_withdrawn_before_its_window_frees_the_window(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square(cables=LINE)
    assert _book(h, 100.0, 200.0, 500, 1).status == 201
    gone = h.call(DeleteReservation("1"), 2)
    assert gone is not None and gone.body["state"] == "RELEASED"
    assert h.core.ledger.holding(AHEAD_OWNER) is None or not any(
        h.core.ledger.holding(AHEAD_OWNER).amounts.values()  # type: ignore[union-attr]
    )
    assert _book(h, 150.0, 250.0, 500, 3).status == 201
    _wake(h, 150.0)
    assert h.core.stitcher.reservations[1].state is State.RELEASED
    assert h.core.stitcher.reservations[2].state is State.ACTIVE


def test_availability_finds_the_earliest_start_after_a_booking(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square(cables=LINE)
    assert _book(h, 10.0, 100.0, 500, 1).status == 201
    body = {"src": H1, "dst": H4, "bandwidth_mbps": 500, "duration_s": 60}
    found = h.call(ReservationAvailability(body), 2)
    assert found is not None and found.status == 200, found.body
    # the booking holds the link until 100 s; a window holds from its start less the lead (3 s)
    assert found.body["start"] == rfc3339(h.now.wall + 103.0)
    assert found.body["path"] == [f"{d:016x}" for d in (1, 2, 4)]
    small = h.call(ReservationAvailability({**body, "bandwidth_mbps": 100}), 3)
    assert small is not None and small.body["start"] == rfc3339(h.now.wall)
    early = {**body, "before": rfc3339(h.now.wall + 90.0)}
    none = h.call(ReservationAvailability(early), 4)
    assert none is not None and none.status == 409
    bad = h.call(ReservationAvailability({**body, "duration_s": -1}), 5)
    assert bad is not None and bad.status == 400 and bad.body["field"] == "duration_s"


def test_bad_windows_are_refused_and_change_nothing(tmp_path: Path) -> None:
    """Unreadable times are 400 naming the field; well-formed windows that cannot be booked
    (ending before they start, already over) are 409 ``window``."""
    h = Harness(tmp_path)
    h.connect_square()
    for ticket, body in enumerate(
        (
            {"start": "tomorrow"},
            {"end": "2026-11-30T01:00:60Z"},
            {"start": "9999-12-31T23:00:00-05:00"},
        )
    ):
        reply = h.call(CreateReservation({"src": H1, "dst": H4, **body}), 10 + ticket)
        assert reply is not None and reply.status == 400, reply
        assert reply.body["field"] == next(iter(body))
    backwards = _book(h, 20.0, 10.0, 10, 1)
    assert backwards.status == 409 and backwards.body["constraint"] == "window"
    past = _book(h, -20.0, -10.0, 10, 2)
    assert past.status == 409 and "ended" in past.body["error"]
    assert not h.core.stitcher.reservations
    tiny = {"src": H1, "dst": H4, "bandwidth_mbps": 1, "duration_s": 5e-324}
    reply = h.call(ReservationAvailability(tiny), 3)
    assert reply is not None and reply.status == 400 and reply.body["field"] == "duration_s"


def test_a_scheduled_reservation_survives_a_restart(tmp_path: Path) -> None:
    """kill -9 between booking and start: the booking, its window and path come back; a window
    whose install time passed while the controller was down is installed at once."""
    h = Harness(tmp_path)
    h.connect_square(cables=LINE)
    assert _book(h, 30.0, 60.0, 500, 1).status == 201
    again = h.restarted(seconds=40.0)  # down across the install time and the start
    res = again.core.stitcher.reservations[1]
    assert res.state is State.SCHEDULED and res.request.end is not None
    again.connect_square(cables=LINE, hosts=False)
    again.feed(Wake())
    assert res.state is State.ACTIVE, res.history
    assert again.net.trace(1, 1, ipv4(H1, H4)).exits == [(4, 1)]
    refused = again.call(
        CreateReservation({"src": H4, "dst": H1, "bandwidth_mbps": 500, "ip_proto": 17}), 2
    )
    assert refused is not None and refused.status == 409  # its window still holds the link
    _wake(again, 25.0)
    assert res.state is State.ENDED and not _reserved_rules(again)


def test_a_window_that_ended_while_the_controller_was_down_is_removed(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square(cables=LINE)
    assert _book(h, 3.0, 10.0, 10, 1).status == 201
    _wake(h, 0.5)
    res = h.core.stitcher.reservations[1]
    assert res.state is State.ACTIVE and _reserved_rules(h)
    again = h.restarted(seconds=30.0)  # down across the end
    again.connect_square(cables=LINE, hosts=False)
    again.feed(Wake())
    back = again.core.stitcher.reservations[1]
    assert back.state is State.ENDED, back.history
    assert again.core.ledger.holding(1) is None
    for _ in range(2):  # its rules outlived the controller: orphans, deleted on the second look
        again.advance(10.0)
        again.audit()
    assert not _reserved_rules(again)


def test_a_booked_path_lost_before_the_window_is_planned_again(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    assert _book(h, 60.0, 120.0, 10, 1).status == 201
    booked = h.core.schedule.booked[1].path
    middle = booked[1]
    h.advance(1.0)
    h.cable(1, middle, up=False)
    res = h.core.stitcher.reservations[1]
    again = h.core.schedule.booked[1].path
    assert res.state is State.SCHEDULED and middle not in again, (booked, again)
    assert "re-planned" in (res.reason or "")
    _wake(h, 57.0)
    assert res.state is State.ACTIVE and res.plan is not None and res.plan.path == again
    assert h.net.trace(1, 1, ipv4(H1, H4)).exits == [(4, 1)]
    assert h.core.ledger.violations() == []


def test_a_window_without_a_path_waits_scheduled_and_installs_when_one_returns(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path)
    h.connect_square(cables=LINE)
    assert _book(h, 20.0, 60.0, 10, 1).status == 201
    h.advance(1.0)
    h.cable(2, 4, up=False)
    res = h.core.stitcher.reservations[1]
    assert res.state is State.SCHEDULED and "none fits" in (res.reason or ""), res.reason
    _wake(h, 17.0)  # its install time: still no path
    assert res.state is State.SCHEDULED and "waiting to install" in (res.reason or "")
    waiting = len(res.history)
    _wake(h, 1.0)
    assert len(res.history) == waiting  # no new entry per tick
    h.cable(2, 4, up=True)
    _wake(h, 1.0)
    assert res.state is State.ACTIVE, res.history
    assert h.net.trace(1, 1, ipv4(H1, H4)).exits == [(4, 1)]


def test_a_restored_booking_holds_its_links_before_its_window(tmp_path: Path) -> None:
    """After kill -9 the stored booking holds its links again as soon as they are discovered:
    a request for now cannot take the room the window was promised."""
    h = Harness(tmp_path)
    h.connect_square(cables=LINE)
    assert _book(h, 300.0, 600.0, 500, 1).status == 201
    again = h.restarted(seconds=5.0)
    booking = again.core.schedule.timeline.booking(1)
    assert booking is not None and booking.units  # read back from the store, links included
    again.connect_square(cables=LINE)
    now = again.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 500}), 2)
    assert now is not None and now.status == 409, now.body
    small = again.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 200}), 3)
    assert small is not None and small.status == 201
    assert again.core.ledger.violations() == []
