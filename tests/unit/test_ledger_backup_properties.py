"""Property tests of the shared backup pool: one cable failure never over-books a link.

For random topologies, capacities and protected or unprotected reservations (submitted,
released, and moved after random cable failures), recomputed from the plans alone: for every
cable ``e`` and every link ``l`` still up,

    primary load on l  +  backup every plan activates on l when e fails  <=  usable(l)

and the pool books exactly ``max over e`` of that backup. The pool is also checked on its own
with random demands: bookings are all-or-nothing, and what it books is the max over failures.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from topology.database import TopologyDatabase
from topology.model import Attachment, Host, LinkId, Port
from vnstitch.resources.admission import InsufficientResources
from vnstitch.resources.backup import BackupPool
from vnstitch.resources.ledger import Ledger
from vnstitch.stitcher.install_jobs import Job
from vnstitch.stitcher.reservation import ReservationRequest, State
from vnstitch.stitcher.stitch_service import StitchService

EPS = 1e-6


@st.composite
def networks(draw: st.DrawFn) -> tuple[int, list[tuple[int, int, float]]]:
    """A connected graph of 3..7 switches (a spanning tree plus extra cables), capacities."""
    n = draw(st.integers(3, 7))
    cables: set[tuple[int, int]] = set()
    for node in range(2, n + 1):
        cables.add((draw(st.integers(1, node - 1)), node))
    pairs = [(a, b) for a in range(1, n + 1) for b in range(a + 1, n + 1)]
    cables |= set(draw(st.lists(st.sampled_from(pairs), max_size=2 * n, unique=True)))
    speeds = st.sampled_from([10.0, 20.0, 40.0, 100.0])
    return n, [(a, b, draw(speeds)) for a, b in sorted(cables)]


def _db(n: int, cables: list[tuple[int, int, float]]) -> TopologyDatabase:
    db = TopologyDatabase()
    for d in range(1, n + 1):
        ports = [Port(1)] + [
            Port(100 + o, speed_mbps=mbps)
            for a, b, mbps in cables
            for o in (a, b)
            if d in (a, b) and o != d
        ]
        db.add_switch(d, ports, 0.0, f"s{d}")
        db.add_inventory_host(
            Host(f"h{d}", f"02:00:00:00:00:{d:02x}", f"10.0.0.{d}", Attachment(d, 1)), 0.0
        )
    for a, b, _ in cables:
        for lid in (LinkId(a, 100 + b, b, 100 + a), LinkId(b, 100 + a, a, 100 + b)):
            db.link_seen(lid, 0.0, 0.0)
            db.set_link_latency(lid, 1.0, 0.0)
    return db


def _confirm(svc: StitchService, jobs: list[Job], now: float) -> None:
    for job in jobs:
        svc.confirmed(job.reservation_id, job.version, now)


def _check(svc: StitchService) -> None:
    """The property, recomputed from the plans, and the pool's booking of it."""
    assert svc.ledger.violations() == []
    links = svc.db.links
    primary: dict[LinkId, float] = {}
    failures: dict[LinkId, dict[LinkId, float]] = {}
    shares: dict[LinkId, int] = {}  # reservations whose backup may use a link (one rounding each)
    for res in svc.live():
        if res.plan is None:
            continue
        for key, mbps in res.plan.demands.items():
            if isinstance(key, LinkId):
                primary[key] = primary.get(key, 0.0) + mbps
        for cable, per_link in res.plan.backup.items():
            row = failures.setdefault(cable, {})
            for link, mbps in per_link.items():
                row[link] = row.get(link, 0.0) + mbps
        for link in {k for per_link in res.plan.backup.values() for k in per_link}:
            shares[link] = shares.get(link, 0) + 1
    for cable, per_link in failures.items():
        for link, mbps in per_link.items():
            if link in links and link not in (cable, cable.reverse()):
                usable = svc.ledger.usable(link)
                assert primary.get(link, 0.0) + mbps <= usable + EPS, (cable, link)
    pool = svc.backups.pool.pool()
    for link in {k for row in failures.values() for k in row} | set(pool):
        worst = max((row.get(link, 0.0) for row in failures.values()), default=0.0)
        # each reservation's share is booked in thousandths rounded up: never below the worst
        # failure, and above it by at most one thousandth per reservation sharing the link
        slack = 0.001 * shares.get(link, 0) + EPS
        assert worst - EPS <= pool.get(link, 0.0) <= worst + slack, link


requests = st.lists(
    st.tuples(
        st.integers(1, 7),
        st.integers(1, 7),
        st.floats(0.5, 12.0),
        st.booleans(),
        st.booleans(),
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=networks(), asks=requests, data=st.data())
def test_one_cable_failure_never_overbooks_a_link(
    net: tuple[int, list[tuple[int, int, float]]], asks: list[Any], data: st.DataObject
) -> None:
    n, cables = net
    db = _db(n, cables)
    svc = StitchService(db, Ledger(link_headroom=0.1))
    svc.sync_capacities()
    now = 1.0
    for i, (a, b, mbps, protect, both) in enumerate(asks):
        src, dst = (a - 1) % n + 1, (b - 1) % n + 1
        if src == dst:
            continue
        request = ReservationRequest(
            f"h{src}", f"h{dst}", round(mbps, 2), bidirectional=both, protection=protect,
            ip_proto=17, dst_port=1000 + i,
        )  # fmt: skip
        res, outcome = svc.submit_or_refuse(request, now)
        if isinstance(outcome, Job):
            assert res is not None and res.plan is not None
            assert res.plan.protected or not protect
            _confirm(svc, [outcome], now)
        _check(svc)
        live = [r for r in svc.live() if r.state is State.ACTIVE]
        if live and data.draw(st.integers(0, 4)) == 0:
            gone = data.draw(st.sampled_from(live))
            svc.release(gone.id, now)
            _check(svc)
    present = sorted({min(k, k.reverse()) for k in db.links})
    if present:
        cut = data.draw(st.sampled_from(present))
        now += 1.0
        db.set_port(cut.src, Port(cut.src_port, up=False), now)
        _confirm(svc, svc.on_topology_change(now), now)
        _check(svc)
        assert not [r for r in svc.live() if r.plan is not None and r.state is State.ACTIVE and
                    any(k not in db.links for k in r.plan.demands if isinstance(k, LinkId))
                    and not svc.backups.failed_over(r.plan)]  # fmt: skip


demands = st.dictionaries(
    st.integers(0, 5),  # failed cable
    st.dictionaries(st.integers(0, 5), st.floats(0.0, 30.0), max_size=4),  # link -> Mbit/s
    max_size=3,
)


def _lid(i: int) -> LinkId:
    return LinkId(1, i + 1, 2, i + 1)


@settings(max_examples=200, deadline=None)
@given(
    capacity=st.lists(st.sampled_from([10.0, 25.0, 50.0]), min_size=6, max_size=6),
    steps=st.lists(st.tuples(st.integers(1, 4), demands, st.booleans()), max_size=12),
)
def test_the_pool_books_the_worst_failure_all_or_nothing(
    capacity: list[float], steps: list[tuple[int, dict[int, dict[int, float]], bool]]
) -> None:
    ledger: Ledger[int] = Ledger(link_headroom=0.0)
    for i, mbps in enumerate(capacity):
        ledger.set_capacity(_lid(i), mbps)
    pool: BackupPool[int] = BackupPool(ledger, -1)
    held: dict[int, dict[LinkId, dict[LinkId, float]]] = {}
    for owner, raw, release in steps:
        if release:
            pool.release(owner)
            held.pop(owner, None)
        else:
            demand = {_lid(c): {_lid(k): v for k, v in row.items()} for c, row in raw.items()}
            before = (ledger.holding(-1), pool.failures())
            try:
                pool.book(owner, demand)
                held[owner] = demand
            except InsufficientResources:
                assert (ledger.holding(-1), pool.failures()) == before  # nothing changed
        assert ledger.violations() == []
        worst: dict[LinkId, float] = {}
        for cable in {c for d in held.values() for c in d}:
            for link in {k for d in held.values() for k in d.get(cable, {})}:
                total = sum(d.get(cable, {}).get(link, 0.0) for d in held.values())
                worst[link] = max(worst.get(link, 0.0), total)
        for link in set(worst) | set(pool.pool()):
            assert abs(pool.amount(link) - worst.get(link, 0.0)) <= 0.001 * len(held) + 1e-9
            assert pool.amount(link) <= ledger.usable(link) + 1e-9


def test_a_move_holds_the_larger_of_old_and_new_until_committed() -> None:
    ledger: Ledger[int] = Ledger(link_headroom=0.0)
    a, b, c = _lid(0), _lid(1), _lid(2)
    for link in (a, b, c):
        ledger.set_capacity(link, 10.0)
    pool: BackupPool[int] = BackupPool(ledger, -1)
    pool.book(1, {a: {b: 4.0}})
    pool.book(2, {c: {b: 5.0}})  # another failure: shared on b
    assert pool.amount(b) == 5.0
    pool.begin_move(1, {a: {b: 6.0, c: 1.0}})
    assert (pool.amount(b), pool.amount(c)) == (6.0, 1.0)
    pool.abort_move(1)
    assert (pool.amount(b), pool.amount(c)) == (5.0, 0.0)
    pool.begin_move(1, {c: {b: 2.0}})  # now the same failure as owner 2: they add up
    assert pool.amount(b) == 7.0
    pool.commit_move(1)
    assert pool.amount(b) == 7.0 and pool.load(a, b) == 0.0
    assert ledger.violations() == []
