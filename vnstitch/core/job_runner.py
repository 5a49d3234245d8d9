"""Runs install jobs: phase by phase, each phase closed by barriers, every xid remembered.

Pure: it queues messages in the core's :class:`~vnstitch.core.actions.Outbox` and is told about
barrier replies and errors; an OpenFlow error is traced to the job (and so the reservation
version) that caused it. A job is reported once: confirmed (its confirm phase answered) or
failed. The switch next to a phase must be connected when the phase starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from vnstitch.clock import Instant
from vnstitch.core.actions import Barrier, Outbox
from vnstitch.stitcher.install_jobs import GroupAdd, GroupModify, Job, op_dpid

LOG = logging.getLogger("vnstitch.installer")


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """How a job ended: ``started`` is the monotonic time it was sent (for the histograms)."""

    job: Job
    ok: bool
    reason: str | None
    started: float


Done = Callable[[JobOutcome, Instant], None]


@dataclass
class _Running:
    job: Job
    started: float
    phase: int = -1
    barriers: set[tuple[int, int]] = field(default_factory=set)  # (dpid, xid)
    confirmed: bool = False


class JobRunner:
    """Sends the phases of jobs through the outbox and follows their barriers."""

    def __init__(self, outbox: Outbox, connected: Collection[int], done: Done) -> None:
        self._outbox = outbox
        self._connected = connected
        self._done = done
        self._by_xid: dict[tuple[int, int], _Running] = {}
        self._group_adds: dict[tuple[int, int], GroupAdd] = {}  # (dpid, xid) of a group add
        self._running: list[_Running] = []

    def run(self, job: Job, at: Instant) -> None:
        """Start a job now."""
        run = _Running(job, at.mono)
        self._running.append(run)
        self._next_phase(run, at)

    def _next_phase(self, run: _Running, at: Instant) -> None:
        job = run.job
        if job.confirm_phase is not None and run.phase == job.confirm_phase:
            run.confirmed = True
            self._done(JobOutcome(job, True, None, run.started), at)
        run.phase += 1
        while run.phase < len(job.phases) and not job.phases[run.phase]:
            run.phase += 1
        if run.phase >= len(job.phases):
            self._finish(run)
            return
        ops = job.phases[run.phase]
        missing = sorted({op_dpid(op) for op in ops} - set(self._connected))
        if missing:
            self._fail(run, f"switch {missing[0]:016x} is not connected", at)
            return
        touched: list[int] = []
        for op in ops:
            dpid = op_dpid(op)
            xid = self._outbox.send(op)
            self._by_xid[(dpid, xid)] = run
            if isinstance(op, GroupAdd):
                self._group_adds[(dpid, xid)] = op
            if dpid not in touched:
                touched.append(dpid)
        for dpid in touched:
            xid = self._outbox.send(Barrier(dpid))
            run.barriers.add((dpid, xid))
            self._by_xid[(dpid, xid)] = run

    def barrier_reply(self, dpid: int, xid: int, at: Instant) -> None:
        """A switch answered a barrier."""
        run = self._by_xid.get((dpid, xid))
        if run is None or (dpid, xid) not in run.barriers:
            return
        run.barriers.discard((dpid, xid))
        if not run.barriers:
            self._next_phase(run, at)

    def group_exists(self, dpid: int, xid: int, at: Instant) -> bool:
        """A switch already held the id of a group a job added (e.g. after a restart): send
        the group as a modify, and hold the phase until a new barrier answers for it."""
        run = self._by_xid.get((dpid, xid))
        add = self._group_adds.pop((dpid, xid), None)
        if run is None or add is None:
            return False
        modify_xid = self._outbox.send(GroupModify(add.group))
        barrier_xid = self._outbox.send(Barrier(dpid))
        self._by_xid[(dpid, modify_xid)] = run
        self._by_xid[(dpid, barrier_xid)] = run
        run.barriers.add((dpid, barrier_xid))
        return True

    def error(self, dpid: int, xid: int, reason: str, at: Instant) -> bool:
        """A switch refused a message; returns True if it belonged to a job."""
        run = self._by_xid.get((dpid, xid))
        if run is None:
            return False
        self._fail(run, f"switch {dpid:016x} refused: {reason}", at)
        return True

    def expire(self, timeout_s: float, at: Instant) -> None:
        """Fail jobs whose barriers did not come back in time (a switch went away)."""
        for run in list(self._running):
            if at.mono - run.started > timeout_s:
                reason = f"no confirmation from the switches within {timeout_s:.0f} s"
                self._fail(run, reason, at)

    def _fail(self, run: _Running, reason: str, at: Instant) -> None:
        if run not in self._running:
            return
        job = run.job
        self._finish(run)
        if job.confirm_phase is not None and not run.confirmed:
            self._done(JobOutcome(job, False, reason, run.started), at)
        else:
            LOG.warning("job %s of reservation %d: %s", job.kind, job.reservation_id, reason)

    def _finish(self, run: _Running) -> None:
        if run in self._running:
            self._running.remove(run)
        for key in [k for k, r in self._by_xid.items() if r is run]:
            del self._by_xid[key]
            self._group_adds.pop(key, None)

    def busy(self) -> int:
        """Jobs still running."""
        return len(self._running)
