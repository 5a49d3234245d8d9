"""Protected reservations driven through the core on fake switches (issue #10, item 1).

The square 1-2-4 / 1-3-4 plus a third way 1-5-4, so that after a cut the reservation can be
protected again. A cable is pulled without the core hearing of it (a frozen controller): the
switches' fast-failover groups alone keep the traffic flowing. Then the port status arrives,
and the core moves the reservation make-before-break onto a new path with a new backup.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from core_harness import CABLES, HOSTS, Harness, ipv4

from vnstitch.core.actions import Reply
from vnstitch.core.commands import CreateReservation, DeleteReservation, GetReservation
from vnstitch.stitcher.install_jobs import GroupAdd, GroupModify
from vnstitch.stitcher.reservation import State

H1, H4 = HOSTS[1][1], HOSTS[4][1]
THREE_WAYS = [*CABLES, (1, 5), (5, 4)]


def _reserve(h: Harness, ticket: int = 1, **body: object) -> Reply:
    request = {"src": H1, "dst": H4, "bandwidth_mbps": 10, "protection": True, **body}
    reply = h.call(CreateReservation(request), ticket)
    assert reply is not None
    return reply


def _delivered(h: Harness) -> bool:
    there = h.net.trace(1, 1, ipv4(H1, H4)).delivered_only_to == (4, 1)
    back = h.net.trace(4, 1, ipv4(H4, H1)).delivered_only_to == (1, 1)
    return there and back


def _groups_as_planned(h: Harness) -> bool:
    planned = {
        (g.dpid, g.group_id): g
        for res in h.core.stitcher.live()
        if res.plan is not None
        for g in res.plan.groups
    }
    return h.net.groups == planned


def test_a_protected_reservation_shows_its_backup_and_installs_its_groups(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square(cables=THREE_WAYS)
    reply = _reserve(h)
    assert reply.status == 201, reply.body
    body = reply.body
    assert body["state"] == "ACTIVE" and body["protection"] is True and body["protected"] is True
    path = body["path"]
    around = {tuple(d["around"]) for d in body["backup"] if d["direction"] == "forward"}
    assert around == {(a, b) for a, b in itertools.pairwise(path)}
    assert _delivered(h) and _groups_as_planned(h)
    h.audit()
    h.verify()  # the verifier follows the groups' live buckets: clean
    res = h.core.stitcher.reservations[1]
    assert res.state is State.ACTIVE and res.protected, res.history
    verdicts = [d["verdict"] for d in h.core.verification.trace_reservation(res)["directions"]]
    assert verdicts == ["ok", "ok"]


def test_cut_with_the_controller_frozen_then_re_protected_make_before_break(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path)
    h.connect_square(cables=THREE_WAYS)
    _reserve(h)
    res = h.core.stitcher.reservations[1]
    old = res.plan
    assert old is not None
    middle = old.path[1]
    h.advance(1.0)
    h.cable(1, middle, up=False, tell=False)  # the controller hears nothing
    assert _delivered(h), "the switches fail over by themselves"
    there = h.net.trace(1, 1, ipv4(H1, H4))
    assert middle not in there.switches and there.buckets[0][2] == 1  # the backup bucket
    assert res.state is State.ACTIVE and res.version == old.version

    h.answer_barriers = False  # hold the move between its phases
    h.tell_cable_down(1, middle)
    assert res.state is State.INSTALLING and not res.protected
    assert "on its backup" in (res.reason or "")
    assert _delivered(h), "the new transit rules and groups are in; the old path still carries"
    h.answer_barriers = True
    h.release_barriers()
    h.feed()
    while h.held_barriers:
        h.release_barriers()
    assert res.state is State.ACTIVE and res.protected, res.history
    assert res.plan is not None and middle not in res.plan.path and res.plan.detours
    assert _delivered(h) and _groups_as_planned(h)
    assert h.core.ledger.violations() == []
    doc = h.call(GetReservation("1"), 2)
    assert doc is not None and doc.body["protected"] is True
    # the new plan survives a cut of its own first link too
    h.cable(1, res.plan.path[1], up=False, tell=False)
    assert _delivered(h)


def _backup_gauge(h: Harness) -> dict[str, float]:
    """``vnstitch_protected_reservations`` as ``/metrics`` renders it, by ``backup``."""
    h.core.render_metrics()
    gauge = h.core.metrics.protected_reservations
    return {b: gauge.value(backup=b) for b in ("intact", "missing")}


def test_cut_without_a_way_to_re_protect_keeps_it_running_unprotected(tmp_path: Path) -> None:
    """On the plain square a cut leaves no second way: the reservation moves onto the other
    side without backup, says so, and is protected again once the cable is back."""
    h = Harness(tmp_path)
    h.connect_square()
    _reserve(h)
    res = h.core.stitcher.reservations[1]
    assert res.plan is not None
    middle = res.plan.path[1]
    h.cable(1, middle, up=False)
    assert res.state is State.ACTIVE and not res.protected
    reason = res.reason or ""
    assert "not protected" in reason and "no backup around link" in reason, res.history
    assert res.plan is not None and middle not in res.plan.path and not res.plan.detours
    assert _delivered(h)
    assert _backup_gauge(h) == {"intact": 0.0, "missing": 1.0}
    h.cable(1, middle, up=True)
    h.feed()
    assert res.state is State.ACTIVE and res.protected, res.history
    assert _delivered(h) and _groups_as_planned(h)
    assert _backup_gauge(h) == {"intact": 1.0, "missing": 0.0}
    assert h.core.ledger.violations() == []


def test_a_protected_request_no_backup_fits_is_refused(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square(cables=[(1, 2), (2, 4)])  # a line: no way around any link
    reply = _reserve(h)
    assert reply.status == 409 and reply.body["constraint"] == "protection", reply.body
    links = (
        "0000000000000001:12 -> 0000000000000002:11",
        "0000000000000002:14 -> 0000000000000004:12",
    )
    assert any(f"no backup around link {link}: " in reply.body["error"] for link in links)
    assert not list(h.core.stitcher.live()) and not h.net.groups
    assert h.core.stitcher.backups.pool.pool() == {}
    plain = _reserve(h, protection=False)
    assert plain.status == 201 and plain.body["protected"] is False


def test_release_removes_groups_after_the_rules(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square(cables=THREE_WAYS)
    _reserve(h)
    assert h.net.groups
    gone = h.call(DeleteReservation("1"), 2)
    assert gone is not None and gone.status == 200
    assert not h.net.groups and not [r for r in h.net.rules() if 20000 <= r.priority < 30000]
    assert h.core.stitcher.backups.pool.pool() == {} and h.core.ledger.violations() == []


def test_after_a_restart_the_same_groups_are_taken_again_in_place(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square(cables=THREE_WAYS)
    _reserve(h)
    groups = dict(h.net.groups)
    rules = set(h.net.rules())

    again = h.restarted()
    again.connect_square(hosts=False, cables=THREE_WAYS)
    again.advance(10.0)
    again.audit()
    res = again.core.stitcher.reservations[1]
    assert res.state is State.ACTIVE and res.protected, res.history
    assert again.net.groups == groups and set(again.net.rules()) == rules
    exists = [e for e in again.sent if isinstance(e.message, GroupAdd)]
    modified = [e for e in again.sent if isinstance(e.message, GroupModify)]
    assert exists and len(modified) == len(exists)  # each "group exists" became a modify
    assert _delivered(again)
