"""Data-plane verification: is every ACTIVE reservation, every INSTALLED isolation true?

The flow, meter and group tables the switches report (the audit asks for them) are loaded
into :class:`~vnstitch.verify.tables.ObservedNetwork`. A round then traces, for every ACTIVE
reservation, a packet of its match from the sender's edge port (it must leave at the
receiver's port through the planned meter), and for every INSTALLED isolation IPv4 and ARP
between its groups (none may be delivered). A round runs in slices of ``slice_checks``
checks, one slice per event, so the OpenFlow loop is never held long. Only tables reported
after a reservation last changed are believed.

A failure makes the reservation DEGRADED (its intent FAILED), or the isolation intent FAILED,
with the reason naming the switch, the entry and what became of the packet; a meter that is
ours but wrong is re-sent; a foreign rule is reported, never deleted. The next Ok verdict
makes it ACTIVE (INSTALLED) again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from vnstitch.clock import Instant
from vnstitch.core.actions import MeterModify, Outbox, VerifyLater
from vnstitch.core.discovery import Discovery
from vnstitch.core.events import FlowStats, GroupDescs, MeterConfigs
from vnstitch.core.stitching import Stitching
from vnstitch.intents.compile import compile_intent
from vnstitch.intents.specs import isolates
from vnstitch.northbound.metrics import ControllerMetrics
from vnstitch.stitcher.reservation import Reservation, State
from vnstitch.verify.checks import (
    Check,
    Failure,
    FailureKind,
    IsolationCheck,
    Ok,
    ReservationCheck,
    Unverified,
    Verdict,
    isolation_pair_checks,
    reservation_checks,
    verify,
)
from vnstitch.verify.tables import ObservedNetwork
from vnstitch.verify.trace import trace

LOG = logging.getLogger("vnstitch")
SLICE_CHECKS = 1_000  # about 35 ms of tracing on a 754-switch network (bench/verify_trace.py)
_OURS_TO_FIX = frozenset({FailureKind.METER_MISSING, FailureKind.METER_RATE})


class Verification:
    """The observed tables, and rounds of checks over them."""

    def __init__(
        self,
        stitching: Stitching,
        discovery: Discovery,
        outbox: Outbox,
        metrics: ControllerMetrics,
        slice_checks: int = SLICE_CHECKS,
    ) -> None:
        self.stitching = stitching
        self.discovery = discovery
        self.outbox = outbox
        self.metrics = metrics
        self.slice_checks = slice_checks
        self.net = ObservedNetwork()
        self.reported: dict[int, float] = {}  # dpid -> wall time its flow table was reported
        self.failures: dict[str, int] = {}  # by kind, since start
        self._round: Iterator[Check] | None = None
        self._verdicts: dict[int | str, list[Verdict]] = {}

    # ---- what the switches reported -------------------------------------------------------
    def flows(self, ev: FlowStats, at: Instant) -> None:
        """A switch's flow table."""
        self.net.set_flows(ev.dpid, ev.flows)
        self.reported[ev.dpid] = at.wall

    def meters(self, ev: MeterConfigs) -> None:
        """A switch's meter table."""
        self.net.set_meters(ev.dpid, ev.meters)

    def groups(self, ev: GroupDescs) -> None:
        """A switch's group table."""
        self.net.set_groups(ev.dpid, ev.groups)

    def forget_switch(self, dpid: int) -> None:
        """A switch went away: its tables are no longer known."""
        self.net.forget(dpid)
        self.reported.pop(dpid, None)

    # ---- rounds -------------------------------------------------------------------------------
    def start_round(self, at: Instant) -> None:
        """Check everything that claims to be in force (unless a round is still going)."""
        if self._round is not None:
            return
        db = self.discovery.db
        self.net.set_links(db.links)
        for dpid, sw in db.switches.items():
            self.net.set_switch_ports(dpid, sw.ports)
        down = [(d, p.port_no) for d, sw in db.switches.items() for p in sw.ports.values()]
        self.net.set_down_ports((d, port) for d, port in down if not db.switches[d].ports[port].up)
        self._verdicts = {}
        self._round = self._checks()
        self.step(at)

    def _checks(self) -> Iterator[Check]:
        """The round's checks, built as they are taken (building is sliced too)."""
        stitcher = self.stitching.stitcher
        db = self.discovery.db
        for res in list(stitcher.live()):
            if res.plan is None or not self._claims_to_hold(res):
                continue
            if not all(self.reported.get(d, 0.0) > res.updated_at for d in res.plan.path):
                continue  # tables older than its last change prove nothing
            src, dst = db.find_host(res.request.src), db.find_host(res.request.dst)
            if src is None or dst is None:
                continue
            yield from reservation_checks(res.id, res.plan, src, dst)
        intents = self.stitching.intents
        for intent in list(intents.intents.values()):
            if not isolates(intent.spec) or not intents.verifiable(intent.id):
                continue
            for pair in compile_intent(intent, intents.directory).isolated_pairs:
                a, b = sorted(pair)
                ha, hb = db.hosts.get(a), db.hosts.get(b)
                if ha is not None and hb is not None:
                    yield from isolation_pair_checks(intent.id, (ha,), (hb,))

    def _claims_to_hold(self, res: Reservation) -> bool:
        stitcher = self.stitching.stitcher
        return res.state is State.ACTIVE or stitcher.held_degraded(res.id)

    def step(self, at: Instant) -> None:
        """One slice of the round in progress; the rest is posted for later."""
        if self._round is None:
            return
        for _ in range(self.slice_checks):
            check = next(self._round, None)
            if check is None:
                self._finish(at)
                return
            verdict = verify(self.net, check)
            self._verdicts.setdefault(check.owner, []).append(verdict)
            self.metrics.verification_checks.inc(verdict=_verdict_name(verdict))
        self.outbox.add(VerifyLater())

    def _finish(self, at: Instant) -> None:
        self._round = None
        stitcher = self.stitching.stitcher
        intents = self.stitching.intents
        for owner, verdicts in self._verdicts.items():
            failure = next((v for v in verdicts if isinstance(v, Failure)), None)
            ok = all(isinstance(v, Ok) for v in verdicts)
            if failure is not None:
                self.failures[failure.kind.value] = self.failures.get(failure.kind.value, 0) + 1
                self.metrics.verification_failures.inc(kind=failure.kind.value)
            if isinstance(owner, int):
                res = stitcher.reservations.get(owner)
                if res is None:
                    continue
                if failure is not None:
                    stitcher.mark_repairing(owner, f"verification: {failure.reason}", at.wall)
                    if failure.kind in _OURS_TO_FIX and res.plan is not None:
                        for meter in res.plan.meters:  # the meter is ours: make it as planned
                            self.outbox.send(MeterModify(meter))
                elif ok:
                    stitcher.verified(owner, at.wall)
            elif failure is not None:
                intents.isolation_breached(owner, f"verification: {failure.reason}", at.wall)
            elif ok:
                intents.isolation_verified(owner, at.wall)
        intents.refresh_states(at.wall)

    # ---- on demand ------------------------------------------------------------------------------
    def trace_reservation(self, res: Reservation) -> dict[str, Any]:
        """``GET /v1/reservations/{id}/trace``: each direction through the current tables."""
        db = self.discovery.db
        src, dst = db.find_host(res.request.src), db.find_host(res.request.dst)
        directions = []
        if res.plan is not None and src is not None and dst is not None:
            for check in reservation_checks(res.id, res.plan, src, dst):
                verdict = verify(self.net, check)
                directions.append(
                    {
                        "direction": check.label,
                        "verdict": _verdict_name(verdict),
                        "reason": None if isinstance(verdict, Ok) else verdict.reason,
                        "trace": trace(self.net, *check.src, check.packet).to_dict(),
                    }
                )
        reported = {f"{d:016x}": self.reported.get(d) for d in (res.plan.path if res.plan else ())}
        return {
            "id": str(res.id),
            "state": res.state.value,
            "tables_reported": all(v is not None for v in reported.values()),
            "directions": directions,
        }


def _verdict_name(verdict: Verdict) -> str:
    if isinstance(verdict, Ok):
        return "ok"
    return "failure" if isinstance(verdict, Failure) else "unverified"


__all__ = ["IsolationCheck", "ReservationCheck", "Unverified", "Verification"]
