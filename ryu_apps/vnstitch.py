"""The vnstitch Ryu application: topology discovery (NTD), baseline forwarding, REST.

Run with ``ryu-manager ryu_apps.vnstitch`` (or ``vnstitch controller``). This module only
adapts: it turns OpenFlow events into calls on the pure core (``topology``, ``forwarding``)
and sends the rule plans the core returns. It holds no forwarding policy of its own.
"""

from __future__ import annotations

import logging
import os
import random
import struct
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ryu import cfg
from ryu.app.wsgi import WSGIApplication
from ryu.base import app_manager
from ryu.controller import ofp_event
from ryu.controller.handler import (
    CONFIG_DISPATCHER,
    DEAD_DISPATCHER,
    MAIN_DISPATCHER,
    set_ev_cls,
)
from ryu.lib import hub
from ryu.lib.packet import arp, ethernet, ipv4, packet
from ryu.ofproto import ofproto_v1_3

from forwarding.baseline import BaselineForwarding
from intents.resolve import NtdDirectory
from intents.service import IntentService
from messages import PairId
from resources.ledger import Ledger
from rules.model import Match
from ryu_apps import ofp_translate as xlate
from ryu_apps.durable import DurableState
from ryu_apps.installer import JobRunner
from ryu_apps.predictor_link import PredictorLink
from ryu_apps.probes import build_probe, parse_probe
from ryu_apps.rest_intents import IntentController
from ryu_apps.rest_reservations import ReservationController
from ryu_apps.rest_topology import APP_KEY, TopologyController
from stitcher.audit import ObservedFlow, audit_switch
from stitcher.jobs import FlowAdd, FlowDelete, Job, JobKind
from stitcher.provisioning import (
    PredictedReservation,
    ProvisioningPolicy,
    ReleaseReservation,
    ResizeReservation,
    plan_provisioning,
)
from stitcher.reservation import Origin, Reservation, ReservationRequest, State
from stitcher.service import Refusal, StitchService
from topology.database import TopologyDatabase
from topology.latency import LatencyEstimator
from topology.model import Attachment, Host, LinkId, Port
from vnstitch.auth import load_or_create_token
from vnstitch.config import Config, ConfigError, load_config
from vnstitch.metrics import controller_metrics

LOG = logging.getLogger("vnstitch")

# Ryu's REST server binds 0.0.0.0 unless told otherwise; ours defaults to loopback.
cfg.CONF.set_default("wsapi_host", "127.0.0.1")

_ECHO = struct.Struct("!d")
BROADCAST = "ff:ff:ff:ff:ff:ff"
FLOOD_CHANGES = ("link_add", "link_remove", "switch_add", "switch_remove", "port_up", "port_down")
_OFPP_MAX = 0xFFFFFF00


def _load_config() -> Config:
    path = os.environ.get("VNSTITCH_CONFIG")
    try:
        return load_config(path)
    except ConfigError as exc:
        LOG.error("vnstitch: %s", exc)
        raise SystemExit(f"vnstitch: {exc}") from exc


class VnstitchApp(app_manager.RyuApp):  # type: ignore[misc]
    """Discovers the network into the NTD and forwards unreserved traffic."""

    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]
    _CONTEXTS = {"wsgi": WSGIApplication}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config = _load_config()
        opts = self.config.controller
        token_file = self.config.api.token_file
        self.api_token = load_or_create_token(
            self.config.api.token, Path(token_file) if token_file else None
        )
        LOG.info("REST API bearer token: %s", self.api_token.source)
        self.db = TopologyDatabase(self.config.zone_map(), opts.default_capacity_mbps)
        self.latency = LatencyEstimator()
        self.baseline = BaselineForwarding(
            idle_timeout=opts.host_idle_timeout_s,
            police_best_effort=opts.best_effort_policing,
            floor_mbps=opts.best_effort_floor_mbps,
        )
        self.datapaths: dict[int, Any] = {}
        self.nonce = random.getrandbits(63)
        self.packet_in_counts: dict[str, int] = {}
        for spec in self.config.hosts:
            self.db.add_inventory_host(
                Host(
                    spec.name,
                    spec.mac,
                    spec.ip,
                    None,
                    spec.zone,
                    "inventory",
                    spec.cpu,
                    spec.memory_mb,
                    spec.storage_gb,
                ),
                self._now(),
            )
        self.ledger: Ledger[int] = Ledger(link_headroom=opts.link_headroom)
        self.stitcher = StitchService(self.db, self.ledger)
        self.durable = DurableState(self.config.api.state_db)
        self.intents = IntentService(
            self.stitcher, NtdDirectory(self.db), self.durable.persist_intent
        )
        self.metrics = controller_metrics()
        for host in list(self.db.hosts.values()):
            self.durable.persist_host(host)
        self.durable.restore(self.db, self.stitcher, self.intents, self._now())
        self.runner = JobRunner(self.datapaths, self._job_done, self._now)
        self._waiters: dict[int, Any] = {}
        self._restitch_pending = False
        self._port_bytes: dict[tuple[int, int], tuple[float, int]] = {}
        self.port_rate_mbps: dict[tuple[int, int], float] = {}
        self._flow_stats: dict[int, list[Any]] = {}
        self.audit_repairs = 0
        wsgi = kwargs["wsgi"]
        wsgi.register(TopologyController, {APP_KEY: self})
        wsgi.register(ReservationController, {APP_KEY: self})
        wsgi.register(IntentController, {APP_KEY: self})
        self.db.subscribe(self._on_topology_event)
        for spec in self.config.reservations:
            self.stitcher.submit(spec, self._now())
        self.threads.append(hub.spawn(self._probe_loop))
        self.threads.append(hub.spawn(self._echo_loop))
        self.threads.append(hub.spawn(self._stats_loop))
        self.predictor: PredictorLink | None = None
        popts = self.config.predictor
        self.provisioning_policy = ProvisioningPolicy(
            threshold_mbps=popts.threshold_mbps, hysteresis=popts.hysteresis
        )
        self._predicted_class: dict[int, str] = {}
        self._clock_start = time.time()
        self.forecast_refusals = 0
        self._audit_due: set[int] = set()
        self._orphans: dict[int, set[Any]] = {}
        self._start_predictor_link()

    def _start_predictor_link(self) -> None:
        opts = self.config.predictor
        if not opts.enabled:
            return
        try:
            self.predictor = PredictorLink(
                opts.observations_endpoint,
                opts.forecasts_endpoint,
                self._on_forecasts,
                self._traffic_clock,
            )
        except Exception as exc:  # a taken port must not stop the controller
            LOG.error(
                "cannot bind the predictor queue (%s, %s): %s; running without forecasts "
                "(set [predictor] endpoints, or enabled = false)",
                opts.observations_endpoint,
                opts.forecasts_endpoint,
                exc,
            )
            return
        self.predictor.on_error = self.metrics.forecast_abs_error_mbps.observe
        self.predictor.on_anomaly = lambda _msg: self.metrics.anomalies.inc()
        self.threads.append(hub.spawn(self.predictor.bridge.receive_forever))
        LOG.info("predictor queue bound: %s, %s", *self.predictor.bridge.endpoints)

    def _traffic_clock(self) -> float:
        """Time of the traffic: wall time, or a time-compressed replay's (``time_scale``)."""
        opts = self.config.predictor
        if opts.time_scale == 1.0 and opts.time_origin is None:
            return time.time()
        origin = opts.time_origin if opts.time_origin is not None else self._clock_start
        return origin + (time.time() - self._clock_start) * opts.time_scale

    def _on_forecasts(self, batch: Any) -> None:
        """A forecast round arrived: bring the predicted reservations in line with it."""
        LOG.debug("forecast round %d: %d pairs", batch.seq, len(batch.forecasts))
        self._provision(f"{batch.model_version}#{batch.seq}")

    def _provision(self, source: str | None = None) -> None:
        """Create, resize or release predicted reservations (``stitcher.provisioning``)."""
        if self.predictor is None:
            return
        wall, now = self._traffic_clock(), self._now()
        forecasts = {pair: kept.forecast for pair, kept in self.predictor.forecasts.items()}
        held, by_pair, protected = {}, {}, set()
        for res in self.stitcher.live():
            pair = PairId(res.request.src, res.request.dst)
            if res.request.origin is Origin.PREDICTED:
                zone = next(iter(res.request.zones), "default") if res.request.zones else "default"
                held[pair] = PredictedReservation(
                    pair,
                    res.request.bandwidth_mbps,
                    res.request.max_latency_ms,
                    zone,
                    self._predicted_class.get(res.id, "default"),
                )
                by_pair[pair] = res
            else:
                src, dst = self.db.find_host(res.request.src), self.db.find_host(res.request.dst)
                if src is not None and dst is not None and src.ip and dst.ip:
                    protected.add(PairId(src.ip, dst.ip))
                    protected.add(PairId(dst.ip, src.ip))
        actions = plan_provisioning(forecasts, held, wall, self.provisioning_policy, protected)
        if actions:
            self.stitcher.sync_capacities()
        for action in actions:
            if isinstance(action, ReleaseReservation):
                self.withdraw(by_pair[action.pair].id)
            elif isinstance(action, ResizeReservation):
                res = by_pair[action.pair]
                request = replace(res.request, bandwidth_mbps=action.rate_mbps)
                outcome = self.stitcher.modify(res.id, request, now)
                if isinstance(outcome, Refusal):
                    LOG.info("forecast resize of %s refused: %s", action.pair, outcome.reason)
                else:
                    self.runner.run(outcome)
            else:
                self._create_predicted(action, source, now)

    def _create_predicted(self, action: Any, source: str | None, now: float) -> None:
        zones = None if action.zone == "default" else frozenset({action.zone})
        request = ReservationRequest(
            action.pair.src,
            action.pair.dst,
            action.rate_mbps,
            action.latency_bound_ms,
            zones,
            origin=Origin.PREDICTED,
            origin_ref=f"forecast {source or '?'} until {action.valid_until:.0f}",
        )
        res, outcome = self.stitcher.submit_or_refuse(request, now)
        if isinstance(outcome, Refusal) or res is None:
            self.forecast_refusals += 1
            LOG.info("no reservation for forecast %s: %s", action.pair, outcome)
            return
        self._predicted_class[res.id] = action.traffic_class
        LOG.info(
            "pre-provisioning %s at %.2f Mbit/s (%s)", action.pair, action.rate_mbps, action.reason
        )
        self.runner.run(outcome)

    @staticmethod
    def _now() -> float:
        return time.monotonic()

    # ---- switch lifecycle ---------------------------------------------------------------
    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def _features(self, ev: Any) -> None:
        dp = ev.msg.datapath
        # Never wipe a reconnecting switch's tables: adds of identical entries are idempotent.
        for rule in self.baseline.control_rules(dp.id):
            dp.send_msg(xlate.flow_add(dp, rule))

    @set_ev_cls(ofp_event.EventOFPStateChange, [MAIN_DISPATCHER, DEAD_DISPATCHER])
    def _state_change(self, ev: Any) -> None:
        dp = ev.datapath
        if ev.state == MAIN_DISPATCHER:
            self.datapaths[dp.id] = dp
            dp.send_msg(dp.ofproto_parser.OFPPortDescStatsRequest(dp, 0))
        elif ev.state == DEAD_DISPATCHER and self.datapaths.get(dp.id) is dp:
            del self.datapaths[dp.id]
            self.latency.forget_switch(dp.id)
            self.db.remove_switch(dp.id, self._now())
            LOG.info("switch %016x disconnected", dp.id)

    @set_ev_cls(ofp_event.EventOFPPortDescStatsReply, MAIN_DISPATCHER)
    def _port_desc(self, ev: Any) -> None:
        dp = ev.msg.datapath
        ports, name = [], None
        for p in ev.msg.body:
            if p.port_no == dp.ofproto.OFPP_LOCAL:
                name = p.name.decode(errors="replace")
            elif p.port_no < _OFPP_MAX:
                ports.append(self._port(dp, p))
        fresh = dp.id not in self.db.switches
        self.db.add_switch(dp.id, ports, self._now(), name)
        self._attach_inventory(dp.id, name)
        if fresh:
            LOG.info("switch %016x (%s) connected with %d ports", dp.id, name, len(ports))
        self._send_probes(dp)

    @staticmethod
    def _port(dp: Any, p: Any) -> Port:
        ofp = dp.ofproto
        down = bool(p.state & ofp.OFPPS_LINK_DOWN) or bool(p.config & ofp.OFPPC_PORT_DOWN)
        speed = p.curr_speed / 1000.0 if p.curr_speed else None
        return Port(p.port_no, p.name.decode(errors="replace"), p.hw_addr, not down, speed)

    def _attach_inventory(self, dpid: int, name: str | None) -> None:
        for spec in self.config.hosts:
            if spec.switch in (name, f"{dpid:016x}"):
                host = self.db.hosts.get(spec.mac)
                if host is not None:
                    host.attachment = Attachment(dpid, spec.port)

    @set_ev_cls(ofp_event.EventOFPPortStatus, MAIN_DISPATCHER)
    def _port_status(self, ev: Any) -> None:
        msg = ev.msg
        dp, ofp = msg.datapath, msg.datapath.ofproto
        if msg.desc.port_no >= _OFPP_MAX:
            return
        now = self._now()
        if msg.reason == ofp.OFPPR_DELETE:
            self.db.delete_port(dp.id, msg.desc.port_no, now)
        else:
            port = self._port(dp, msg.desc)
            self.db.set_port(dp.id, port, now)
            if port.up:
                self._send_probes(dp, [port])

    # ---- discovery and latency ----------------------------------------------------------
    def _probe_loop(self) -> None:
        while True:
            opts = self.config.controller
            for dp in list(self.datapaths.values()):
                self._send_probes(dp)
            self.db.expire_links(self._now(), opts.link_timeout_s)
            hub.sleep(opts.probe_interval_s)

    def _send_probes(self, dp: Any, ports: list[Port] | None = None) -> None:
        sw = self.db.switches.get(dp.id)
        if sw is None:
            return
        for port in ports if ports is not None else list(sw.ports.values()):
            if port.up:
                data = build_probe(dp.id, port.port_no, port.hw_addr, self.nonce, self._now())
                dp.send_msg(xlate.packet_out(dp, port.port_no, data))

    def _echo_loop(self) -> None:
        while True:
            for dp in list(self.datapaths.values()):
                req = dp.ofproto_parser.OFPEchoRequest(dp, data=_ECHO.pack(self._now()))
                dp.send_msg(req)
            hub.sleep(self.config.controller.echo_interval_s)

    @set_ev_cls(ofp_event.EventOFPEchoReply, [MAIN_DISPATCHER, CONFIG_DISPATCHER])
    def _echo_reply(self, ev: Any) -> None:
        data = ev.msg.data
        if data is not None and len(data) == _ECHO.size:
            (sent,) = _ECHO.unpack(data)
            self.latency.echo_rtt(ev.msg.datapath.id, (self._now() - sent) * 1000.0)

    def _on_probe(self, dp: Any, in_port: int, pkt: packet.Packet, received: float) -> None:
        probe = parse_probe(pkt)
        if probe is None or probe.nonce != self.nonce:
            return
        link_id = LinkId(probe.dpid, probe.port, dp.id, in_port)
        self.db.link_seen(link_id, received)
        estimate = self.latency.probe(link_id, probe.sent, received)
        if estimate is not None:
            self.db.set_link_latency(link_id, estimate, received)

    def _on_topology_event(self, event: Any) -> None:
        LOG.debug("topology v%d %s %s", event.version, event.kind, event.detail)
        if event.kind == "switch_add":
            self.baseline.forget_switch(int(event.detail["dpid"], 16))
        if event.kind in FLOOD_CHANGES:
            self._refresh_flooding()
        if event.kind in ("link_remove", "switch_remove", "port_down", "host_move"):
            self._flush_unicast()
        if event.kind == "link_remove":
            self.latency.forget_link(
                LinkId(
                    int(event.detail["src"], 16),
                    event.detail["src_port"],
                    int(event.detail["dst"], 16),
                    event.detail["dst_port"],
                )
            )
        if event.kind in ("link_add", "link_remove", "switch_add", "switch_remove"):
            LOG.info("topology v%d: %s", event.version, event.kind)
        if event.kind != "link_latency" and not self._restitch_pending:
            self._restitch_pending = True
            hub.spawn(self._process_topology_change)
        if event.kind == "switch_add":
            dp = self.datapaths.get(int(event.detail["dpid"], 16))
            if dp is not None:
                self._request_flow_stats(dp)

    # ---- stitching ----------------------------------------------------------------------
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

    # ---- intents --------------------------------------------------------------------------
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
            frame = _arp_packet(arp.ARP_REQUEST, asker.mac, asker.ip, BROADCAST, target.ip)
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

    # ---- statistics and audit -------------------------------------------------------------
    def _stats_loop(self) -> None:
        since_audit = 0.0
        while True:
            opts = self.config.controller
            since_audit += opts.stats_interval_s
            audit = since_audit >= opts.audit_interval_s
            if audit:
                since_audit = 0.0
            dps = list(self.datapaths.values())
            if self.predictor is not None:
                self.predictor.begin_round(self._traffic_clock(), [dp.id for dp in dps])
                self.predictor.expire(self._traffic_clock())
                self._provision()
            for dp in dps:
                dp.send_msg(dp.ofproto_parser.OFPPortStatsRequest(dp, 0, dp.ofproto.OFPP_ANY))
                if audit or self.predictor is not None:
                    self._request_flow_stats(dp, audit)
            self.runner.expire(timeout_s=5.0)
            hub.sleep(opts.stats_interval_s)

    @set_ev_cls(ofp_event.EventOFPPortStatsReply, MAIN_DISPATCHER)
    def _port_stats(self, ev: Any) -> None:
        now = self._now()
        dpid = ev.msg.datapath.id
        for stat in ev.msg.body:
            key = (dpid, stat.port_no)
            prev = self._port_bytes.get(key)
            self._port_bytes[key] = (now, stat.tx_bytes)
            if prev is not None and now > prev[0]:
                rate = (stat.tx_bytes - prev[1]) * 8 / (now - prev[0]) / 1e6
                self.port_rate_mbps[key] = round(max(rate, 0.0), 3)

    def _request_flow_stats(self, dp: Any, audit: bool = True) -> None:
        parser = dp.ofproto_parser
        if audit:
            self._audit_due.add(dp.id)
        self._flow_stats[dp.id] = []
        dp.send_msg(parser.OFPFlowStatsRequest(dp, table_id=0))

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    def _flow_stats_reply(self, ev: Any) -> None:
        msg = ev.msg
        dpid = msg.datapath.id
        parts = self._flow_stats.setdefault(dpid, [])
        parts.extend(msg.body)
        if msg.flags & msg.datapath.ofproto.OFPMPF_REPLY_MORE:
            return
        observed = self._flow_stats.pop(dpid, [])
        if self.predictor is not None:
            self.predictor.flow_stats(
                dpid,
                observed,
                self._is_host_port,
                self._ip_of_mac,
                self.config.controller.stats_interval_s,
            )
        if dpid not in self._audit_due or self.runner.busy():
            return  # not due, or rules in flight: audit next round
        self._audit_due.discard(dpid)
        self._audit(msg.datapath, observed)

    def _is_host_port(self, dpid: int, port: int) -> bool:
        return any(
            h.attachment is not None and h.attachment.dpid == dpid and h.attachment.port == port
            for h in self.db.hosts.values()
        )

    def _ip_of_mac(self, mac: str) -> str | None:
        host = self.db.hosts.get(mac)
        return host.ip if host is not None else None

    def _audit(self, dp: Any, observed: list[Any]) -> None:
        """Repair one switch against the expected rules (policy in ``stitcher.audit``)."""
        expected = self.stitcher.expected_rules(dp.id) + self.intents.expected_drops(dp.id)
        flows = [ObservedFlow(s.priority, _match_from_ofp(s.match), s.cookie) for s in observed]
        settled = self.stitcher.settled() and self.intents.settled()
        result = audit_switch(dp.id, expected, flows, self._orphans.get(dp.id, set()), settled)
        self._orphans[dp.id] = result.orphans
        ops: list[Any] = [FlowDelete(r) for r in result.delete]
        ops += [FlowAdd(r) for r in result.missing]
        if ops:
            self.audit_repairs += len(ops)
            self.metrics.audit_repairs.inc(len(ops))
            LOG.info("audit of %016x: %d repairs", dp.id, len(ops))
            self.runner.run(Job(0, 0, JobKind.REPAIR, [ops]))

    def _refresh_flooding(self) -> None:
        deletes, adds = self.baseline.flood_update(self.db)
        self._update_best_effort_meters()
        for rule in deletes:
            dp = self.datapaths.get(rule.dpid)
            if dp is not None:
                dp.send_msg(xlate.flow_delete_strict(dp, rule))
        for rule in adds:
            dp = self.datapaths.get(rule.dpid)
            if dp is not None:
                dp.send_msg(xlate.flow_add(dp, rule))

    def _update_best_effort_meters(self) -> None:
        """Send the edge ports' best-effort meters (new ones, or all on a rate change)."""
        capacity = {lid: link.capacity_mbps for lid, link in self.db.links.items()}
        reserved = {lid: self.ledger.reserved(lid) for lid in capacity}
        for meter, new in self.baseline.meter_update(capacity, reserved):
            dp = self.datapaths.get(meter.dpid)
            if dp is None:
                continue
            if new:  # it may exist already on a switch that kept its state: then modify
                dp.send_msg(xlate.meter_add(dp, meter))
            dp.send_msg(xlate.meter_add(dp, meter, modify=True))

    def _flush_unicast(self) -> None:
        cookie, mask = self.baseline.unicast_cookie_mask()
        for dp in list(self.datapaths.values()):
            dp.send_msg(xlate.flow_delete_cookie(dp, cookie, mask))

    # ---- packet-in ----------------------------------------------------------------------
    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def _packet_in(self, ev: Any) -> None:
        received = self._now()
        msg = ev.msg
        dp = msg.datapath
        in_port = msg.match["in_port"]
        pkt = packet.Packet(msg.data)
        eth = pkt.get_protocol(ethernet.ethernet)
        if eth is None:
            return
        if eth.ethertype == 0x88CC:
            self._count("lldp")
            self._on_probe(dp, in_port, pkt, received)
            return
        arp_pkt = pkt.get_protocol(arp.arp)
        if arp_pkt is not None:
            self._count("arp")
            self._on_arp(dp, in_port, eth, arp_pkt, msg.data, received)
            return
        ip_pkt = pkt.get_protocol(ipv4.ipv4)
        if ip_pkt is not None:
            self._count("ipv4")
            self._on_ipv4(dp, in_port, eth, ip_pkt, msg.data, received)
            return
        self._count("other")

    def _count(self, kind: str) -> None:
        self.packet_in_counts[kind] = self.packet_in_counts.get(kind, 0) + 1
        self.metrics.packet_in.inc(kind=kind)

    def _learn(self, dpid: int, port: int, mac: str, ip: str | None, now: float) -> None:
        if ip == "0.0.0.0":
            ip = None
        self.db.learn_host(mac, ip, dpid, port, now)

    def _on_arp(self, dp: Any, in_port: int, eth: Any, pkt: Any, data: bytes, now: float) -> None:
        if self.db.is_inter_switch_port(dp.id, in_port):
            return  # only edge ports speak for hosts
        self._learn(dp.id, in_port, pkt.src_mac, pkt.src_ip, now)
        if pkt.opcode == arp.ARP_REQUEST:
            target = self.db.host_by_ip(pkt.dst_ip)
            if target is not None and self._isolated(pkt.src_mac, target.mac):
                return  # never answer across an isolation
            if target is not None:
                if pkt.src_ip == pkt.dst_ip:
                    return  # gratuitous announcement: learned, nothing to answer
                reply = _arp_reply(target.mac, pkt.dst_ip, pkt.src_mac, pkt.src_ip)
                dp.send_msg(xlate.packet_out(dp, in_port, reply))
                return
            self._send_to_edges(data, exclude=(dp.id, in_port))
        elif pkt.opcode == arp.ARP_REPLY:
            asker = self.db.find_host(pkt.dst_mac)
            if asker is not None and asker.attachment is not None:
                out = self.datapaths.get(asker.attachment.dpid)
                if out is not None:
                    out.send_msg(xlate.packet_out(out, asker.attachment.port, data))

    def _send_to_edges(self, data: bytes, exclude: tuple[int, int]) -> None:
        """Ask every edge port (not the data-plane flood): how the controller finds a host."""
        for dpid, dp in list(self.datapaths.items()):
            for port_no in self.db.edge_ports(dpid):
                if (dpid, port_no) != exclude:
                    dp.send_msg(xlate.packet_out(dp, port_no, data))

    def _on_ipv4(
        self, dp: Any, in_port: int, eth: Any, ip_pkt: Any, data: bytes, now: float
    ) -> None:
        if not self.db.is_inter_switch_port(dp.id, in_port):
            self._learn(dp.id, in_port, eth.src, ip_pkt.src, now)
        src, dst = self.db.find_host(eth.src), self.db.find_host(eth.dst)
        if src is None or dst is None or dst.attachment is None:
            return
        rules = self.baseline.unicast_rules(self.db, src, dst)
        for rule in rules:
            sw = self.datapaths.get(rule.dpid)
            if sw is not None:
                sw.send_msg(xlate.flow_add(sw, rule))
        if rules:
            out = self.datapaths.get(dst.attachment.dpid)
            if out is not None:
                out.send_msg(xlate.packet_out(out, dst.attachment.port, data))


_MATCH_FIELDS = set(Match.__dataclass_fields__)


def _match_from_ofp(ofp_match: Any) -> Match:
    """The Match a switch reports, in our data form (fields we never set are ignored)."""
    fields = {k: v for k, v in ofp_match.items() if k in _MATCH_FIELDS}
    return Match(**fields)


def _arp_packet(opcode: int, src_mac: str, src_ip: str, dst_mac: str, dst_ip: str) -> bytes:
    """An ARP frame; a request has a broadcast Ethernet destination and a zero target MAC."""
    pkt = packet.Packet()
    pkt.add_protocol(ethernet.ethernet(dst=dst_mac, src=src_mac, ethertype=0x0806))
    target_mac = "00:00:00:00:00:00" if opcode == arp.ARP_REQUEST else dst_mac
    pkt.add_protocol(
        arp.arp(opcode=opcode, src_mac=src_mac, src_ip=src_ip, dst_mac=target_mac, dst_ip=dst_ip)
    )
    pkt.serialize()
    return bytes(pkt.data)


def _arp_reply(src_mac: str, src_ip: str, dst_mac: str, dst_ip: str) -> bytes:
    """The controller's answer to a host's ARP request."""
    return _arp_packet(arp.ARP_REPLY, src_mac, src_ip, dst_mac, dst_ip)
