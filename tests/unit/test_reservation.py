"""The REST form of a reservation: its times are RFC 3339 of the wall-clock ``now`` given."""

from __future__ import annotations

from vnstitch.clock import rfc3339
from vnstitch.stitcher.reservation import Reservation, ReservationRequest, State

WALL = 1_795_000_000.25  # 2026-11-18T11:06:40.250Z


def test_times_are_rfc3339_and_installed_at_is_null_until_installed() -> None:
    res = Reservation(7, ReservationRequest("h1", "h4"), created_at=WALL, updated_at=WALL)
    res.set_state(State.INSTALLING, WALL + 0.5)
    doc = res.to_dict()
    assert doc["created_at"] == "2026-11-18T11:06:40.250Z"
    assert doc["updated_at"] == "2026-11-18T11:06:40.750Z"
    assert doc["installed_at"] is None
    res.installed_at = WALL + 1
    res.set_state(State.ACTIVE, WALL + 1)
    doc = res.to_dict()
    assert doc["installed_at"] == doc["updated_at"] == rfc3339(WALL + 1)
    assert doc["created_at"] == rfc3339(WALL)  # unchanged by later states
