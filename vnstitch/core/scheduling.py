"""Advance reservations in the core: booking, wake-ups, install at the lead time, end, restart.

The window logic is :mod:`vnstitch.stitcher.schedule`; this part runs it on the switches. The
core reads no clock: after every change it asks for a ``WakeAt`` the next install or end time
(translated from wall to monotonic time with the event's ``Instant``), and the probe tick
looks too, so a lost wake-up only delays by a probe interval. A booking is durable before it
is acknowledged; after a restart every SCHEDULED one is booked again, and one whose install
time passed while the controller was down is installed at the first tick.
"""

from __future__ import annotations

import logging

from vnstitch.clock import Instant
from vnstitch.core.actions import Outbox, WakeAt
from vnstitch.core.stitching import Stitching
from vnstitch.resources.timeline import Window
from vnstitch.stitcher.install_jobs import Job
from vnstitch.stitcher.reservation import (
    Reservation,
    ReservationRequest,
    State,
    StoredPlan,
)
from vnstitch.stitcher.schedule import Availability, Schedule
from vnstitch.stitcher.stitch_service import Refusal

LOG = logging.getLogger("vnstitch")
MAX_SEARCH_S = 366 * 86400.0  # an availability search covers at most a year


class Scheduling:
    """Advance reservations: admission over time, installation, removal at the end."""

    def __init__(self, stitching: Stitching, schedule: Schedule, outbox: Outbox) -> None:
        self.stitching = stitching
        self.schedule = schedule
        self.outbox = outbox
        self._wake_for: float | None = None  # the wall time the last WakeAt asked for

    def owns(self, res: Reservation) -> bool:
        """True for a reservation booked for a window."""
        return res.id in self.schedule.booked

    # ---- requests -----------------------------------------------------------------------------
    def reserve(self, request: ReservationRequest, at: Instant) -> Reservation | Refusal:
        """Book a windowed request: SCHEDULED and durable, or refused (nothing changed)."""
        isolated = self.stitching.isolation_refusal(request)
        if isolated is not None:
            return isolated
        self.stitching.stitcher.sync_capacities()
        outcome = self.schedule.book(request, at.wall)
        if isinstance(outcome, Refusal):
            return outcome
        self.persist(outcome)  # durable before it is acknowledged
        self.tick(at)  # a window starting within its lead time is installed at once
        return outcome

    def book_window(self, request: ReservationRequest, now: float) -> Reservation | Refusal:
        """Book an intent's windowed request (the intent service's booker). The caller ticks
        afterwards for the wake-up: the REST path at once, a refresh at the next probe tick."""
        isolated = self.stitching.isolation_refusal(request)
        if isolated is not None:
            return isolated
        self.stitching.stitcher.sync_capacities()
        outcome = self.schedule.book(request, now)
        if not isinstance(outcome, Refusal):
            self.persist(outcome)  # durable before the intent is acknowledged
        return outcome

    def release_window(self, res_id: int, now: float, reason: str | None) -> Job | None:
        """Withdraw an intent's windowed reservation early; the job removes its rules."""
        res = self.stitching.stitcher.reservations[res_id]
        if res.state is State.SCHEDULED:
            self.schedule.forget(res_id, now)
            res.set_state(State.RELEASED, now, reason or "withdrawn before its window")
            self.stitching.persist(res)
            return None
        job = self.stitching.stitcher.release(res_id, now, reason)
        self.schedule.forget(res_id, now)  # after the ledger let it go: its room goes back
        self.stitching.persist(res)
        return job

    def availability(
        self, request: ReservationRequest, duration_s: float, after: float, before: float
    ) -> Availability | Refusal:
        """The earliest window of ``duration_s`` in ``[after, before]`` that fits."""
        self.stitching.stitcher.sync_capacities()
        return self.schedule.earliest(request, duration_s, after, before)

    def withdraw(self, res_id: int, at: Instant) -> None:
        """Withdraw early: a SCHEDULED one is RELEASED at once, an installed one removed."""
        res = self.stitching.stitcher.reservations[res_id]
        if res.state is State.SCHEDULED:
            res.set_state(State.RELEASED, at.wall, "withdrawn before its window")
            self.schedule.forget(res_id, at.wall)
            self.stitching.persist(res)
        else:  # released from the ledger first, so its room can go back to later windows
            self.stitching.withdraw(res_id, at)
            self.schedule.forget(res_id, at.wall)
        self._ask_wake(at)

    # ---- time ---------------------------------------------------------------------------------
    def tick(self, at: Instant) -> None:
        """Install what is due (lead time reached), remove what ended; ask for the next wake."""
        schedule, stitcher = self.schedule, self.stitching.stitcher
        ended = schedule.due_ends(at.wall)
        for res in ended:
            installed = res.state is not State.SCHEDULED  # else nothing was booked or installed
            job = stitcher.release(res.id, at.wall, "its window ended") if installed else None
            res.set_state(State.ENDED, at.wall, "its window ended")
            schedule.forget(res.id, at.wall)
            self.stitching.run(job, at)
            self.stitching.persist(res)
            self.stitching.on_reservation_change(res, False, at)
            LOG.info("reservation %d: its window ended", res.id)
        schedule.complete_restored(at.wall)
        if schedule.short_links():  # room freed since (a release): later windows take it back
            schedule.sync(at.wall, schedule.short_links())
        due = schedule.due_installs(at.wall)
        for res in due:
            reason = res.reason
            outcome = schedule.install(res, at.wall)
            if isinstance(outcome, Refusal):
                if res.reason != reason:  # written once per new reason, not every tick
                    self.persist(res)
                continue
            LOG.info("reservation %d: installing for its window", res.id)
            self.stitching.run(outcome, at)
        if ended:
            self.stitching.discovery.update_best_effort_meters()
        if ended or due:  # intents follow: ENDED, the next occurrence, or why it waits
            self.stitching.intents.refresh_states(at.wall)
        self.stitching.run(self.stitching.intents.windows_due(at.wall), at)
        self._ask_wake(at)

    def topology_changed(self, at: Instant) -> None:
        """Re-plan SCHEDULED reservations whose booked path lost a link (durable at once)."""
        schedule = self.schedule
        for res_id in sorted(schedule.booked):
            res = self.stitching.stitcher.reservations[res_id]
            ends = schedule.booked[res_id].window.end
            if res.state is State.SCHEDULED and ends > at.wall and schedule.path_gone(res_id):
                schedule.replan(res, at.wall)
                self.persist(res)
        schedule.sync(at.wall, schedule.short_links())  # links that came (back) with room

    def _ask_wake(self, at: Instant) -> None:
        due = self.schedule.next_due(at.wall)
        if due is None or due == self._wake_for:
            return
        self._wake_for = due
        self.outbox.add(WakeAt(at.mono + max(0.0, due - at.wall)))

    # ---- durable state ----------------------------------------------------------------------
    def persist(self, res: Reservation) -> None:
        """Write a SCHEDULED reservation with its booked path (version 0: nothing installed)."""
        booked = self.schedule.booked.get(res.id)
        if res.state is not State.SCHEDULED or booked is None:
            self.stitching.persist(res)
            return
        plan = StoredPlan(max(1, res.version), booked.path, {}, booked.latency_ms)
        booking = self.schedule.timeline.booking(res.id)
        links = dict(booking.units) if booking is not None else None
        self.stitching.durable.persist_reservation(res, plan, links)

    def restore(self, at: Instant) -> None:
        """Book again what the store kept: SCHEDULED ones, and installed windowed ones."""
        stitcher, schedule = self.stitching.stitcher, self.schedule
        for res, plan, links in self.stitching.durable.scheduled:
            if res.state is State.RELEASED:  # an intent's booking its intent no longer holds
                continue
            window = schedule.window_of(res.request, at.wall)
            if isinstance(window, Refusal):
                res.set_state(
                    State.ENDED, at.wall, "its window ended while the controller was down"
                )
                self.stitching.persist(res)
                continue
            stitcher.adopt(res)
            path = plan.path if plan is not None else ()
            latency = plan.latency_ms if plan is not None else None
            schedule.add(res.id, window, path, latency, links)
        for res in list(stitcher.reservations.values()):
            if (
                res.request.windowed
                and res.id not in schedule.booked
                and res.state is State.PENDING
            ):
                window = schedule.window_of(res.request, at.wall)
                if isinstance(window, Refusal):  # ended while down: removed at the first tick
                    end = res.request.end if res.request.end is not None else at.wall
                    window = Window(end - 1.0, end)
                schedule.add(res.id, window, (), None, {})
                schedule.held.add(res.id)
        self.stitching.durable.scheduled = []
        schedule.sync(at.wall)
