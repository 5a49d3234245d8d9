"""Windowed and recurring connectivity intents driven through the core on fake switches:
SCHEDULED until the lead time, INSTALLED in the window, ENDED after it; a recurrence books its
next occurrence when one ends; a refused occurrence shows and moves on; restart loses nothing.

The harness starts at 2027-01-15T08:00:00Z (a Friday)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core_harness import HOSTS, Harness, ipv4

from vnstitch.clock import parse_rfc3339, rfc3339
from vnstitch.core.actions import Reply
from vnstitch.core.commands import (
    CreateIntent,
    CreateReservation,
    DeleteIntent,
    DeleteReservation,
    GetIntent,
)
from vnstitch.core.events import Wake
from vnstitch.stitcher.reservation import State

H1, H4 = HOSTS[1][1], HOSTS[4][1]
LINE = [(1, 2), (2, 4)]  # one path only: 1 - 2 - 4
RESERVED = 20000  # priority of reservation rules
DAILY = {
    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "start": "08:10",
    "end": "08:20",
    "time_zone": "UTC",
    "until": "2027-01-17",
}
FIRST = parse_rfc3339("2027-01-15T08:10:00Z")
DAY = 86400.0


def _intent(h: Harness, ticket: int, mbps: float = 10, **window: Any) -> Reply:
    body = {"kind": "connectivity", "src": H1, "dst": H4, "bandwidth_mbps": mbps, **window}
    reply = h.call(CreateIntent(body), ticket)
    assert reply is not None
    return reply


def _get(h: Harness, ticket: int = 99) -> dict[str, Any]:
    reply = h.call(GetIntent("intent-1"), ticket)
    assert reply is not None and reply.status == 200
    body: dict[str, Any] = reply.body
    return body


def _reserved_rules(h: Harness) -> list[object]:
    return [r for r in h.net.rules() if r.priority == RESERVED]


def _wake_at(h: Harness, wall: float) -> None:
    h.advance(wall - h.now.wall)
    h.feed(Wake())


def test_a_windowed_intent_waits_scheduled_is_installed_in_its_window_and_ends(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    start, end = h.now.wall + 10.0, h.now.wall + 20.0
    made = _intent(h, 1, start=rfc3339(start), end=rfc3339(end))
    assert made.status == 201 and made.body["state"] == "SCHEDULED", made.body
    assert made.body["window"] == {"start": rfc3339(start), "end": rfc3339(end)}
    assert made.body["spec"]["start"] == rfc3339(start)
    assert made.body["next_occurrence"] is None  # one window, no recurrence
    res = h.core.stitcher.reservations[int(made.body["reservations"][0])]
    assert res.state is State.SCHEDULED and res.request.end == end
    assert not _reserved_rules(h)
    _wake_at(h, start - 3.0)  # the lead time
    assert res.state is State.ACTIVE and _get(h)["state"] == "INSTALLED"
    assert h.net.trace(1, 1, ipv4(H1, H4)).exits == [(4, 1)]
    _wake_at(h, end)
    shown = _get(h)
    assert shown["state"] == "ENDED" and shown["reason"] == "its window ended", shown
    assert res.state is State.ENDED and not _reserved_rules(h)
    assert h.core.ledger.holding(res.id) is None and h.core.ledger.violations() == []
    gone = h.call(DeleteIntent("intent-1"), 5)  # final: a DELETE changes nothing
    assert gone is not None and gone.body["state"] == "ENDED"


def test_withdrawing_a_scheduled_intent_frees_its_window(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square(cables=LINE)
    start = rfc3339(h.now.wall + 60.0)
    made = _intent(h, 1, 600, start=start, end=rfc3339(h.now.wall + 120.0))
    assert made.status == 201 and made.body["state"] == "SCHEDULED"
    blocked = h.call(CreateReservation({"src": H4, "dst": H1, "bandwidth_mbps": 600}), 2)
    assert blocked is not None and blocked.status == 409  # the window holds the link ahead
    gone = h.call(DeleteIntent("intent-1"), 3)
    assert gone is not None and gone.body["state"] == "WITHDRAWN"
    res_id = int(made.body["reservations"][0])
    assert h.core.stitcher.reservations[res_id].state is State.RELEASED
    assert res_id not in h.core.schedule.booked
    now = h.call(CreateReservation({"src": H4, "dst": H1, "bandwidth_mbps": 600}), 4)
    assert now is not None and now.status == 201


def test_a_recurring_intent_books_each_next_occurrence_when_one_ends(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    made = _intent(h, 1, recurrence=DAILY)
    assert made.status == 201 and made.body["state"] == "SCHEDULED", made.body
    assert made.body["window"] == {"start": rfc3339(FIRST), "end": rfc3339(FIRST + 600)}
    assert made.body["next_occurrence"] == rfc3339(FIRST)
    first = int(made.body["reservations"][0])
    _wake_at(h, FIRST - 3.0)
    shown = _get(h)
    assert shown["state"] == "INSTALLED" and _reserved_rules(h)
    assert shown["next_occurrence"] == rfc3339(FIRST + DAY)  # the one after the installed one
    _wake_at(h, FIRST + 600)
    shown = _get(h)
    assert shown["state"] == "SCHEDULED", shown
    assert shown["window"] == {"start": rfc3339(FIRST + DAY), "end": rfc3339(FIRST + DAY + 600)}
    assert h.core.stitcher.reservations[first].state is State.ENDED and not _reserved_rules(h)
    (second,) = (int(r) for r in shown["reservations"])
    assert second != first and h.core.stitcher.reservations[second].state is State.SCHEDULED
    _wake_at(h, FIRST + DAY)
    assert _get(h)["state"] == "INSTALLED" and _reserved_rules(h)
    _wake_at(h, FIRST + 2 * DAY + 600)  # the third and last (until 01-17) is booked, then over
    _wake_at(h, FIRST + 2 * DAY + 600)
    shown = _get(h)
    assert shown["state"] == "ENDED" and shown["reason"] == "its last occurrence ended", shown
    assert shown["next_occurrence"] is None and not _reserved_rules(h)
    assert h.core.ledger.violations() == []


def test_a_refused_occurrence_fails_the_intent_and_the_next_one_is_tried(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square(cables=LINE)
    blocker = h.call(CreateReservation({"src": H4, "dst": H1, "bandwidth_mbps": 600}), 1)
    assert blocker is not None and blocker.status == 201
    made = _intent(h, 2, 600, recurrence=DAILY)
    assert made.status == 201 and made.body["state"] == "FAILED", made.body
    assert made.body["reason"].startswith(f"the occurrence from {rfc3339(FIRST)} is refused")
    assert made.body["next_occurrence"] == rfc3339(FIRST)
    _wake_at(h, FIRST + 600)  # that occurrence is over: the next one is tried
    shown = _get(h)
    assert shown["state"] == "FAILED" and rfc3339(FIRST + DAY) in shown["reason"], shown
    freed = h.call(DeleteReservation(str(blocker.body["id"])), 3)
    assert freed is not None and freed.status == 200
    h.advance(1.0)
    h.core.stitching.run(h.core.intents.refresh(h.now.wall), h.now)  # a capacity change
    shown = _get(h)
    assert shown["state"] == "SCHEDULED" and shown["next_occurrence"] == rfc3339(FIRST + DAY)


def test_a_recurring_intent_and_its_booking_survive_a_restart(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    made = _intent(h, 1, recurrence=DAILY)
    first = int(made.body["reservations"][0])
    again = h.restarted(seconds=30.0)  # kill -9 between the booking and the occurrence
    again.connect_square(hosts=False)
    again.feed(Wake())
    shown = _get(again)
    assert shown["state"] == "SCHEDULED" and shown["reservations"] == [str(first)], shown
    assert shown["window"] == {"start": rfc3339(FIRST), "end": rfc3339(FIRST + 600)}
    assert first in again.core.schedule.booked
    _wake_at(again, FIRST - 3.0)
    assert _get(again)["state"] == "INSTALLED" and _reserved_rules(again)
    later = again.restarted(seconds=DAY)  # down across the occurrence's end, till 01-16 08:09:57
    later.connect_square(hosts=False)
    later.feed(Wake())
    shown = _get(later)
    assert shown["state"] == "SCHEDULED", shown
    assert shown["window"]["start"] == rfc3339(FIRST + DAY)  # the next one is booked
    assert later.core.stitcher.reservations[first].state is State.ENDED
    for _ in range(2):  # its rules outlived the controller: orphans, deleted on the second look
        later.advance(10.0)
        later.audit()
    assert not _reserved_rules(later)
    _wake_at(later, FIRST + DAY)
    assert _get(later)["state"] == "INSTALLED" and _reserved_rules(later)


def test_a_windowed_intent_booked_before_a_kill_9_is_installed_and_ends_after_it(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    start, end = h.now.wall + 60.0, h.now.wall + 90.0
    made = _intent(h, 1, start=rfc3339(start), end=rfc3339(end))
    res_id = int(made.body["reservations"][0])
    again = h.restarted(seconds=58.0)  # down across the install time
    again.connect_square(hosts=False)
    again.feed(Wake())
    shown = _get(again)
    assert shown["state"] == "INSTALLED" and shown["reservations"] == [str(res_id)], shown
    assert shown["window"] == {"start": rfc3339(start), "end": rfc3339(end)}
    assert again.net.trace(1, 1, ipv4(H1, H4)).exits == [(4, 1)]
    _wake_at(again, end)
    assert _get(again)["state"] == "ENDED" and not _reserved_rules(again)


def test_a_window_whose_install_is_refused_says_so_on_the_intent(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square(cables=LINE)
    start = h.now.wall + 20.0
    made = _intent(h, 1, start=rfc3339(start), end=rfc3339(start + 40.0))
    assert made.status == 201 and made.body["state"] == "SCHEDULED"
    h.advance(1.0)
    h.cable(2, 4, up=False)  # the only path is gone before the install time
    _wake_at(h, start - 3.0)
    shown = _get(h)
    assert shown["state"] == "SCHEDULED" and shown["reason"].startswith("waiting to install")
    h.cable(2, 4, up=True)
    _wake_at(h, start - 2.0)
    shown = _get(h)
    assert shown["state"] == "INSTALLED", shown
    assert h.net.trace(1, 1, ipv4(H1, H4)).exits == [(4, 1)]
