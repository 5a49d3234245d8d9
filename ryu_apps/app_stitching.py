"""Reservations and intents, driven from REST and from OpenFlow replies.

A mixin of :class:`ryu_apps.vnstitch.VnstitchApp`: it uses the app's services and state.
"""

from __future__ import annotations

import logging
from typing import Any

from ryu.controller import ofp_event
from ryu.controller.handler import (
    CONFIG_DISPATCHER,
    MAIN_DISPATCHER,
    set_ev_cls,
)
from ryu.lib import hub
from ryu.lib.packet import arp

from ryu_apps import ofp_translate as xlate
from ryu_apps.packets import BROADCAST, arp_packet
from vnstitch.messages import PairId
from vnstitch.stitcher.install_jobs import Job
from vnstitch.stitcher.reservation import Reservation, ReservationRequest, State
from vnstitch.stitcher.stitch_service import Refusal

LOG = logging.getLogger("vnstitch")


class StitchingMixin:
    """Reservations and intents, driven from REST and from OpenFlow replies."""

    def _process_topology_change(self) -> None:
        """Runs once after a burst of topology events: re-stitch what broke, retry the rest."""
        self._restitch_pending = False
        now = self._now()
        for job in self.stitcher.on_topology_change(now):
            self.runner.run(job)
        for job in self.intents.refresh(now):
            self.runner.run(job)
        if self.predictor is not None:
            hosts = [(h.ip, h.name, h.zone) for h in self.db.hosts.values() if h.ip]
            self.predictor.publish_topology(self._traffic_clock(), self.db.version, hosts)

    def reserve(self, request: ReservationRequest) -> tuple[Reservation | None, Refusal | None]:
        """Stitch a request; waits briefly for the switches to confirm (REST thread)."""
        isolated = self._isolation_refusal(request)
        if isolated is not None:
            return None, isolated
        self.stitcher.sync_capacities()
        res, outcome = self.stitcher.submit_or_refuse(request, self._now())
        if isinstance(outcome, Refusal):
            return None, outcome
        assert res is not None
        self.durable.persist_reservation(res)  # durable before it is acknowledged
        self._run_and_wait(res, outcome)
        return res, None

    def _isolation_refusal(self, request: ReservationRequest) -> Refusal | None:
        src, dst = self.db.find_host(request.src), self.db.find_host(request.dst)
        if src is not None and dst is not None and self._isolated(src.mac, dst.mac):
            return Refusal(
                "isolation", f"{request.src} and {request.dst} are isolated by an intent"
            )
        return None

    def _isolated(self, mac_a: str, mac_b: str) -> bool:
        return frozenset((mac_a, mac_b)) in self.intents.isolated

    def submit_intent(self, spec: Any) -> tuple[Any, list[Any]]:
        """Accept an intent (durable first), install it, wait briefly for the switches."""
        now = self._now()
        self.stitcher.sync_capacities()
        number = self.durable.next_intent_number()
        submission = self.intents.submit(spec, number, now)
        if submission.intent is None:
            return None, submission.conflicts
        for job in submission.jobs:
            self.runner.run(job)
        ident = submission.intent.id
        with hub.Timeout(2.0, False):
            while self.intents.intents[ident].state.value in ("INSTALLING", "COMPILING"):
                hub.sleep(0.005)
        return self.intents.intents[ident], []

    def withdraw_intent(self, ident: str) -> Any:
        """Withdraw an intent and remove what it installed."""
        for job in self.intents.withdraw(ident, self._now()):
            self.runner.run(job)
        self._update_best_effort_meters()
        return self.intents.intents[ident]

    def intent_dry_run(self, spec: Any) -> dict[str, Any]:
        """Compile and plan an intent without installing it."""
        self.stitcher.sync_capacities()
        result: dict[str, Any] = self.intents.dry_run(spec, self._now()).to_dict()
        return result

    def render_metrics(self) -> str:
        """The Prometheus text of the current state."""
        m = self.metrics
        by_state: dict[tuple[str, str], float] = {}
        for res in self.stitcher.live():
            key = (res.state.value, res.request.origin.value)
            by_state[key] = by_state.get(key, 0) + 1
        m.reservations.replace(by_state)
        reserved, measured = {}, {}
        for lid in self.db.links:
            key = (f"{lid.src:016x}:{lid.src_port}", f"{lid.dst:016x}:{lid.dst_port}")
            reserved[key] = self.ledger.reserved(lid)
            rate = self.port_rate_mbps.get((lid.src, lid.src_port))
            if rate is not None:
                measured[key] = rate
        m.link_reserved_mbps.replace(reserved)
        m.link_measured_mbps.replace(measured)
        return m.render()

    def modify(self, res_id: int, request: ReservationRequest) -> Refusal | None:
        """Make-before-break change of a reservation."""
        outcome = self.stitcher.modify(res_id, request, self._now())
        if isinstance(outcome, Refusal):
            return outcome
        self.durable.persist_reservation(self.stitcher.reservations[res_id])
        self._run_and_wait(self.stitcher.reservations[res_id], outcome)
        return None

    def withdraw(self, res_id: int) -> None:
        """Release a reservation and remove its rules."""
        job = self.stitcher.release(res_id, self._now())
        if job is not None:
            self.runner.run(job)
        self.durable.persist_reservation(self.stitcher.reservations[res_id])
        self._announce(res_id, active=False)
        self._update_best_effort_meters()
        for job in self.stitcher.on_topology_change(self._now()):
            self.runner.run(job)

    def _run_and_wait(self, res: Reservation, job: Job, timeout_s: float = 2.0) -> None:
        event = hub.Event()
        self._waiters[res.id] = event
        self.runner.run(job)
        if res.state is State.INSTALLING:
            with hub.Timeout(timeout_s, False):
                event.wait()
        self._waiters.pop(res.id, None)

    def _job_done(self, job: Job, ok: bool, reason: str | None) -> None:
        now = self._now()
        if job.intent_id is not None:
            self.intents.drops_confirmed(job.intent_id, now, ok, reason)
            return
        res = self.stitcher.reservations.get(job.reservation_id)
        if ok and res is not None and res.state is State.INSTALLING:
            hist = (
                self.metrics.restitch_seconds if job.kind == "move" else self.metrics.stitch_seconds
            )
            hist.observe(max(0.0, now - res.updated_at))
        if ok:
            self.stitcher.confirmed(job.reservation_id, job.version, now)
            if res is not None and job.kind == "install":
                self._prime_arp(res)
            self._announce(job.reservation_id, active=True)
            LOG.info("reservation %d v%d confirmed (%s)", job.reservation_id, job.version, job.kind)
        else:
            LOG.warning("reservation %d v%d failed: %s", job.reservation_id, job.version, reason)
            for cleanup in self.stitcher.failed(job.reservation_id, job.version, reason or "", now):
                self.runner.run(cleanup)
        self._update_best_effort_meters()
        self.intents.refresh_states(now)
        waiter = self._waiters.get(job.reservation_id)
        if waiter is not None:
            waiter.set()

    def _prime_arp(self, res: Reservation) -> None:
        """Introduce a stitched pair's hosts to each other before they talk.

        The controller sends each host an ARP request from the other, out of its own port: a
        host that receives a request for its address learns the sender (an unsolicited reply
        would be ignored). So neither host's first packet waits for address resolution.
        """
        src, dst = self.db.find_host(res.request.src), self.db.find_host(res.request.dst)
        if src is None or dst is None or not src.ip or not dst.ip:
            return
        for asker, target in ((src, dst), (dst, src)):
            att = target.attachment
            dp = self.datapaths.get(att.dpid) if att is not None else None
            if att is None or dp is None or not asker.ip or not target.ip:
                continue
            frame = arp_packet(arp.ARP_REQUEST, asker.mac, asker.ip, BROADCAST, target.ip)
            dp.send_msg(xlate.packet_out(dp, att.port, frame))

    def _announce(self, res_id: int, active: bool) -> None:
        """Tell the predictor a reservation was made or released."""
        res = self.stitcher.reservations.get(res_id)
        if self.predictor is None or res is None:
            return
        src, dst = self.db.find_host(res.request.src), self.db.find_host(res.request.dst)
        if src is None or dst is None or not src.ip or not dst.ip:
            return
        origin = {"predicted": "forecast", "intent": "intent"}.get(res.request.origin, "request")
        rate = res.plan.meter_rate_mbps if res.plan else 0.0
        pair = PairId(src.ip, dst.ip)
        self.predictor.publish_reservation(
            self._traffic_clock(), res_id, pair, rate, origin, active
        )

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def _barrier_reply(self, ev: Any) -> None:
        self.runner.barrier_reply(ev.msg.datapath.id, ev.msg.xid)

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [MAIN_DISPATCHER, CONFIG_DISPATCHER])
    def _error(self, ev: Any) -> None:
        msg = ev.msg
        reason = f"OpenFlow error type {msg.type} code {msg.code}"
        ofp = msg.datapath.ofproto
        if msg.type == ofp.OFPET_METER_MOD_FAILED and msg.code == ofp.OFPMMFC_METER_EXISTS:
            LOG.debug("switch %016x kept meter state (xid %d)", msg.datapath.id, msg.xid)
        elif not self.runner.error(msg.datapath.id, msg.xid, reason):
            LOG.warning("switch %016x: %s (xid %d)", msg.datapath.id, reason, msg.xid)

    def link_report(self) -> list[dict[str, Any]]:
        """Capacity, reserved and measured utilisation of every directed link."""
        out = []
        for lid, link in sorted(self.db.links.items()):
            entry = link.to_dict()
            entry["reserved_mbps"] = round(self.ledger.reserved(lid), 3)
            entry["usable_mbps"] = round(self.ledger.usable(lid), 3)
            entry["measured_mbps"] = self.port_rate_mbps.get((lid.src, lid.src_port))
            out.append(entry)
        return out
