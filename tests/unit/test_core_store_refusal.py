"""A request the store cannot commit (a cluster store without a majority) leaves nothing booked."""

from __future__ import annotations

from pathlib import Path

import pytest
from core_harness import HOSTS, Harness

from vnstitch.core.commands import CreateReservation, GetReservation
from vnstitch.store.interface import StoreUnavailable
from vnstitch.store.records import ReservationRecord

H1, H4 = HOSTS[1][1], HOSTS[4][1]


def test_a_reservation_the_store_cannot_commit_is_not_booked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    sent = len(h.sent)

    def refuse(_record: ReservationRecord) -> None:
        raise StoreUnavailable("the store cannot commit (no majority)")

    monkeypatch.setattr(h.core.durable.store, "put_reservation", refuse)
    with pytest.raises(StoreUnavailable):
        h.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 10}))
    assert h.core.stitcher.reservations == {}
    assert [u for u in h.core.stitcher.ledger.snapshot() if u.usage.reserved] == []
    assert len(h.sent) == sent  # nothing went to a switch
    monkeypatch.undo()
    reply = h.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 10}), 2)
    assert reply is not None and reply.status == 201, reply
    listed = h.call(GetReservation(str(reply.body["id"])), 3)
    assert listed is not None and listed.body["state"] == "ACTIVE"
