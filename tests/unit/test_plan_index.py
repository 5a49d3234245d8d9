"""The audit's per-switch index agrees with walking every plan, whatever the stitcher does.

Random sequences of requests, confirmations, refusals by a switch, releases, moves and cable
failures on the square of ``test_stitch_service``; after each step, for every switch, the
rules, meters and groups the index yields equal those of a walk over every reservation whose
plan the switches should hold (ACTIVE, INSTALLING, or held DEGRADED by the audit).
"""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from test_stitch_service import _db, _service

from topology.model import LinkId, Port
from vnstitch.stitcher.install_jobs import Job
from vnstitch.stitcher.plan_index import PlanIndex, split_by_switch
from vnstitch.stitcher.reservation import ReservationRequest, State
from vnstitch.stitcher.stitch_service import StitchService

HOSTS = ("h1", "h2", "h4")
CABLE_PORTS = {(1, 2): (12, 11), (2, 4): (14, 12), (1, 3): (13, 11), (3, 4): (14, 13)}

step = st.one_of(
    st.tuples(
        st.just("submit"),
        st.sampled_from(HOSTS),
        st.sampled_from(HOSTS),
        st.integers(1, 40),
        st.booleans(),
    ),
    st.tuples(st.just("confirm"), st.integers(0, 20)),
    st.tuples(st.just("fail"), st.integers(0, 20)),
    st.tuples(st.just("release"), st.integers(0, 20)),
    st.tuples(st.just("modify"), st.integers(0, 20), st.integers(1, 40)),
    st.tuples(st.just("degrade"), st.integers(0, 20)),
    st.tuples(st.just("cable"), st.sampled_from(sorted(CABLE_PORTS)), st.booleans()),
)


def _pick(svc: StitchService, i: object) -> int | None:
    ids = sorted(svc.reservations)
    return ids[int(str(i)) % len(ids)] if ids else None


def _walked(svc: StitchService, dpid: int) -> tuple[Counter[object], ...]:
    rules: Counter[object] = Counter()
    meters: Counter[object] = Counter()
    groups: Counter[object] = Counter()
    for res in svc.reservations.values():
        plan = res.plan
        held = res.state in (State.ACTIVE, State.INSTALLING) or svc.held_degraded(res.id)
        if plan is None or not held:
            continue
        rules.update(r for r in plan.all_rules() if r.dpid == dpid)
        meters.update(m for m in plan.meters if m.dpid == dpid)
        groups.update(g for g in plan.groups if g.dpid == dpid)
    return rules, meters, groups


def _indexed(svc: StitchService, dpid: int) -> tuple[Counter[object], ...]:
    return (
        Counter(svc.expected_rules(dpid)),
        Counter(svc.expected_meters(dpid)),
        Counter(svc.expected_groups(dpid)),
    )


@settings(max_examples=80, deadline=None)
@given(st.lists(step, min_size=1, max_size=25))
def test_the_index_yields_what_walking_every_plan_yields(steps: list[tuple[object, ...]]) -> None:
    db = _db()
    svc = _service(db)
    versions: dict[int, int] = {}
    now = 1.0
    for op in steps:
        now += 1.0
        match op:
            case ("submit", src, dst, mbps, protect) if src != dst:
                request = ReservationRequest(str(src), str(dst), float(mbps), protection=protect)
                res, out = svc.submit(request, now)
                if isinstance(out, Job):
                    versions[res.id] = out.version
            case ("confirm", i) if (rid := _pick(svc, i)) is not None:
                svc.confirmed(rid, svc.reservations[rid].version, now)
            case ("fail", i) if (rid := _pick(svc, i)) is not None:
                svc.failed(rid, svc.reservations[rid].version, "refused", now)
            case ("release", i) if (rid := _pick(svc, i)) is not None:
                svc.release(rid, now)
            case ("modify", i, mbps) if (rid := _pick(svc, i)) is not None:
                res = svc.reservations[rid]
                if res.state is State.ACTIVE:
                    request = ReservationRequest(res.request.src, res.request.dst, float(mbps))
                    svc.modify(rid, request, now)
            case ("degrade", i) if (rid := _pick(svc, i)) is not None:
                svc.mark_repairing(rid, "a rule is missing", now)
            case ("cable", (a, b), up):
                pa, pb = CABLE_PORTS[(a, b)]
                db.set_port(a, Port(pa, up=bool(up)), now)
                db.set_port(b, Port(pb, up=bool(up)), now)
                if up:
                    for lid in (LinkId(a, pa, b, pb), LinkId(b, pb, a, pa)):
                        db.link_seen(lid, now, 0.0)
                svc.on_topology_change(now)
        for dpid in (1, 2, 3, 4):
            assert _indexed(svc, dpid) == _walked(svc, dpid), (op, dpid)


def test_a_plan_set_again_leaves_no_entry_behind() -> None:
    db = _db()
    svc = _service(db)
    res, out = svc.submit(ReservationRequest("h1", "h4", 10.0), 1.0)
    assert isinstance(out, Job) and res.plan is not None
    index = PlanIndex()
    index.set(res.id, res.plan)
    shares = split_by_switch(res.plan)
    assert sorted(shares) == sorted(set(res.plan.path))
    assert {d for d in (1, 2, 3, 4) if list(index.on_switch(d))} == set(res.plan.path)
    index.set(res.id, None)
    assert all(not list(index.on_switch(d)) for d in (1, 2, 3, 4))
