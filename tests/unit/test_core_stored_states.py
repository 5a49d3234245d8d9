"""What the store holds of a reservation's state: what a follower (or a restart) shows.

Confirmations and failures are stored together at the next probe tick (one transaction, not
one per confirmation: a re-stitch confirms hundreds at once); a released reservation stays
stored without a plan, the newest ``GONE_KEPT`` of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from core_harness import HOSTS, Harness

from vnstitch.core import durable
from vnstitch.core.commands import CreateReservation, DeleteReservation, GetReservation
from vnstitch.core.events import ProbeTick
from vnstitch.core.stored_reads import stored_reply
from vnstitch.store.interface import StoreUnavailable
from vnstitch.store.records import ReservationRecord

H1, H4 = HOSTS[1][1], HOSTS[4][1]


def _stored(h: Harness) -> dict[int, ReservationRecord]:
    return {r["id"]: r for r in h.core.durable.store.load().reservations}


def _reserve(h: Harness, ticket: int, port: int) -> int:
    body = {"src": H1, "dst": H4, "bandwidth_mbps": 1, "ip_proto": 17, "dst_port": port}
    reply = h.call(CreateReservation(body), ticket)
    assert reply is not None and reply.status == 201, reply
    return int(reply.body["id"])


def test_confirmations_are_stored_together_at_the_next_tick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    ids = [_reserve(h, ticket, 1000 + ticket) for ticket in (1, 2, 3)]
    assert {_stored(h)[i]["state"] for i in ids} == {"INSTALLING"}  # durable before the jobs
    store = h.core.durable.store
    commits: list[int] = []  # per transaction that wrote reservations: how many
    open_block: list[int] = []
    put, atomic = store.put_reservation, store.atomic

    def counted_put(record: ReservationRecord) -> None:
        if open_block:
            open_block[0] += 1
        else:
            commits.append(1)
        put(record)

    @contextmanager
    def counted_atomic() -> Iterator[None]:
        outermost = not open_block
        if outermost:
            open_block.append(0)
        try:
            with atomic():
                yield
        finally:
            if outermost:
                written = open_block.pop()
                if written:
                    commits.append(written)

    monkeypatch.setattr(store, "put_reservation", counted_put)
    monkeypatch.setattr(store, "atomic", counted_atomic)
    h.feed(ProbeTick())
    assert {_stored(h)[i]["state"] for i in ids} == {"ACTIVE"}
    assert commits == [3]  # three confirmations, one transaction
    h.feed(ProbeTick())
    assert commits == [3]  # nothing changed since: nothing written


def test_a_released_reservation_is_answered_as_released_from_the_store(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    res_id = _reserve(h, 1, 1001)
    reply = h.call(DeleteReservation(str(res_id)), 2)
    assert reply is not None and reply.status in (200, 202, 204), reply
    row = _stored(h)[res_id]
    assert row["state"] == "RELEASED" and row["plan"] is None
    state = h.core.durable.store.load()
    follower = stored_reply(GetReservation(str(res_id)), state)
    assert follower.status == 200 and follower.body["state"] == "RELEASED"
    fresh = h.restarted()  # a restart (or a takeover) answers it the same way
    again = fresh.call(GetReservation(str(res_id)), 3)
    assert again is not None and again.status == 200 and again.body["state"] == "RELEASED"
    assert res_id not in [r.id for r in fresh.core.stitcher.live()]


def test_only_the_newest_released_reservations_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(durable, "GONE_KEPT", 2)
    h = Harness(tmp_path)
    h.connect_square()
    ids = [_reserve(h, ticket, 1000 + ticket) for ticket in (1, 2, 3)]
    for ticket, res_id in enumerate(ids, start=10):
        h.call(DeleteReservation(str(res_id)), ticket)
    assert sorted(_stored(h)) == ids[1:]


def test_states_the_store_cannot_take_now_are_written_at_a_later_tick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    res_id = _reserve(h, 1, 1001)

    def refuse(_record: ReservationRecord) -> None:
        raise StoreUnavailable("the store cannot commit (no majority)")

    monkeypatch.setattr(h.core.durable.store, "put_reservation", refuse)
    h.feed(ProbeTick())  # the tick's other work goes on; the state waits
    monkeypatch.undo()
    assert _stored(h)[res_id]["state"] == "INSTALLING"
    h.feed(ProbeTick())
    assert _stored(h)[res_id]["state"] == "ACTIVE"
