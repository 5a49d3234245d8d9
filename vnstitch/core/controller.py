"""The controller core (Faucet's valve pattern): one object, events in, actions out.

``handle(event, at)`` and ``call(command, ticket, at)`` are the only ways in; both return the
actions to carry out, in order. The adapter calls them from one thread of control (the Ryu
app's event queue), so no state here is ever touched concurrently. The parts:

- :class:`~vnstitch.core.discovery.Discovery`: switches, ports, links, hosts, baseline paths;
- :class:`~vnstitch.core.stitching.Stitching`: reservations, intents, install jobs;
- :class:`~vnstitch.core.prediction.Prediction`: the predictor link (when it is bound);
- :class:`~vnstitch.core.statistics.Statistics`: port rates, flow counters, the audit;
- :class:`~vnstitch.core.northbound.NorthboundCommands`: REST commands and their replies.
"""

from __future__ import annotations

import logging
from typing import Any, assert_never

from topology.database import TopologyDatabase
from topology.model import Host, TopologyEvent
from vnstitch.clock import Instant
from vnstitch.core.actions import Action, Outbox, RoundWorkLater, SettleLater
from vnstitch.core.adjustment import Adjustment
from vnstitch.core.commands import Command
from vnstitch.core.discovery import Discovery
from vnstitch.core.discovery_grace import restored_anything
from vnstitch.core.durable import DurableState
from vnstitch.core.events import (
    ArpIn,
    BarrierReply,
    EchoReply,
    EchoTick,
    Event,
    FlowStats,
    GroupDescs,
    Ipv4In,
    MeterConfigs,
    OtherPacketIn,
    PacketIn,
    PortChanged,
    PortStats,
    PredictorFrames,
    PredictorMessage,
    PredictorRejected,
    ProbeIn,
    ProbeTick,
    RoundWork,
    Settle,
    SettleMore,
    StatsTick,
    SwitchDown,
    SwitchError,
    SwitchFeatures,
    SwitchPorts,
    SwitchUp,
    VerifyMore,
    Wake,
)
from vnstitch.core.frames import decode_packet_in
from vnstitch.core.northbound import NorthboundCommands
from vnstitch.core.prediction import Prediction
from vnstitch.core.scheduling import Scheduling
from vnstitch.core.statistics import Statistics
from vnstitch.core.stitching import Stitching
from vnstitch.core.verification import Verification
from vnstitch.core.waiters import Waiters
from vnstitch.forwarding.baseline import BaselineForwarding
from vnstitch.intents.intent_service import IntentService
from vnstitch.intents.resolve import NtdDirectory
from vnstitch.northbound.config import Config
from vnstitch.northbound.metrics import controller_metrics
from vnstitch.resources.ledger import Ledger
from vnstitch.stitcher.schedule import Schedule
from vnstitch.stitcher.stitch_service import StitchService
from vnstitch.store.interface import Store

LOG = logging.getLogger("vnstitch")
RESTORE_GRACE_S = 20.0  # after a restart, restored reservations wait this long for their paths


class ControllerCore:
    """All controller state and policy; see the module docstring."""

    def __init__(
        self,
        config: Config,
        started: Instant,
        nonce: int,
        predictor_source: str | None = None,
        store: Store | None = None,
        takeover: bool = False,
    ) -> None:
        """``predictor_source`` names this controller on the predictor link; None: no link.

        ``store``: a replicated store (a cluster member); None: the SQLite file of the config.
        ``takeover``: a new cluster leader, whose restored rules are claimed in place.
        """
        self.config = config
        opts = config.controller
        self.outbox = Outbox()
        self.metrics = controller_metrics()
        self.db = TopologyDatabase(config.zone_map(), opts.default_capacity_mbps)
        self.ledger: Ledger[int] = Ledger(link_headroom=opts.link_headroom)
        self.stitcher = StitchService(self.db, self.ledger)
        self.durable = DurableState(config.api.state_db, started.wall, store)
        self.stitcher.on_new_id = self.durable.cover_id
        self.started = started
        self.stitcher.restore_until = started.wall + RESTORE_GRACE_S
        self.stitcher.claim_in_place = takeover
        self.intents = IntentService(
            self.stitcher, NtdDirectory(self.db), self.durable.persist_intent
        )
        baseline = BaselineForwarding(
            idle_timeout=opts.host_idle_timeout_s,
            police_best_effort=opts.best_effort_policing,
            floor_mbps=opts.best_effort_floor_mbps,
        )
        self.discovery = Discovery(
            self.db,
            baseline,
            self.ledger,
            self.outbox,
            self.metrics,
            config.hosts,
            nonce,
            self._isolated,
        )
        self.stitching = Stitching(
            self.stitcher, self.intents, self.durable, self.discovery, self.outbox, self.metrics
        )
        self.stitcher.isolated = self._isolated  # nothing is stitched across an isolation
        self.schedule = Schedule(self.stitcher, self.ledger, opts.reservation_lead_s)
        self.scheduling = Scheduling(self.stitching, self.schedule, self.outbox)
        self.intents.windows = self.scheduling  # windowed intents book through it
        self.statistics = Statistics(
            self.stitching, self.outbox, self.metrics, opts.stats_interval_s, opts.audit_interval_s
        )
        self.statistics.expected_baseline_meters = baseline.expected_meters
        self.verification = Verification(self.stitching, self.discovery, self.outbox, self.metrics)
        self.prediction: Prediction | None = None
        if predictor_source is not None:
            self.prediction = Prediction(
                config.predictor,
                opts.stats_interval_s,
                predictor_source,
                started,
                self.discovery,
                self.stitching,
                self.outbox,
                self.metrics,
            )
        self.adjustment = Adjustment(
            config.adjustment, self.stitching, self.statistics.port_rate_mbps, self.metrics
        )
        if self.prediction is not None:
            self.prediction.on_anomaly = self.adjustment.anomaly
            self.prediction.holds = self.adjustment.holds
        self.waiters = Waiters(self.outbox)
        self.northbound = NorthboundCommands(self, self.outbox, self.waiters)
        self._settle_pending = False
        self._start(started)
        self.rediscovering = takeover or restored_anything(self)  # see discovery_grace

    def _isolated(self, mac_a: str, mac_b: str) -> bool:
        return self.stitching.isolated(mac_a, mac_b)

    def _start(self, at: Instant) -> None:
        """Inventory, stored state and configured reservations, before any switch connects."""
        for spec in self.config.hosts:
            host = Host(
                spec.name,
                spec.mac,
                spec.ip,
                None,
                spec.zone,
                "inventory",
                spec.cpu,
                spec.memory_mb,
                spec.storage_gb,
            )
            self.db.add_inventory_host(host, at.wall)
        for host in list(self.db.hosts.values()):
            self.durable.persist_host(host)
        self.durable.restore(self.db, self.stitcher, self.intents, at.wall)
        self.scheduling.restore(at)
        self.db.subscribe(self._topology_event)
        for request in self.config.reservations:
            self.stitcher.submit(request, at.wall)  # no switch yet: stitched as they connect

    def pending(self) -> list[Action]:
        """Actions queued outside an event (at construction)."""
        return self.outbox.drain()

    # ---- the ways in ------------------------------------------------------------------------
    def next_stats_round(self, wall: float) -> float:
        """Wall time of the next statistics round (on the forecast steps' grid when linked)."""
        if self.prediction is None:
            return wall + self.config.controller.stats_interval_s
        return self.prediction.next_round_wall(wall)

    def handle(self, event: Event, at: Instant) -> list[Action]:
        """React to one event; returns what to send."""
        self._dispatch(event, at)
        return self._finish(at)

    def call(self, command: Command, ticket: int, at: Instant) -> list[Action]:
        """Carry out one northbound command; its reply is among the actions (now or later)."""
        self.northbound.handle(command, ticket, at)
        return self._finish(at)

    def _finish(self, at: Instant) -> list[Action]:
        self.waiters.check(at.mono)
        return self.outbox.drain()

    def _dispatch(self, event: Event, at: Instant) -> None:
        disc, stats, pred = self.discovery, self.statistics, self.prediction
        match event:
            case SwitchFeatures(dpid):
                disc.features(dpid)
            case SwitchUp(dpid):
                disc.switch_up(dpid)
            case SwitchPorts():
                disc.switch_ports(event, at)
            case SwitchDown(dpid):
                disc.switch_down(dpid, at)
                stats.forget_switch(dpid)
                self.verification.forget_switch(dpid)
                if pred is not None:
                    pred.forget_switch(dpid)
            case PortChanged():
                disc.port_changed(event, at)
            case PacketIn():
                decoded = decode_packet_in(event)
                if decoded is not None:
                    self._dispatch(decoded, at)
            case ProbeIn():
                disc.probe_in(event, at)
            case ArpIn():
                disc.arp_in(event, at)
            case Ipv4In():
                disc.ipv4_in(event, at)
            case OtherPacketIn(kind):
                disc.count(kind)
            case EchoReply(dpid, data):
                disc.echo_reply(dpid, data, at)
            case BarrierReply(dpid, xid):
                self.stitching.runner.barrier_reply(dpid, xid, at)
            case SwitchError():
                self._switch_error(event, at)
            case PortStats():
                stats.port_stats(event, at)
            case FlowStats():
                if pred is not None:
                    pred.flow_stats(event.dpid, event.flows, at)
                self.verification.flows(event, at)
                stats.audit_if_due(event, at)
            case MeterConfigs():
                self.verification.meters(event)
                stats.meters_seen(event)
            case GroupDescs():
                self.verification.groups(event)
                stats.groups_seen(event)
            case VerifyMore():
                self.verification.step(at)
            case SettleMore():
                self.stitching.settle_more(at)
            case PredictorFrames(frames):
                if pred is not None:
                    pred.frames(frames, at)
            case PredictorMessage(message):
                if pred is not None:
                    pred.received(message, at)
            case PredictorRejected(reason, detail):
                if pred is not None:
                    pred.rejected_connection(reason, detail, at)
            case ProbeTick():
                disc.probe_tick(at, self.config.controller.link_timeout_s)
                self.durable.flush_last_seen(self.db.hosts.values())
                self.stitching.flush_states()  # what a follower shows: ACTIVE, FAILED
                if self.stitcher.restore_waiting() and at.wall >= self.stitcher.restore_until:
                    self._settle(at)  # the grace is over: what still waits is stitched anew
                self.scheduling.tick(at)  # a lost wake-up costs one probe interval at most
            case EchoTick():
                disc.echo_tick(at)
            case StatsTick():
                dpids = sorted(disc.connected)
                if pred is not None:
                    pred.begin_round(dpids, at)
                if stats.audit_requested:  # the audit's tables came in during the last round
                    self.verification.start_round(at)
                stats.tick(dpids, pred is not None, at)
                self.outbox.add(RoundWorkLater())  # the requests leave first
            case RoundWork():
                if pred is not None:
                    pred.provision(at)
                self.adjustment.round(at)
            case Wake():
                self.scheduling.tick(at)  # the waiters are checked after every event
            case Settle():
                self._settle(at)
            case _:
                assert_never(event)

    def _switch_error(self, ev: SwitchError, at: Instant) -> None:
        if ev.meter_exists:
            LOG.debug("switch %016x kept meter state (xid %d)", ev.dpid, ev.xid)
        elif ev.group_exists and self.stitching.runner.group_exists(ev.dpid, ev.xid, at):
            LOG.debug("switch %016x kept a group: modified in place (xid %d)", ev.dpid, ev.xid)
        elif not self.stitching.runner.error(ev.dpid, ev.xid, ev.reason, at):
            LOG.warning("switch %016x: %s (xid %d)", ev.dpid, ev.reason, ev.xid)

    # ---- topology changes ------------------------------------------------------------------
    def _topology_event(self, event: TopologyEvent) -> None:
        """Immediate reactions; the re-stitch waits until the burst is over (``Settle``)."""
        self.discovery.topology_changed(event)
        if event.kind in ("host_add", "host_move"):
            host = self.db.hosts.get(event.detail["mac"])
            if host is not None and host.source == "learned":
                self.durable.persist_host(host)  # learned hosts survive a restart
        elif event.kind == "host_remove":
            self.durable.forget_host(event.detail["mac"])
        if event.kind != "link_latency" and not self._settle_pending:
            self._settle_pending = True
            self.outbox.add(SettleLater())
        if event.kind == "switch_add":
            dpid = int(event.detail["dpid"], 16)
            if dpid in self.discovery.connected:
                self.statistics.request_flows(dpid)

    def _settle(self, at: Instant) -> None:
        self._settle_pending = False
        self.stitching.settle(at)
        self.scheduling.topology_changed(at)  # windows not yet installed keep a path
        if self.prediction is not None:
            self.prediction.publish_topology(at)

    # ---- reports ---------------------------------------------------------------------------------
    def link_report(self) -> list[dict[str, Any]]:
        """Capacity, reserved and measured utilisation of every directed link."""
        out = []
        rates = self.statistics.port_rate_mbps
        for lid, link in sorted(self.db.links.items()):
            entry = link.to_dict()
            entry["reserved_mbps"] = round(self.ledger.reserved(lid), 3)
            entry["usable_mbps"] = round(self.ledger.usable(lid), 3)
            entry["measured_mbps"] = rates.get((lid.src, lid.src_port))
            out.append(entry)
        return out

    def stats_report(self) -> dict[str, Any]:
        """Controller counters: packet-ins by kind, audit repairs, jobs in flight."""
        return {
            "packet_in": dict(self.discovery.packet_in_counts),
            "audit_repairs": self.statistics.audit_repairs,
            "verification_failures": dict(self.verification.failures),
            "jobs_running": self.stitching.runner.busy(),
            "forecast_refusals": self.prediction.refusals if self.prediction else 0,
            "queue": self.prediction.queue_status() if self.prediction else None,
        }

    def render_metrics(self) -> str:
        """The Prometheus text of the current state."""
        m = self.metrics
        by_state: dict[tuple[str, ...], float] = {}
        backup: dict[tuple[str, ...], float] = {("intact",): 0, ("missing",): 0}
        for res in self.stitcher.live():
            key = (res.state.value, res.request.origin.value)
            by_state[key] = by_state.get(key, 0) + 1
            if res.request.protection:
                backup[("intact",) if res.protected else ("missing",)] += 1
        m.reservations.replace(by_state)
        m.protected_reservations.replace(backup)
        reserved: dict[tuple[str, ...], float] = {}
        measured: dict[tuple[str, ...], float] = {}
        for lid in self.db.links:
            key = (f"{lid.src:016x}:{lid.src_port}", f"{lid.dst:016x}:{lid.dst_port}")
            reserved[key] = self.ledger.reserved(lid)
            rate = self.statistics.port_rate_mbps.get((lid.src, lid.src_port))
            if rate is not None:
                measured[key] = rate
        m.link_reserved_mbps.replace(reserved)
        m.link_measured_mbps.replace(measured)
        return m.render()
