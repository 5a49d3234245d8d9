"""Admission of an advance reservation's window against 10,000 bookings on Kdl.

Usage: python -m bench.advance_admission [--data DIR] [--bookings N] [--probes N] [--seed S]
       [--scale X]

The network is ``bench.restitch_scale``'s Kdl (largest component, 10 Gbit/s links, one host per
switch). ``--bookings`` windowed reservations between random host pairs (0.5-5 Mbit/s, the
meter rate 1.12x booked per directed link) are booked in a ``Schedule`` over the real
``StitchService`` and ``Ledger``: windows start uniformly within the next 24 h and last 10 min
to 4 h, so they overlap densely. Paths come from the real path search; booking is done before
any timing. ``--scale`` multiplies every bandwidth: at 1 even all of a link's bookings at
once fit in 9 Gbit/s, so admission needs no sweep (a bound answers); at 3 the busy links
need the sweep over their bookings (all still fit). At 10 the busy links fill up and the
setup's 10,000 checked bookings took over 9 minutes on the shared VM (stopped, not reported).

Then ``--probes`` new requests (other random pairs, windows drawn the same way) are timed, each
two ways in the same run:
- the admission check alone, given the path: the window against every booking of each of its
  links (``Schedule.check``: the sweep) versus the instant ledger's ``check`` of the same
  demands (the yardstick);
- the whole admission: ``Schedule.plan_window`` (path search, then the check over time)
  versus ``StitchService.plan`` + ``Ledger.check`` (what an instant request costs).
Printed: median and p99 of each, the ratios window / instant, and the memory per booking
(tracemalloc growth of the timeline and the booking records over a separate pass).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from bench.restitch_scale import DEFAULT_DATA, build_db, percentile
from topology.database import TopologyDatabase
from vnstitch.resources.ledger import Ledger
from vnstitch.resources.timeline import Window, link_units
from vnstitch.stitcher.reservation import PathPlan, Reservation, ReservationRequest
from vnstitch.stitcher.schedule import Schedule
from vnstitch.stitcher.stitch_service import Refusal, StitchService

NOW = 1_800_000_000.0
DAY_S = 86_400.0
MIN_LEN_S, MAX_LEN_S = 600.0, 4 * 3600.0


SCALE = [1.0]  # --scale


def draw(db: TopologyDatabase, rng: random.Random) -> tuple[ReservationRequest, Window]:
    """A random host pair, 0.5-5 Mbit/s (times --scale), a window in the next day of 10 min
    to 4 h."""
    names = sorted(h.name for h in db.hosts.values())
    src, dst = rng.sample(names, 2)
    start = NOW + rng.uniform(60.0, DAY_S)
    end = start + rng.uniform(MIN_LEN_S, MAX_LEN_S)
    mbps = round(rng.uniform(0.5, 5.0) * SCALE[0], 2)
    request = ReservationRequest(src, dst, mbps, start=start, end=end)
    return request, Window(start, end)


def planned(
    service: StitchService, schedule: Schedule, draws: list[tuple[ReservationRequest, Window]]
) -> list[tuple[ReservationRequest, Window, PathPlan]]:
    """The path of every draw (the real search, on the ledger's free bandwidth)."""
    out = []
    for n, (request, window) in enumerate(draws, 1):
        plan = service.window_plan(Reservation(0, request), schedule.window_free(window, False))
        if not isinstance(plan, Refusal):
            out.append((request, window, plan))
        if n % 2000 == 0:
            print(f"  {n}/{len(draws)} paths found", file=sys.stderr, flush=True)
    return out


def book_all(
    service: StitchService,
    schedule: Schedule,
    plans: list[tuple[ReservationRequest, Window, PathPlan]],
) -> int:
    """Book every plan that fits over time (checked, as admission would); returns how many."""
    booked = 0
    for request, window, plan in plans:
        units = link_units(plan.demands)
        if schedule.check(units, window):
            continue
        res = service.schedule(request, NOW)
        schedule.add(res.id, window, plan.path, plan.latency_ms, units)
        booked += 1
    schedule.sync(NOW)
    return booked


def timed(fn: Callable[[], object]) -> float:
    """Wall time of one call, in seconds."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def setup(data: Path, bookings: int, seed: int) -> tuple[StitchService, Schedule, Ledger[int], int]:
    """Kdl with ``bookings`` windows booked."""
    built = build_db(data, NOW)
    ledger: Ledger[int] = Ledger(link_headroom=0.1)
    service = StitchService(built.db, ledger)
    service.sync_capacities()
    schedule = Schedule(service, ledger, lead_s=3.0)
    rng = random.Random(seed)
    draws = [draw(built.db, rng) for _ in range(bookings)]
    booked = book_all(service, schedule, planned(service, schedule, draws))
    return service, schedule, ledger, booked


def memory_per_booking(data: Path, bookings: int, seed: int) -> float:
    """Bytes per booking: timeline + records, tracemalloc over a separate identical pass."""
    built = build_db(data, NOW)
    ledger: Ledger[int] = Ledger(link_headroom=0.1)
    service = StitchService(built.db, ledger)
    service.sync_capacities()
    schedule = Schedule(service, ledger, lead_s=3.0)
    rng = random.Random(seed)
    plans = planned(service, schedule, [draw(built.db, rng) for _ in range(bookings)])
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    booked = book_all(service, schedule, plans)
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (after - before) / max(1, booked)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data directory")
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--probes", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="bandwidth multiplier")
    parser.add_argument("--skip-memory", action="store_true", help="no tracemalloc pass")
    args = parser.parse_args(argv)
    SCALE[0] = args.scale

    service, schedule, ledger, booked = setup(args.data, args.bookings, args.seed)
    per_link = [schedule.timeline.count(k) for k in schedule.timeline.links()]
    rng = random.Random(args.seed + 1)
    probes = planned(service, schedule, [draw(service.db, rng) for _ in range(args.probes)])
    check_w, check_i, whole_w, whole_i = [], [], [], []
    refused = 0
    for request, window, plan in probes:
        units = link_units(plan.demands)
        refused += bool(schedule.check(units, window))
        check_w.append(timed(lambda: schedule.check(units, window)))  # noqa: B023
        check_i.append(timed(lambda: ledger.check(plan.demands)))  # noqa: B023
        whole_w.append(timed(lambda: schedule.plan_window(request, window)))  # noqa: B023
        now_request = ReservationRequest(request.src, request.dst, request.bandwidth_mbps)

        def instant() -> None:
            found = service.plan(Reservation(0, now_request))  # noqa: B023
            if not isinstance(found, Refusal):
                ledger.check(found.demands)
                service.release_meters(found)

        whole_i.append(timed(instant))
    assert ledger.violations() == []

    def line(name: str, window: list[float], instant: list[float]) -> None:
        mw, mi = statistics.median(window), statistics.median(instant)
        pw, pi = percentile(window, 0.99), percentile(instant, 0.99)
        print(
            f"{name}: window median {mw * 1e6:.1f} us, p99 {pw * 1e6:.1f} us;"
            f" instant median {mi * 1e6:.1f} us, p99 {pi * 1e6:.1f} us;"
            f" ratio median {mw / mi:.1f}x, p99 {pw / pi:.1f}x"
        )

    print(f"Kdl: {len(service.db.switches)} switches, {len(service.db.links)} directed links")
    print(
        f"bookings: {booked} of {args.bookings} drawn fit; on the {len(per_link)} links used:"
        f" median {statistics.median(per_link):.0f}, max {max(per_link)} bookings per link"
    )
    hops = statistics.median(len(p.path) for _, _, p in probes)
    print(f"probes: {len(probes)} (paths of median {hops:.0f} switches), {refused} refused")
    line("admission check alone (given the path)", check_w, check_i)
    line("whole admission (path search + check)", whole_w, whole_i)
    if not args.skip_memory:
        per = memory_per_booking(args.data, args.bookings, args.seed)
        print(
            f"memory per booking: {per / 1024:.2f} KiB"
            " (timeline, booking and reservation records; tracemalloc)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
