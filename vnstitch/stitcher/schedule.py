"""Advance reservations: bookings for a window, the path chosen at booking, the ledger over time.

How the two ledgers agree. The instant :class:`~vnstitch.resources.ledger.Ledger` holds what is
booked *now*; every holder there (requested, intent, predicted, configured) is open-ended: it
may last for ever. The :class:`~vnstitch.resources.timeline.Timeline` holds the windowed
bookings. So at an instant ``t`` a link carries ``open + S(t)``, where ``S(t)`` is the sum of
windows covering ``t``. Admission of a window checks ``open + S(t) + asked <= usable`` for every
``t`` of the window. So that open-ended admission (a REST reservation now, an intent, a
forecast) never takes what a later window was promised, one ledger owner, ``AHEAD_OWNER``,
holds per link ``max(S(t) for t >= now)`` less what installed windows hold themselves: the
instant ledger then books ``open + max S``, and its all-or-nothing admission keeps every
future instant sound. A window holds its links from its install time (``start - lead``) to
``end``; installed, it holds its plan's amounts in the instant ledger under its own id.

Nothing here reads a clock; ``now`` is always a parameter.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

from topology.model import LinkId
from vnstitch.resources.keys import ResourceKey, from_units, to_units
from vnstitch.resources.ledger import Ledger
from vnstitch.resources.timeline import LinkUnits, Overbooking, Timeline, Window, link_units
from vnstitch.stitcher.install_jobs import Job
from vnstitch.stitcher.paths import FreeMbps
from vnstitch.stitcher.reservation import (
    PathPlan,
    Reservation,
    ReservationRequest,
    State,
)
from vnstitch.stitcher.stitch_service import Refusal, StitchService

LOG = logging.getLogger(__name__)

AHEAD_OWNER = -2  # the ledger owner holding future windows' peak (-1 is the backup pool)
MAX_CANDIDATES = 200  # start times an availability search tries at most
INSTALL_WAIT = "waiting to install"  # the reason of a due window whose install was refused


@dataclass
class Booked:
    """A windowed reservation's booking: its window, the path chosen at booking, its units."""

    res_id: int
    window: Window  # what it holds: [start - lead, end)
    path: tuple[int, ...]
    latency_ms: float | None


@dataclass(frozen=True)
class Availability:
    """The earliest window that fits, and the path it would take."""

    start: float
    end: float
    plan: PathPlan


class Schedule:
    """Windowed reservations, their timeline, and the instant ledger's view of the future."""

    def __init__(self, stitcher: StitchService, ledger: Ledger[int], lead_s: float) -> None:
        self.stitcher = stitcher
        self.ledger = ledger
        self.lead_s = lead_s
        self.timeline: Timeline[int] = Timeline()
        self.booked: dict[int, Booked] = {}
        self.held: set[int] = set()  # installed (or installing): hold in the instant ledger
        self._ahead: dict[ResourceKey, float] = {}
        self._short: set[LinkId] = set()  # where AHEAD_OWNER holds less than it should
        self._ahead_edges: tuple[object, dict[tuple[int, int], float]] | None = None

    # ---- windows --------------------------------------------------------------------------
    def window_of(self, request: ReservationRequest, now: float) -> Window | Refusal:
        """What a request holds: ``[max(start - lead, now), end)``; a refusal if it is over."""
        end = math.inf if request.end is None else request.end
        if request.start is not None and end <= request.start:
            return Refusal("window", "the window must end after it starts")
        if end <= now:
            return Refusal("window", "the window has already ended")
        start = now if request.start is None else max(now, request.start - self.lead_s)
        return Window(start, end)

    def install_at(self, res_id: int) -> float:
        """When a booked reservation is installed (its holding begins)."""
        return self.booked[res_id].window.start

    # ---- admission --------------------------------------------------------------------------
    def base_units(self, link: LinkId) -> int:
        """What open-ended holders hold on ``link`` (the instant ledger less windows' parts)."""
        ledger = self.ledger
        total = ledger.reserved(link) - self._ahead.get(link, 0.0)
        for res_id in self.held:
            held = ledger.holding(res_id)
            if held is not None:
                total -= held.amounts.get(link, 0.0)
        return max(0, to_units(max(0.0, total), round_up=True))

    def usable_units(self, link: LinkId) -> int:
        """What admission may book on ``link``."""
        return to_units(self.ledger.usable(link), round_up=False)

    def check(
        self, units: LinkUnits, window: Window, owner: int | None = None
    ) -> list[Overbooking]:
        """The links ``units`` would over-book at some instant of ``window`` (empty: fits)."""
        return self.timeline.check(units, window, self.base_units, self.usable_units, owner)

    def window_free(self, window: Window, bookings: bool = True) -> FreeMbps:
        """Free Mbit/s per edge over ``window`` for path search (``bookings=False``: ignore
        the timeline, only open-ended holders count).

        What open-ended holders leave is the instant ledger's free bandwidth (kept per edge by
        the stitcher) plus what ``AHEAD_OWNER`` and installed windows hold there. The search
        asks for every arc it relaxes, so all of it is looked up by edge (a pair of ints),
        ``AHEAD_OWNER``'s part kept per edge between changes, each link's peak read once.
        """
        free_now, edge_link = self.stitcher.edge_free()
        ahead = self._ahead_by_edge(edge_link)
        held: dict[tuple[int, int], float] = {}
        for res_id in self.held:
            holding = self.ledger.holding(res_id)
            for key, amount in holding.amounts.items() if holding is not None else ():
                if isinstance(key, LinkId) and edge_link.get((key.src, key.dst)) == key:
                    held[key.src, key.dst] = held.get((key.src, key.dst), 0.0) + amount
        timeline = self.timeline
        peaks: dict[tuple[int, int], float] = {}

        def free(u: int, v: int) -> float:
            left = free_now[u, v] + ahead.get((u, v), 0.0)
            if held:
                left += held.get((u, v), 0.0)
            if bookings:
                peak = peaks.get((u, v))
                if peak is None:
                    peak = peaks[u, v] = from_units(timeline.peak(edge_link[u, v], window).units)
                left -= peak
            return max(0.0, left)

        return free

    def _ahead_by_edge(
        self, edge_link: dict[tuple[int, int], LinkId]
    ) -> dict[tuple[int, int], float]:
        """What ``AHEAD_OWNER`` holds, per graph edge; rebuilt when it changed (:meth:`sync`) or
        the stitcher rebuilt its edge map (the graph changed)."""
        cached = self._ahead_edges
        if cached is not None and cached[0] is edge_link:
            return cached[1]
        by_edge = {
            (key.src, key.dst): amount
            for key, amount in self._ahead.items()
            if isinstance(key, LinkId) and edge_link.get((key.src, key.dst)) == key
        }
        self._ahead_edges = (edge_link, by_edge)
        return by_edge

    def plan_window(self, request: ReservationRequest, window: Window) -> PathPlan | Refusal:
        """The path a window would take, checked at every instant of it; or why not.

        The path search first sees only open-ended holders; if the path it finds is full at
        some instant, it searches again with every link's least free room in the window; a
        refusal then names the link and interval of the first path.
        """
        probe = Reservation(0, request)
        plan = self.stitcher.window_plan(probe, self.window_free(window, bookings=False))
        if isinstance(plan, Refusal):
            return plan
        full = self.check(link_units(plan.demands), window)
        if not full:
            return plan
        retry = self.stitcher.window_plan(probe, self.window_free(window))
        if not isinstance(retry, Refusal) and not self.check(link_units(retry.demands), window):
            return retry
        named = "; ".join(o.describe() for o in full)
        return Refusal("bandwidth", f"does not fit its window: {named}")

    def book(self, request: ReservationRequest, now: float) -> Reservation | Refusal:
        """Admit a windowed request: SCHEDULED with its path, or a refusal (nothing changed)."""
        window = self.window_of(request, now)
        if isinstance(window, Refusal):
            return window
        plan = self.plan_window(request, window)
        if isinstance(plan, Refusal):
            return plan
        res = self.stitcher.schedule(request, now)
        res.install_at = window.start
        units = link_units(plan.demands)
        self.add(res.id, window, plan.path, plan.latency_ms, units)
        self.sync(now, units)
        return res

    def add(
        self,
        res_id: int,
        window: Window,
        path: tuple[int, ...],
        latency_ms: float | None,
        units: LinkUnits,
    ) -> None:
        """Record a booking (admitted now, or read back from the store)."""
        self.booked[res_id] = Booked(res_id, window, path, latency_ms)
        self.timeline.book(res_id, window, units)
        res = self.stitcher.reservations.get(res_id)
        if res is not None:
            res.install_at = window.start

    def earliest(
        self, request: ReservationRequest, duration_s: float, after: float, before: float
    ) -> Availability | Refusal:
        """The earliest start in ``[after, before - duration]`` whose window fits, and its path.

        Room only opens where a booking ends, so the candidates are ``after`` and the ends of
        bookings plus the lead time (a window holds from ``start - lead``), at most
        ``MAX_CANDIDATES`` of them.
        """
        last = before - duration_s
        if last < after:
            return Refusal("window", "the search range is shorter than the duration")
        lead = self.lead_s
        ends = self.timeline.breakpoints(self.timeline.links(), after - lead, last - lead + 1e-9)
        starts = sorted({after} | {e + lead for e in ends if after < e + lead <= last})
        candidates = starts[:MAX_CANDIDATES]
        refusal: Refusal | None = None
        for start in candidates:
            window = Window(max(after, start - self.lead_s), start + duration_s)
            plan = self.plan_window(request, window)
            if not isinstance(plan, Refusal):
                return Availability(start, start + duration_s, plan)
            refusal = refusal or plan
            if plan.constraint not in ("bandwidth",):
                return plan  # no later start helps an unknown host or a missing path
        assert refusal is not None
        return Refusal(refusal.constraint, f"no start in the range fits: {refusal.reason}")

    # ---- the lifecycle ------------------------------------------------------------------------
    def due_installs(self, now: float) -> list[Reservation]:
        """SCHEDULED reservations whose install time has come, earliest first."""
        res_of = self.stitcher.reservations
        due = [
            b
            for b in self.booked.values()
            if b.window.start <= now and res_of[b.res_id].state is State.SCHEDULED
        ]
        return [res_of[b.res_id] for b in sorted(due, key=lambda b: (b.window.start, b.res_id))]

    def due_ends(self, now: float) -> list[Reservation]:
        """Booked reservations whose window is over."""
        ended = sorted(self.timeline.expire(now))
        return [self.stitcher.reservations[r] for r in ended if r in self.stitcher.reservations]

    def next_due(self, now: float) -> float | None:
        """The next install or end time after ``now`` (wall clock), if any."""
        res_of = self.stitcher.reservations
        times = [
            b.window.start if res_of[b.res_id].state is State.SCHEDULED else b.window.end
            for b in self.booked.values()
        ]
        future = [t for t in times if math.isfinite(t)]
        return min(future) if future else None

    def install(self, res: Reservation, now: float) -> Job | Refusal:
        """Install a due reservation on its booked path (searched again if that is gone).

        A refusal leaves it SCHEDULED with the reason (tried again on the next tick), its
        window still booked.
        """
        booked = self.booked[res.id]
        booking = self.timeline.booking(res.id)
        links = set(booking.units) if booking is not None else set()
        self.held.add(res.id)
        self.sync(now, links)
        plan = self.stitcher.plan_on(res, booked.path, booked.latency_ms)
        outcome = self.stitcher.start_scheduled(res, plan, now)
        if isinstance(outcome, Refusal):
            self.held.discard(res.id)
            reason = f"{INSTALL_WAIT}: {outcome.reason}"
            if res.reason != reason:
                res.set_state(State.SCHEDULED, now, reason)
            self.sync(now, links)
            return outcome
        if res.plan is not None and res.plan.path != booked.path:
            booked.path, booked.latency_ms = res.plan.path, res.plan.latency_ms
            LOG.info("reservation %d re-stitched at its start: the booked path is gone", res.id)
        holding = self.ledger.holding(res.id)
        self.sync(now, links | set(link_units(holding.amounts) if holding else ()))
        return outcome

    def forget(self, res_id: int, now: float) -> None:
        """The reservation ended or was withdrawn: its booking goes (call it after the ledger
        released the reservation, so that its room can go back to later windows)."""
        self.booked.pop(res_id, None)
        self.held.discard(res_id)
        booking = self.timeline.cancel(res_id)
        self.sync(now, booking.units if booking is not None else ())

    def path_gone(self, res_id: int) -> bool:
        """True when a booked path lost a link (both directions checked when bidirectional)."""
        booked = self.booked[res_id]
        graph, path = self.stitcher.db.graph, booked.path
        if not path:
            return False
        hops = list(itertools.pairwise(path))
        if self.stitcher.reservations[res_id].request.bidirectional:
            hops += [(v, u) for u, v in hops]
        return not all(graph.has_edge(u, v) for u, v in hops)

    def replan(self, res: Reservation, now: float) -> bool:
        """The topology changed before the window: a SCHEDULED reservation whose path is gone
        is searched again over its window and booked on the new path; if none fits it keeps
        its booking (and its reason says why) and is tried again on the next change.
        Returns True when the booking changed."""
        booked = self.booked[res.id]
        old = self.timeline.cancel(res.id)
        window = booked.window if booked.window.start >= now else Window(now, booked.window.end)
        plan = self.plan_window(res.request, window)
        if isinstance(plan, Refusal):
            if old is not None:
                self.timeline.book(res.id, old.window, old.units)
            res.set_state(State.SCHEDULED, now, f"its path is gone, none fits: {plan.reason}")
            return False
        units = link_units(plan.demands)
        self.add(res.id, booked.window, plan.path, plan.latency_ms, units)
        res.set_state(State.SCHEDULED, now, "re-planned: its booked path is gone")
        self.sync(now, set(units) | set(old.units if old is not None else ()))
        return True

    def complete_restored(self, now: float) -> None:
        """Bookings read back from the store without their links (they are kept when the
        store has them) get them as soon as their path is discovered again."""
        touched: set[LinkId] = set()
        for booked in self.booked.values():
            booking = self.timeline.booking(booked.res_id)
            if booked.res_id in self.held or (booking is not None and booking.units):
                continue
            res = self.stitcher.reservations[booked.res_id]
            if res.request.bandwidth_mbps <= 0:
                continue
            plan = self.stitcher.plan_on(res, booked.path, booked.latency_ms)
            if plan is not None:
                self.stitcher.release_meters(plan)
                units = link_units(plan.demands)
                self.timeline.book(booked.res_id, booked.window, units)
                touched |= set(units)
        if touched:
            self.sync(now, touched)

    # ---- the instant ledger's view of the future ---------------------------------------------
    def sync(self, now: float, links: Iterable[LinkId] | None = None) -> None:
        """Make ``AHEAD_OWNER`` hold, per link, the future peak less installed windows' part.

        Only ``links`` are looked at again when given (those a change touched; a full pass
        sweeps every link's bookings). Installed windows' bookings follow their ledger
        holding (a move changes the path). Growth is clamped to what is free, never refused:
        a link cut below its bookings is logged.
        """
        ledger = self.ledger
        touched: set[LinkId] | None = None if links is None else set(links)
        held_units: dict[LinkId, float] = {}
        for res_id in self.held:
            holding = ledger.holding(res_id)
            booking = self.timeline.booking(res_id)
            if holding is None:  # about to allocate (or lost its path): its booking is its own
                for link, units in booking.units.items() if booking is not None else ():
                    held_units[link] = held_units.get(link, 0.0) + from_units(units)
                continue
            amounts = link_units(holding.amounts)
            if booking is not None and dict(booking.units) != amounts and amounts:
                self.timeline.book(res_id, booking.window, amounts)
                if touched is not None:
                    touched |= set(booking.units) | set(amounts)
            for key, amount in holding.amounts.items():
                if isinstance(key, LinkId):
                    held_units[key] = held_units.get(key, 0.0) + amount
        if touched is None:
            target: dict[ResourceKey, float] = {}
            peaks = self.timeline.ahead(now)
        else:
            target = {k: v for k, v in self._ahead.items() if k not in touched}
            peaks = self.timeline.ahead(now, touched)
        if touched is None:
            self._short.clear()
        else:
            self._short -= touched
        for link, units in peaks.items():
            want = max(0.0, from_units(units) - held_units.get(link, 0.0))
            current = self._ahead.get(link, 0.0)
            if want > current:
                room = current + ledger.free(link)
                if want > room:
                    self._short.add(link)
                    if ledger.capacity(link) > 0:  # an unknown link: not discovered yet
                        LOG.warning("%s: future windows need %g Mbit/s, %g free", link, want, room)
                    want = room
            if want > 0:
                target[link] = want
        if target == self._ahead:
            return
        shrunk = {k: min(v, self._ahead.get(k, 0.0)) for k, v in target.items()}
        if ledger.holding(AHEAD_OWNER) is None:
            ledger.allocate(AHEAD_OWNER, {})
        ledger.resize(AHEAD_OWNER, shrunk)  # shrink first: never refused
        ledger.resize(AHEAD_OWNER, target)  # then grow within what was free
        self._ahead = target
        self._ahead_edges = None

    def short_links(self) -> set[LinkId]:
        """Links where ``AHEAD_OWNER`` got less than the future peak (no room, or unknown)."""
        return set(self._short)

    def ahead(self) -> dict[ResourceKey, float]:
        """What ``AHEAD_OWNER`` holds now."""
        return dict(self._ahead)
