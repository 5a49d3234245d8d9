"""Link protection on small graphs: detours, groups and rules, checked on the fake flow table.

Every cable of a protected path is pulled in turn (both directions, ports down): the packet of
each direction must still leave at the receiver's port, through the fast-failover group's
backup bucket, with no loop, drop or table miss; with every cable up it takes the path.
"""

from __future__ import annotations

import itertools
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from topology.database import TopologyDatabase
from topology.model import Attachment, Host, LinkId, Port
from topology.zones import ZoneMap
from vnstitch.resources.ledger import Ledger
from vnstitch.rules.fake_table import FakeNetwork, UnknownGroup
from vnstitch.rules.model import (
    ETH_TYPE_IPV4,
    PORT_IN_PORT,
    Bucket,
    FlowRule,
    Group,
    GroupKind,
    GroupSpec,
    Match,
    Output,
)
from vnstitch.stitcher.install_jobs import (
    FlowAdd,
    FlowDelete,
    GroupAdd,
    GroupDelete,
    Job,
    MeterAdd,
    MeterDelete,
)
from vnstitch.stitcher.protection import cable_of
from vnstitch.stitcher.reservation import PathPlan, ReservationRequest
from vnstitch.stitcher.stitch_service import Refusal, StitchService

H1 = ("h1", "00:00:00:00:00:01", "10.0.0.1")
H2 = ("h2", "00:00:00:00:00:02", "10.0.0.2")


def _db(
    cables: list[tuple[int, int]],
    src: int,
    dst: int,
    capacity: float = 100.0,
    zones: ZoneMap | None = None,
) -> Any:
    """Switches with port 1 for hosts and port 100 + b towards b; h1 on src, h2 on dst."""
    db = TopologyDatabase(zones or ZoneMap(), default_capacity_mbps=capacity)
    nodes = sorted({n for c in cables for n in c})
    for d in nodes:
        ports = [Port(1)] + [
            Port(100 + o) for a, b in cables for o in (a, b) if d in (a, b) and o != d
        ]
        db.add_switch(d, ports, 0.0, f"s{d}")
    for a, b in cables:
        for lid in (LinkId(a, 100 + b, b, 100 + a), LinkId(b, 100 + a, a, 100 + b)):
            db.link_seen(lid, 0.0, 0.0)
            db.set_link_latency(lid, 1.0, 0.0)
    for (name, mac, ip), dpid in ((H1, src), (H2, dst)):
        db.add_inventory_host(Host(name, mac, ip, Attachment(dpid, 1)), 0.0)
    return db


def _service(db: TopologyDatabase) -> StitchService:
    svc = StitchService(db, Ledger(link_headroom=0.1))
    svc.sync_capacities()
    return svc


def _apply(fake: FakeNetwork, job: Job) -> None:
    for phase in job.phases:
        for op in phase:
            match op:
                case MeterAdd(meter):
                    fake.apply_meters([meter])
                case GroupAdd(group):
                    fake.apply_groups([group])
                case FlowAdd(rule):
                    fake.apply([rule])
                case FlowDelete(rule):
                    fake.remove([rule])
                case MeterDelete(dpid, meter_id):
                    fake.delete_meter(dpid, meter_id)
                case GroupDelete(dpid, group_id):
                    fake.delete_group(dpid, group_id)


def _ip(src: str, dst: str) -> dict[str, Any]:
    return {"eth_type": ETH_TYPE_IPV4, "ipv4_src": src, "ipv4_dst": dst}


def _protected(svc: StitchService, **kw: Any) -> tuple[PathPlan, Job]:
    request = ReservationRequest("h1", "h2", **{"bandwidth_mbps": 10, "protection": True, **kw})
    res, outcome = svc.submit(request, 1.0)
    assert isinstance(outcome, Job), outcome
    assert res.plan is not None
    return res.plan, outcome


def _cut(fake: FakeNetwork, link: LinkId) -> list[LinkId]:
    both = [link, link.reverse()]
    for lid in both:
        fake.remove_link(lid)
    return both


def _delivers_every_failure(db: TopologyDatabase, plan: PathPlan, job: Job) -> None:
    fake = FakeNetwork(db.links)
    _apply(fake, job)
    src, dst = (db.hosts[h[1]].attachment for h in (H1, H2))
    assert src is not None and dst is not None
    ways = [((src.dpid, 1), "10.0.0.1", "10.0.0.2", (dst.dpid, 1))]
    if plan.reverse_path:
        ways.append(((dst.dpid, 1), "10.0.0.2", "10.0.0.1", (src.dpid, 1)))
    for (sw, port), a, b, exit_at in ways:
        clean = fake.trace(sw, port, _ip(a, b))
        assert clean.delivered_only_to == exit_at and not clean.loops
    for u, v in itertools.pairwise(plan.path):
        link = next(k for k in db.links if (k.src, k.dst) == (u, v))
        gone = _cut(fake, link)
        for (sw, port), a, b, exit_at in ways:
            result = fake.trace(sw, port, _ip(a, b))
            assert result.delivered_only_to == exit_at, (link, a, result)
            assert not ({(u, v), (v, u)} & set(itertools.pairwise(result.switches)))
        for lid in gone:
            fake.add_link(lid)


def test_square_plan_has_a_group_per_hop_and_survives_each_cut() -> None:
    db = _db([(1, 2), (2, 4), (1, 3), (3, 4)], 1, 4)
    plan, job = _protected(_service(db))
    assert plan.path == (1, 2, 4) or plan.path == (1, 3, 4)
    assert {(g.dpid, g.kind) for g in plan.groups} == {
        (d, GroupKind.FAST_FAILOVER) for d in (*plan.path[:-1], *plan.reverse_path[:-1])
    }
    assert len(plan.groups) == 4 and len(plan.detours) == 4
    assert all(isinstance(r.actions[0], Group) for r in plan.ingress)
    assert job.phases[0][: len(plan.meters)] == [MeterAdd(m) for m in plan.meters]
    groups = [op for op in job.phases[0] if isinstance(op, GroupAdd)]
    first_flow = next(i for i, op in enumerate(job.phases[0]) if isinstance(op, FlowAdd))
    assert len(groups) == 4 and all(job.phases[0].index(g) < first_flow for g in groups)
    _delivers_every_failure(db, plan, job)


def test_a_detour_that_turns_back_outputs_to_in_port() -> None:
    """On a ring the detour around every link but the first turns back the way it came."""
    ring = [(1, 2), (2, 3), (3, 4), (4, 5), (5, 1)]
    db = _db(ring, 1, 3)
    plan, job = _protected(_service(db))
    assert plan.path == (1, 2, 3)
    back = next(g for g in plan.groups if g.dpid == 2 and g.buckets[0].watch_port == 103)
    assert back.buckets[1] == Bucket((Output(PORT_IN_PORT),), watch_port=101)
    _delivers_every_failure(db, plan, job)


def test_each_detour_shows_the_latency_of_its_failover_against_the_bound() -> None:
    """Ring of five, 1 ms a link, path 1-2-3 under a 4 ms bound: with 1-2 down the traffic
    goes 1-5-4-3 (3 ms); with 2-3 down it turns back at 2: 1-2-1-5-4-3 (5 ms, beyond)."""
    db = _db([(1, 2), (2, 3), (3, 4), (4, 5), (5, 1)], 1, 3)
    svc = _service(db)
    request = ReservationRequest("h1", "h2", 10, max_latency_ms=4.0, protection=True)
    res, job = svc.submit(request, 1.0)
    assert isinstance(job, Job) and res.plan is not None and res.plan.path == (1, 2, 3)
    backup = {(b["direction"], b["around"][0][-1]): b for b in res.to_dict()["backup"]}
    assert (backup["forward", "1"]["latency_ms"], backup["forward", "1"]["within_bound"]) == (
        3.0,
        True,
    )
    assert (backup["forward", "2"]["latency_ms"], backup["forward", "2"]["within_bound"]) == (
        5.0,
        False,
    )
    svc.confirmed(res.id, job.version, 2.0)
    assert res.protected and res.reason is not None
    assert res.reason.startswith("protected, but a failover would exceed the latency bound")
    assert "5.00 ms > 4 ms" in res.reason and "0000000000000002-0000000000000003" in res.reason
    unbounded, job2 = svc.submit(
        ReservationRequest("h2", "h1", 1, ip_proto=6, protection=True), 3.0
    )
    assert isinstance(job2, Job)
    svc.confirmed(unbounded.id, job2.version, 4.0)
    assert unbounded.reason is None
    assert all(b["within_bound"] is None for b in unbounded.to_dict()["backup"])


def test_backup_per_cable_names_the_detour_links_in_both_directions() -> None:
    db = _db([(1, 2), (2, 4), (1, 3), (3, 4)], 1, 4)
    plan, _ = _protected(_service(db))
    primary = [k for k in plan.demands if isinstance(k, LinkId)]
    assert set(plan.backup) == {cable_of(k) for k in primary}
    for cable, links in plan.backup.items():
        assert all(cable_of(k) != cable for k in links)  # a detour never uses its own cable
        assert all(mbps == pytest.approx(11.2) for mbps in links.values())


def test_a_bridge_refuses_protection_naming_the_link_and_books_nothing() -> None:
    db = _db([(1, 2), (2, 3), (3, 1), (3, 4)], 1, 4)  # 3-4 is a bridge
    svc = _service(db)
    request = ReservationRequest("h1", "h2", 10, protection=True)
    res, outcome = svc.submit_or_refuse(request, 1.0)
    assert res is None and isinstance(outcome, Refusal) and outcome.constraint == "protection"
    assert outcome.reason.startswith(
        "no backup around link 0000000000000003:104 -> 0000000000000004:103: no other way"
    )
    assert svc.ledger.owners() <= {-1} and svc.backups.pool.pool() == {}
    unprotected = svc.submit_or_refuse(ReservationRequest("h1", "h2", 10), 1.0)[1]
    assert isinstance(unprotected, Job)


def test_backups_of_reservations_on_different_cables_share_the_pool() -> None:
    """Two protected reservations on a square of 20 Mbit/s links (18 bookable), 7.84 each:
    each one's backup crosses the other's primary side, for a different failure, so the pool
    books 7.84 there once (dedicated backup would need 7.84 + 7.84 + 7.84 > 18)."""
    db = _db([(1, 2), (2, 4), (1, 3), (3, 4)], 1, 4, capacity=20.0)
    svc = _service(db)
    first, _ = _protected(svc, bandwidth_mbps=7.0)
    second, _ = _protected(svc, bandwidth_mbps=7.0, ip_proto=17)
    assert set(first.path) ^ set(second.path) == {2, 3}  # opposite sides
    pool = svc.backups.pool.pool()
    assert pool and all(mbps == pytest.approx(7.84) for mbps in pool.values())
    assert svc.ledger.violations() == []


def test_backup_bandwidth_is_a_constraint_naming_the_link() -> None:
    """An unprotected 11.2 on one side leaves 6.8 there: a protected 8.96 on the other side
    has no room for its backup, and the side with room has none for its primary."""
    db = _db([(1, 2), (2, 4), (1, 3), (3, 4)], 1, 4, capacity=20.0)
    svc = _service(db)
    assert isinstance(svc.submit(ReservationRequest("h1", "h2", 10.0), 1.0)[1], Job)
    second = ReservationRequest("h1", "h2", 8.0, protection=True, ip_proto=17)
    _, outcome = svc.submit_or_refuse(second, 1.0)
    assert isinstance(outcome, Refusal) and outcome.constraint == "protection", outcome
    assert outcome.reason.startswith("no backup around link 000000000000000")
    assert "not enough free bandwidth for a backup of 8.96 Mbit/s" in outcome.reason
    assert svc.ledger.violations() == [] and svc.backups.pool.pool() == {}
    plain = ReservationRequest("h1", "h2", 8.0, ip_proto=17)
    assert isinstance(svc.submit_or_refuse(plain, 1.0)[1], Job)


def test_zones_bind_the_detours_too() -> None:
    db = _db([(1, 2), (2, 4), (1, 3), (3, 4)], 1, 4, zones=ZoneMap(switch_zones={"s3": "red"}))
    svc = _service(db)
    request = ReservationRequest("h1", "h2", 1, protection=True, avoid_zones=frozenset({"red"}))
    _, outcome = svc.submit_or_refuse(request, 1.0)
    assert isinstance(outcome, Refusal) and outcome.constraint == "protection"


def test_fake_table_fast_failover_takes_the_first_live_bucket() -> None:
    links = [LinkId(1, 2, 2, 1), LinkId(1, 3, 3, 1)]
    fake = FakeNetwork(links)
    group = GroupSpec(
        1,
        7,
        GroupKind.FAST_FAILOVER,
        (Bucket((Output(2),), watch_port=2), Bucket((Output(3),), watch_port=3)),
    )
    rule = FlowRule(1, 100, Match(in_port=9), (Group(7),))
    with pytest.raises(UnknownGroup):
        fake.apply([rule])
    fake.apply_groups([group])
    fake.apply([rule])
    fake.apply([FlowRule(2, 100, Match(in_port=1), (Output(5),))])
    fake.apply([FlowRule(3, 100, Match(in_port=1), (Output(6),))])
    assert fake.trace(1, 9, {}).exits == [(2, 5)]
    fake.remove_link(links[0])  # the port goes down with its link
    assert fake.trace(1, 9, {}).exits == [(3, 6)]
    fake.set_port(1, 3, up=False)
    dead = fake.trace(1, 9, {})
    assert dead.drops == [(1, 9)] and not dead.exits
    assert fake.delete_group(1, 7) == [rule] and not fake.rules(1)


@st.composite
def _two_connected(draw: st.DrawFn) -> tuple[list[tuple[int, int]], int, int]:
    """A ring of 4..8 switches with a few chords: every link has a way around it."""
    n = draw(st.integers(4, 8))
    cables = {(i, i % n + 1) for i in range(1, n + 1)}
    pairs = [(a, b) for a in range(1, n + 1) for b in range(a + 2, n + 1) if (a, b) != (1, n)]
    chords = draw(st.lists(st.sampled_from(pairs), max_size=4, unique=True)) if pairs else []
    cables |= set(chords)
    src = draw(st.integers(1, n))
    dst = draw(st.integers(1, n).filter(lambda d: d != src))
    return sorted(cables), src, dst


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_two_connected(), bidirectional=st.booleans())
def test_every_single_cut_is_survived_on_two_connected_graphs(
    case: tuple[list[tuple[int, int]], int, int], bidirectional: bool
) -> None:
    cables, src, dst = case
    assert nx.is_biconnected(nx.Graph(cables))
    db = _db(cables, src, dst)
    plan, job = _protected(_service(db), bidirectional=bidirectional)
    assert plan.protected
    _delivers_every_failure(db, plan, job)


def test_a_change_turns_protection_off_and_on_make_before_break() -> None:
    db = _db([(1, 2), (2, 4), (1, 3), (3, 4)], 1, 4)
    svc = _service(db)
    fake = FakeNetwork(db.links)
    request = ReservationRequest("h1", "h2", 10, protection=True)
    res, job = svc.submit(request, 1.0)
    assert isinstance(job, Job) and res.plan is not None
    _apply(fake, job)
    svc.confirmed(res.id, job.version, 1.0)
    assert res.protected and fake.groups
    off = svc.modify(res.id, ReservationRequest("h1", "h2", 10), 2.0)
    assert isinstance(off, Job)
    assert [type(op) for op in off.phases[-1]] == [GroupDelete] * 4  # groups go last
    _apply(fake, off)
    svc.confirmed(res.id, off.version, 2.0)
    assert not res.protected and not fake.groups and svc.backups.pool.pool() == {}
    assert fake.trace(1, 1, _ip("10.0.0.1", "10.0.0.2")).delivered_only_to == (4, 1)
    on = svc.modify(res.id, request, 3.0)
    assert isinstance(on, Job)
    _apply(fake, on)
    svc.confirmed(res.id, on.version, 3.0)
    assert res.protected and len(fake.groups) == 4 and svc.backups.pool.pool()
    assert svc.ledger.violations() == [] and not svc.backups.pool.in_move(res.id)
