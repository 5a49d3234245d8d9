"""Reservations and intents: requests in, install jobs out, confirmations back.

Policy that sits between the stitcher, the intent service and the switches: a reservation
across an isolation is refused; a request is durable before it is acknowledged; a confirmed
install primes both hosts' ARP caches and is announced to the predictor; a failed one is rolled
back; every change of reserved bandwidth re-sizes the best-effort meters; a burst of topology
changes re-stitches what broke and retries what failed, once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from vnstitch.clock import Instant
from vnstitch.core.actions import Outbox, PacketOut, SettleMoreLater
from vnstitch.core.discovery import Discovery
from vnstitch.core.durable import DurableState
from vnstitch.core.frames import arp_frame
from vnstitch.core.job_runner import JobOutcome, JobRunner
from vnstitch.intents.conflicts import Conflict
from vnstitch.intents.intent_service import IntentService
from vnstitch.intents.model import Intent, IntentSpec
from vnstitch.northbound.metrics import ControllerMetrics
from vnstitch.rules.model import ARP_REQUEST, BROADCAST_MAC
from vnstitch.stitcher.install_jobs import Job, JobKind
from vnstitch.stitcher.reservation import Reservation, ReservationRequest, State
from vnstitch.stitcher.stitch_service import SLICE_UNITS, Refusal, StitchService, take_slice
from vnstitch.store.schema import StoreError

LOG = logging.getLogger("vnstitch")

ReservationChanged = Callable[[Reservation, bool, Instant], None]


class Stitching:
    """Runs the stitcher's and the intent service's decisions on the switches."""

    def __init__(
        self,
        stitcher: StitchService,
        intents: IntentService,
        durable: DurableState,
        discovery: Discovery,
        outbox: Outbox,
        metrics: ControllerMetrics,
    ) -> None:
        self.stitcher = stitcher
        self.intents = intents
        self.durable = durable
        self.discovery = discovery
        self.outbox = outbox
        self.metrics = metrics
        self.runner = JobRunner(outbox, discovery.connected, self.job_done)
        self.on_reservation_change: ReservationChanged = lambda _res, _active, _at: None
        self._settling: Iterator[tuple[int, Job | None]] | None = None
        self.slice_units = SLICE_UNITS

    def run(self, jobs: list[Job] | Job | None, at: Instant) -> None:
        """Start jobs on the switches; the plans they install are durable first."""
        batch = [jobs] if isinstance(jobs, Job) else jobs or []
        owners = {j.reservation_id for j in batch if j.intent_id is None}
        found = (self.stitcher.reservations.get(r) for r in sorted(owners))
        changed = [r for r in found if r is not None]
        if changed:
            self.durable.persist_reservations((r, self.stitcher.stored_plan(r)) for r in changed)
        for job in batch:
            self.runner.run(job, at)

    def persist(self, res: Reservation) -> None:
        """Write one reservation and its plan."""
        self.durable.persist_reservation(res, self.stitcher.stored_plan(res))

    def flush_states(self) -> None:
        """Store the states changed since the last flush (confirmations, failures) at once."""
        self.durable.flush_states(self.stitcher.stored_plan)

    # ---- reservations ---------------------------------------------------------------------
    def isolated(self, mac_a: str, mac_b: str) -> bool:
        """True when an isolation intent forbids the two hosts to talk."""
        return frozenset((mac_a, mac_b)) in self.intents.isolated

    def isolation_refusal(self, request: ReservationRequest) -> Refusal | None:
        db = self.discovery.db
        src, dst = db.find_host(request.src), db.find_host(request.dst)
        if src is not None and dst is not None and self.isolated(src.mac, dst.mac):
            return Refusal(
                "isolation", f"{request.src} and {request.dst} are isolated by an intent"
            )
        return None

    def reserve(self, request: ReservationRequest, at: Instant) -> Reservation | Refusal:
        """Stitch a request: refused, or booked, durable and being installed."""
        isolated = self.isolation_refusal(request)
        if isolated is not None:
            return isolated
        self.stitcher.sync_capacities()
        res, outcome = self.stitcher.submit_or_refuse(request, at.wall)
        if isinstance(outcome, Refusal):
            return outcome
        assert res is not None
        try:
            self.persist(res)  # durable before it is acknowledged
        except StoreError:  # not stored (a cluster store without a majority): not booked either
            self.stitcher.release(res.id, at.wall, "not stored")  # nothing was installed yet
            del self.stitcher.reservations[res.id]
            raise
        self.run(outcome, at)
        return res

    def modify(self, res_id: int, request: ReservationRequest, at: Instant) -> Refusal | None:
        """Make-before-break change of a reservation."""
        outcome = self.stitcher.modify(res_id, request, at.wall)
        if isinstance(outcome, Refusal):
            return outcome
        self.persist(self.stitcher.reservations[res_id])
        self.run(outcome, at)
        return None

    def withdraw(self, res_id: int, at: Instant) -> None:
        """Release a reservation and remove its rules; what it freed may let others stitch."""
        self.run(self.stitcher.release(res_id, at.wall), at)
        res = self.stitcher.reservations[res_id]
        self.persist(res)
        self.on_reservation_change(res, False, at)
        self.discovery.update_best_effort_meters()
        self.settle(at)  # what it freed may let others stitch

    # ---- intents ----------------------------------------------------------------------------
    def submit_intent(
        self, spec: IntentSpec, at: Instant, preempt: bool = False
    ) -> Intent | list[Conflict]:
        """Accept an intent (durable first) and start installing it; or its conflicts."""
        self.stitcher.sync_capacities()
        number = self.durable.next_intent_number()
        submission = self.intents.submit(spec, number, at.wall, preempt)
        if submission.intent is None:
            return submission.conflicts
        self.run(submission.jobs, at)
        for res_id in submission.released:  # what an isolation withdrew
            res = self.stitcher.reservations[res_id]
            self.persist(res)
            self.on_reservation_change(res, False, at)
        if submission.released:
            self.discovery.update_best_effort_meters()
        return self.intents.intents[submission.intent.id]

    def withdraw_intent(self, ident: str, at: Instant) -> Intent:
        """Withdraw an intent and remove what it installed."""
        self.run(self.intents.withdraw(ident, at.wall), at)
        self.discovery.update_best_effort_meters()
        return self.intents.intents[ident]

    def intent_dry_run(
        self, spec: IntentSpec, at: Instant, preempt: bool = False
    ) -> dict[str, Any]:
        """Compile and plan an intent without installing it."""
        self.stitcher.sync_capacities()
        return self.intents.dry_run(spec, at.wall, preempt).to_dict()

    # ---- what the switches answered ----------------------------------------------------------
    def job_done(self, outcome: JobOutcome, at: Instant) -> None:
        """A job's confirm phase was answered, or the job failed."""
        job = outcome.job
        if job.intent_id is not None:
            self.intents.drops_confirmed(job.intent_id, at.wall, outcome.ok, outcome.reason)
            return
        if job.kind is JobKind.AUDIT:
            self.stitcher.repair_done(
                job.reservation_id, job.version, outcome.ok, outcome.reason or "", at.wall
            )
            self.intents.refresh_states(at.wall)
            return
        res = self.stitcher.reservations.get(job.reservation_id)
        if outcome.ok and res is not None and res.state is State.INSTALLING:
            moved = job.kind is JobKind.MOVE
            hist = self.metrics.restitch_seconds if moved else self.metrics.stitch_seconds
            hist.observe(max(0.0, at.mono - outcome.started))
        if res is not None:  # ACTIVE or failed: stored at the next flush, in one transaction
            self.durable.state_changed(res)
        if outcome.ok:
            self.stitcher.confirmed(job.reservation_id, job.version, at.wall)
            if res is not None:
                if job.kind is JobKind.INSTALL:
                    self._prime_arp(res)
                self.on_reservation_change(res, True, at)
            LOG.info("reservation %d v%d confirmed (%s)", job.reservation_id, job.version, job.kind)
        else:
            LOG.warning(
                "reservation %d v%d failed: %s", job.reservation_id, job.version, outcome.reason
            )
            cleanup = self.stitcher.failed(
                job.reservation_id, job.version, outcome.reason or "", at.wall
            )
            self.run(cleanup, at)
        self.discovery.update_best_effort_meters()
        self.intents.refresh_states(at.wall)

    def _prime_arp(self, res: Reservation) -> None:
        """Introduce a stitched pair's hosts to each other before they talk.

        The controller sends each host an ARP request from the other, out of its own port: a
        host that receives a request for its address learns the sender (an unsolicited reply
        would be ignored). So neither host's first packet waits for address resolution.
        """
        db = self.discovery.db
        src, dst = db.find_host(res.request.src), db.find_host(res.request.dst)
        if src is None or dst is None:
            return
        for asker, target in ((src, dst), (dst, src)):
            att = target.attachment
            if att is None or att.dpid not in self.discovery.connected:
                continue
            if not asker.ip or not target.ip:
                continue
            frame = arp_frame(ARP_REQUEST, asker.mac, asker.ip, BROADCAST_MAC, target.ip)
            self.outbox.send(PacketOut(att.dpid, att.port, frame))

    # ---- topology -----------------------------------------------------------------------------
    def settle(self, at: Instant) -> None:
        """After a burst of topology changes: re-stitch what broke, retry what failed.

        The work goes in slices (``take_slice``), one per event: after each the rest is
        posted behind whatever else is queued, so OpenFlow, REST and timers never wait for
        a thousand re-stitches. A new burst starts the scan again from the top.
        """
        self._settling = self.stitcher.topology_steps(at.wall)
        self.settle_more(at)

    def settle_more(self, at: Instant) -> None:
        """The next slice of the settle in progress; intents are refreshed at its end."""
        if self._settling is None:
            return
        jobs, more = take_slice(self._settling, self.slice_units)
        self.run(jobs, at)
        if more:
            self.outbox.add(SettleMoreLater())
            return
        self._settling = None
        self.run(self.intents.refresh(at.wall), at)
