"""The stitcher's pure core: plans checked on a fake flow table, install order, lifecycle."""

from __future__ import annotations

from typing import Any

import pytest

from topology.database import TopologyDatabase
from topology.model import Attachment, Host, LinkId, Port
from topology.zones import ZoneMap
from vnstitch.resources.ledger import Ledger
from vnstitch.rules.fake_table import FakeNetwork
from vnstitch.rules.model import ETH_TYPE_IPV4
from vnstitch.stitcher.install_jobs import FlowAdd, FlowDelete, Job, MeterAdd, MeterDelete
from vnstitch.stitcher.reservation import ReservationRequest, State
from vnstitch.stitcher.stitch_service import Refusal, StitchService

# A square 1-2-4 / 1-3-4; inter-switch ports: (a, b) uses port 10+b on a.
CABLES = [(1, 2), (2, 4), (1, 3), (3, 4)]


def _db(zones: ZoneMap | None = None, capacity: float = 100.0) -> TopologyDatabase:
    db = TopologyDatabase(zones, default_capacity_mbps=capacity)
    for d in (1, 2, 3, 4):
        ports = [Port(1)] + [
            Port(10 + o) for a, b in CABLES for o in (a, b) if d in (a, b) and o != d
        ]
        db.add_switch(d, ports, 0.0, f"s{d}")
    for a, b in CABLES:
        for lid in (LinkId(a, 10 + b, b, 10 + a), LinkId(b, 10 + a, a, 10 + b)):
            db.link_seen(lid, 0.0, 0.0)
            db.set_link_latency(lid, 1.0 if 3 not in (a, b) else 5.0, 0.0)
    db.add_inventory_host(Host("h1", "00:00:00:00:00:01", "10.0.0.1", Attachment(1, 1)), 0.0)
    db.add_inventory_host(Host("h4", "00:00:00:00:00:04", "10.0.0.4", Attachment(4, 1)), 0.0)
    db.add_inventory_host(Host("h2", "00:00:00:00:00:02", "10.0.0.2", Attachment(2, 1)), 0.0)
    return db


def _service(db: TopologyDatabase) -> StitchService:
    svc = StitchService(db, Ledger(link_headroom=0.1))
    svc.sync_capacities()
    return svc


def _fake(db: TopologyDatabase) -> FakeNetwork:
    return FakeNetwork(db.links)


def _apply(fake: FakeNetwork, job: Job) -> None:
    for phase in job.phases:
        for op in phase:
            if isinstance(op, MeterAdd):
                fake.apply_meters([op.meter])
            elif isinstance(op, FlowAdd):
                fake.apply([op.rule])
            elif isinstance(op, FlowDelete):
                fake.remove([op.rule])
            elif isinstance(op, MeterDelete):
                fake.delete_meter(op.dpid, op.meter_id)


def _ip(src: str, dst: str) -> dict[str, Any]:
    return {"eth_type": ETH_TYPE_IPV4, "ipv4_src": src, "ipv4_dst": dst}


def _submit(svc: StitchService, **kw: Any) -> tuple[Any, Job]:
    res, outcome = svc.submit(ReservationRequest(**{"src": "h1", "dst": "h4", **kw}), 1.0)
    assert isinstance(outcome, Job), outcome
    return res, outcome


def test_plan_delivers_both_directions_along_the_path_and_nothing_else() -> None:
    db = _db()
    svc = _service(db)
    fake = _fake(db)
    res, job = _submit(svc, bandwidth_mbps=10)
    _apply(fake, job)
    assert res.plan.path == (1, 2, 4)  # the fast side
    there = fake.trace(1, 1, _ip("10.0.0.1", "10.0.0.4"))
    assert there.exits == [(4, 1)] and [h.dpid for h in there.hops] == [1, 2, 4]
    assert there.meters  # policed at the ingress
    back = fake.trace(4, 1, _ip("10.0.0.4", "10.0.0.1"))
    assert back.exits == [(1, 1)]
    other = fake.trace(1, 1, _ip("10.0.0.1", "10.0.0.2"))
    assert not other.exits  # a pair nobody reserved does not match


def test_install_order_is_transit_first_ingress_last() -> None:
    svc = _service(_db())
    res, job = _submit(svc, bandwidth_mbps=10)
    first, second = job.phases
    ingress = {r.dpid for r in res.plan.ingress}
    assert ingress == {1, 4}
    assert all(isinstance(op, FlowAdd) and op.rule.meter_id is not None for op in second)
    assert any(isinstance(op, MeterAdd) for op in first)
    assert not [op for op in first if isinstance(op, FlowAdd) and op.rule in res.plan.ingress]
    assert job.confirm_phase == 1


def test_lifecycle_books_and_releases_the_meter_rate() -> None:
    db = _db()
    svc = _service(db)
    res, job = _submit(svc, bandwidth_mbps=10)
    lid = LinkId(1, 12, 2, 11)
    assert res.state is State.INSTALLING and svc.ledger.reserved(lid) == pytest.approx(11.2)
    svc.confirmed(res.id, job.version, 2.0)
    assert res.state is State.ACTIVE
    removal = svc.release(res.id, 3.0)
    assert removal is not None and res.state is State.RELEASED
    assert svc.ledger.reserved(lid) == 0
    assert all(isinstance(op, FlowDelete) for op in removal.phases[0])


def test_lifecycle_times_are_the_wall_clock_now_given_in_rfc3339() -> None:
    svc = _service(_db())
    wall = 1_795_000_000.0
    res, outcome = svc.submit(ReservationRequest("h1", "h4", 5.0), wall)
    assert isinstance(outcome, Job)
    assert res.to_dict()["installed_at"] is None
    svc.confirmed(res.id, outcome.version, wall + 2)
    doc = res.to_dict()
    assert (doc["created_at"], doc["updated_at"], doc["installed_at"]) == (
        "2026-11-18T11:06:40.000Z",
        "2026-11-18T11:06:42.000Z",
        "2026-11-18T11:06:42.000Z",
    )


def test_error_rolls_back_and_frees() -> None:
    svc = _service(_db())
    res, job = _submit(svc, bandwidth_mbps=10)
    cleanup = svc.failed(res.id, job.version, "switch said no", 2.0)
    assert res.state is State.FAILED and res.reason == "switch said no"
    assert cleanup and svc.ledger.holding(res.id) is None


def test_refusals_name_the_constraint() -> None:
    svc = _service(_db())
    for kw, constraint in [
        ({"bandwidth_mbps": 1000}, "bandwidth"),
        ({"max_latency_ms": 0.5}, "latency"),
        ({"dst": "nowhere"}, "endpoint"),
    ]:
        _, outcome = svc.submit_or_refuse(ReservationRequest(**{"src": "h1", "dst": "h4", **kw}), 1)
        assert isinstance(outcome, Refusal) and outcome.constraint == constraint, outcome


def test_never_overbooks_when_requests_pile_up() -> None:
    svc = _service(_db(capacity=100.0))
    granted = 0
    for port in range(30):  # distinct UDP services, so the reservations do not overlap
        request = ReservationRequest("h1", "h4", 10, ip_proto=17, dst_port=1000 + port)
        _, outcome = svc.submit_or_refuse(request, 1.0)
        granted += isinstance(outcome, Job)
    # two disjoint paths of 90 Mbit/s usable each, 11.2 booked per reservation: 8 + 8 fit
    assert granted == 16
    assert svc.ledger.violations() == []


def test_link_failure_restitches_onto_the_other_path() -> None:
    db = _db()
    svc = _service(db)
    fake = _fake(db)
    res, job = _submit(svc, bandwidth_mbps=10)
    _apply(fake, job)
    svc.confirmed(res.id, job.version, 2.0)
    db.set_port(2, Port(14, up=False), 3.0)  # cable 2-4 down
    fake.remove_link(LinkId(2, 14, 4, 12))
    fake.remove_link(LinkId(4, 12, 2, 14))
    jobs = svc.on_topology_change(3.0)
    assert len(jobs) == 1 and res.plan.path == (1, 3, 4)
    _apply(fake, jobs[0])
    svc.confirmed(res.id, jobs[0].version, 3.1)
    assert fake.trace(1, 1, _ip("10.0.0.1", "10.0.0.4")).exits == [(4, 1)]
    assert svc.ledger.violations() == []


def test_planned_move_overwrites_ingress_in_place_then_cleans_the_old_path() -> None:
    db = _db(ZoneMap(switch_zones={"s2": "red"}))
    svc = _service(db)
    fake = _fake(db)
    res, job = _submit(svc, bandwidth_mbps=10)
    _apply(fake, job)
    svc.confirmed(res.id, job.version, 2.0)
    assert res.plan.path == (1, 2, 4)
    request = ReservationRequest("h1", "h4", 10, avoid_zones=frozenset({"red"}))
    moved = svc.modify(res.id, request, 3.0)
    assert isinstance(moved, Job) and res.plan.path == (1, 3, 4)
    old_ingress = {op.rule.key for op in job.phases[1]}
    assert {op.rule.key for op in moved.phases[1]} == old_ingress  # atomic switch-over
    cleanup = moved.phases[2]
    assert cleanup and {op.rule.dpid for op in cleanup if isinstance(op, FlowDelete)} >= {2}
    _apply(fake, moved)
    svc.confirmed(res.id, moved.version, 3.1)
    trace = fake.trace(1, 1, _ip("10.0.0.1", "10.0.0.4"))
    assert trace.exits == [(4, 1)] and [h.dpid for h in trace.hops] == [1, 3, 4]
    assert not fake.rules(2)
    assert svc.ledger.violations() == [] and not svc.ledger.in_move(res.id)


def test_endpoint_compute_is_booked_and_refused_when_short() -> None:
    db = _db()
    db.hosts["00:00:00:00:00:01"].cpu = 4
    db.hosts["00:00:00:00:00:04"].cpu = 2
    svc = _service(db)
    res, _ = _submit(svc, cpu=2)
    holding = svc.ledger.holding(res.id)
    assert holding is not None and len([k for k in holding.amounts if "cpu" in str(k)]) == 2
    other_service = ReservationRequest("h1", "h4", cpu=1, ip_proto=6, dst_port=80)
    _, outcome = svc.submit_or_refuse(other_service, 2.0)
    assert isinstance(outcome, Refusal) and outcome.constraint == "host_resources"
    assert "h4" in outcome.reason


def test_overlapping_traffic_is_refused_naming_the_owner() -> None:
    svc = _service(_db())
    res, _ = _submit(svc, bandwidth_mbps=1)
    _, outcome = svc.submit_or_refuse(ReservationRequest("h4", "h1", bidirectional=False), 1.0)
    assert isinstance(outcome, Refusal) and outcome.constraint == "conflict"
    assert f"reservation {res.id}" in outcome.reason
    one_way = ReservationRequest("h1", "h2", 1, bidirectional=False)
    assert isinstance(svc.submit_or_refuse(one_way, 1.0)[1], Job)
    back = ReservationRequest("h2", "h1", 1, bidirectional=False)
    assert isinstance(svc.submit_or_refuse(back, 1.0)[1], Job)  # the other direction is free
    svc.release(res.id, 2.0)
    again = ReservationRequest("h4", "h1", bidirectional=False)
    assert isinstance(svc.submit_or_refuse(again, 2.0)[1], Job)
