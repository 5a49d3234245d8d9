"""Property test: windows, requests for now and time passing never over-book any instant.

A line of three switches (100 Mbit/s links, 90 bookable) with the real ``StitchService``,
``Ledger`` and ``Schedule``. Random steps book windows, reserve for now (open-ended), release,
and let time pass (windows installed at their lead time and confirmed, removed at their end).
After every step: the instant ledger is sound, and for every link and every instant from now
on, what open-ended holders hold plus the windows booked then stays within usable capacity;
and a window admitted is never refused when its install time comes (the topology is fixed).
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from topology.database import TopologyDatabase
from topology.model import Attachment, Host, LinkId, Port
from vnstitch.resources.keys import to_units
from vnstitch.resources.ledger import Ledger
from vnstitch.stitcher.reservation import ReservationRequest, State
from vnstitch.stitcher.schedule import Schedule
from vnstitch.stitcher.stitch_service import Refusal, StitchService

T0 = 1_800_000_000.0
LEAD_S = 3.0


def _line() -> tuple[TopologyDatabase, list[LinkId]]:
    db = TopologyDatabase(default_capacity_mbps=100.0)
    for dpid in (1, 2, 3):
        db.add_switch(dpid, [Port(1), Port(2), Port(3)], T0, name=f"s{dpid}")
    links = []
    for a, b in ((1, 2), (2, 3)):
        fwd = LinkId(a, 2, b, 3)
        for lid in (fwd, fwd.reverse()):
            db.link_seen(lid, T0, T0)
            db.set_link_latency(lid, 1.0, T0)
            links.append(lid)
    db.add_inventory_host(Host("h1", "00:00:00:00:00:01", "10.0.0.1", Attachment(1, 1)), T0)
    db.add_inventory_host(Host("h3", "00:00:00:00:00:03", "10.0.0.3", Attachment(3, 1)), T0)
    return db, links


steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("window"),
            st.integers(0, 60),
            st.one_of(st.integers(1, 40), st.just(None)),
            st.integers(1, 60),
        ),
        st.tuples(st.just("now"), st.integers(1, 60)),
        st.tuples(st.just("release"), st.integers(0, 30)),
        st.tuples(st.just("wait"), st.integers(1, 20)),
    ),
    max_size=30,
)


@settings(max_examples=120, deadline=None)
@given(steps=steps)
def test_no_instant_from_now_on_is_over_booked(steps: list[tuple[object, ...]]) -> None:
    db, links = _line()
    ledger: Ledger[int] = Ledger(link_headroom=0.1)
    service = StitchService(db, ledger)
    service.sync_capacities()
    schedule = Schedule(service, ledger, LEAD_S)
    now = T0
    for port, step in enumerate(steps, 1):
        match step:
            case ("window", int(start), length, int(mbps)):
                end = None if length is None else now + start + float(length)  # type: ignore[operator]
                request = ReservationRequest(
                    "h1", "h3", mbps, ip_proto=17, dst_port=port, start=now + start, end=end
                )
                schedule.book(request, now)
            case ("now", int(mbps)):
                request = ReservationRequest("h1", "h3", mbps, ip_proto=17, dst_port=port)
                res, job = service.submit_or_refuse(request, now)
                if res is not None and not isinstance(job, Refusal):
                    service.confirmed(res.id, job.version, now)
            case ("release", int(pick)):
                live = sorted(r.id for r in service.live())
                if live:
                    victim = live[pick % len(live)]
                    service.release(victim, now)  # the ledger first, as the core does
                    if victim in schedule.booked:
                        schedule.forget(victim, now)
            case ("wait", int(seconds)):
                now += seconds
                for res in schedule.due_ends(now):
                    service.release(res.id, now)
                    schedule.forget(res.id, now)
                for res in schedule.due_installs(now):
                    job = schedule.install(res, now)
                    assert not isinstance(job, Refusal), job  # its window was admitted
                    service.confirmed(res.id, job.version, now)
        assert ledger.violations() == []
        _assert_sound(ledger, schedule, links, now)
    for res in service.live():
        assert res.state in (State.SCHEDULED, State.ACTIVE, State.PENDING), res


def _assert_sound(ledger: Ledger[int], schedule: Schedule, links: list[LinkId], now: float) -> None:
    """open(L) + S(t) <= usable(L) for every link L and instant t >= now."""
    windows = {
        owner: booking
        for owner in schedule.timeline.owners()
        if (booking := schedule.timeline.booking(owner)) is not None
    }
    instants = {now} | {b.window.start for b in windows.values() if b.window.start > now}
    for link in links:
        open_units = sum(
            to_units(held.amounts.get(link, 0.0), round_up=True)
            for owner in ledger.owners()
            if owner > 0
            and owner not in schedule.booked
            and (held := ledger.holding(owner)) is not None
        )
        usable = to_units(ledger.usable(link), round_up=False)
        for t in instants:
            booked = sum(
                b.units.get(link, 0)
                for b in windows.values()
                if b.window.start <= t < b.window.end and not math.isnan(t)
            )
            assert open_units + booked <= usable, (link, t - now, open_units, booked, usable)
