"""A protected plan survives the store: its detours and group ids, so a restart takes the same."""

from __future__ import annotations

import json
from pathlib import Path

from vnstitch.core.durable import DurableState, plan_record, stored_plan
from vnstitch.stitcher.reservation import (
    Detour,
    Origin,
    Reservation,
    ReservationRequest,
    State,
    StoredPlan,
)

PLAN = StoredPlan(
    version=3,
    path=(1, 2, 4),
    meter_ids={1: 7, 4: 9},
    latency_ms=2.5,
    detours=(
        Detour(False, 1, (2, 1, 3, 4)),
        Detour(False, 0, (1, 3)),
        Detour(True, 1, (2, 4, 3, 1)),
        Detour(True, 0, (4, 3)),
    ),
    group_ids={(1, False): 5, (2, False): 6, (4, True): 5, (2, True): 7},
)


def test_a_protected_plan_round_trips_through_its_json_record() -> None:
    record = plan_record(PLAN)
    assert record is not None
    assert stored_plan(json.loads(json.dumps(record))) == PLAN
    assert record["group_ids"][0] == {"dpid": "0000000000000001", "reverse": False, "group_id": 5}


def test_a_record_written_before_protection_reads_as_unprotected() -> None:
    old = {"version": 2, "path": ["0000000000000001"], "meter_ids": {}, "latency_ms": None}
    plan = stored_plan(old)  # type: ignore[arg-type]
    assert plan is not None and plan.detours == () and plan.group_ids == {}
    unprotected = plan_record(StoredPlan(1, (1, 2), {1: 1}, None))
    assert unprotected is not None and "detours" not in unprotected


def test_the_store_keeps_the_request_s_protection_and_the_plan(tmp_path: Path) -> None:
    durable = DurableState(str(tmp_path / "state.db"), 1_800_000_000.0)
    request = ReservationRequest("h1", "h4", 10.0, protection=True)
    res = Reservation(5, request, state=State.ACTIVE, created_at=1.8e9, updated_at=1.8e9)
    durable.persist_reservation(res, PLAN)
    (record,) = DurableState(str(tmp_path / "state.db"), 1_800_000_001.0).store.load().reservations
    assert record["request"]["protection"] is True and record["origin"] == Origin.REQUEST.value
    assert stored_plan(record["plan"]) == PLAN
