"""Runs install jobs on the switches: phase by phase, each phase closed by barriers.

Every message's xid is remembered, so an OpenFlow error reply is traced to the job (and so the
reservation version) that caused it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ryu_apps import ofp_translate as xlate
from vnstitch.stitcher.install_jobs import (
    FlowAdd,
    FlowDelete,
    Job,
    MeterAdd,
    MeterDelete,
    Op,
    op_dpid,
)

LOG = logging.getLogger("vnstitch.installer")

Done = Callable[[Job, bool, str | None], None]


@dataclass
class _Running:
    job: Job
    phase: int = -1
    barriers: set[tuple[int, int]] = field(default_factory=set)  # (dpid, xid)
    started: float = 0.0
    confirmed_at: float | None = None


class JobRunner:
    """Sends jobs; reports each job once: confirmed (its confirm phase answered) or failed."""

    def __init__(self, datapaths: dict[int, Any], done: Done, clock: Callable[[], float]):
        self._datapaths = datapaths
        self._done = done
        self._clock = clock
        self._by_xid: dict[tuple[int, int], _Running] = {}
        self._running: list[_Running] = []

    def run(self, job: Job) -> None:
        """Start a job."""
        run = _Running(job, started=self._clock())
        self._running.append(run)
        self._next_phase(run)

    def _op_msg(self, dp: Any, op: Op) -> Any:
        if isinstance(op, FlowAdd):
            return xlate.flow_add(dp, op.rule)
        if isinstance(op, FlowDelete):
            return xlate.flow_delete_strict(dp, op.rule)
        if isinstance(op, MeterAdd):
            return xlate.meter_add(dp, op.meter)
        assert isinstance(op, MeterDelete)
        return xlate.meter_delete(dp, op.meter_id)

    def _next_phase(self, run: _Running) -> None:
        job = run.job
        if job.confirm_phase is not None and run.phase == job.confirm_phase:
            run.confirmed_at = self._clock()
            self._done(job, True, None)
        run.phase += 1
        while run.phase < len(job.phases) and not job.phases[run.phase]:
            run.phase += 1
        if run.phase >= len(job.phases):
            self._finish(run)
            return
        touched: set[int] = set()
        for op in job.phases[run.phase]:
            dpid = op_dpid(op)
            dp = self._datapaths.get(dpid)
            if dp is None:
                self._fail(run, f"switch {dpid:016x} is not connected")
                return
            msg = self._op_msg(dp, op)
            dp.send_msg(msg)
            self._by_xid[(dpid, msg.xid)] = run
            touched.add(dpid)
        for dpid in touched:
            dp = self._datapaths[dpid]
            barrier = dp.ofproto_parser.OFPBarrierRequest(dp)
            dp.send_msg(barrier)
            run.barriers.add((dpid, barrier.xid))
            self._by_xid[(dpid, barrier.xid)] = run

    def barrier_reply(self, dpid: int, xid: int) -> None:
        """A switch answered a barrier."""
        run = self._by_xid.get((dpid, xid))
        if run is None or (dpid, xid) not in run.barriers:
            return
        run.barriers.discard((dpid, xid))
        if not run.barriers:
            self._next_phase(run)

    def error(self, dpid: int, xid: int, reason: str) -> bool:
        """A switch refused a message; returns True if it belonged to a job."""
        run = self._by_xid.get((dpid, xid))
        if run is None:
            return False
        self._fail(run, f"switch {dpid:016x} refused: {reason}")
        return True

    def expire(self, timeout_s: float) -> None:
        """Fail jobs whose barriers did not come back in time (a switch went away)."""
        now = self._clock()
        for run in list(self._running):
            if now - run.started > timeout_s:
                self._fail(run, f"no confirmation from the switches within {timeout_s:.0f} s")

    def _fail(self, run: _Running, reason: str) -> None:
        if run not in self._running:
            return
        job = run.job
        self._finish(run)
        if job.confirm_phase is not None and run.confirmed_at is None:
            self._done(job, False, reason)
        else:
            LOG.warning("job %s of reservation %d: %s", job.kind, job.reservation_id, reason)

    def _finish(self, run: _Running) -> None:
        if run in self._running:
            self._running.remove(run)
        for key in [k for k, r in self._by_xid.items() if r is run]:
            del self._by_xid[key]

    def busy(self) -> int:
        """Jobs still running."""
        return len(self._running)
