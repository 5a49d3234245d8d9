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

from ryu_apps import ofp_translate as xlate
from ryu_apps.app_predictor import PredictorMixin
from ryu_apps.app_stats import StatsMixin
from ryu_apps.app_stitching import StitchingMixin
from ryu_apps.durable import DurableState
from ryu_apps.installer import JobRunner
from ryu_apps.packets import arp_reply
from ryu_apps.predictor_link import PredictorLink
from ryu_apps.probes import build_probe, parse_probe
from ryu_apps.rest_intents import IntentController
from ryu_apps.rest_reservations import ReservationController
from ryu_apps.rest_topology import APP_KEY, TopologyController
from topology.database import TopologyDatabase
from topology.latency import LatencyEstimator
from topology.model import Attachment, Host, LinkId, Port
from vnstitch.forwarding.arp import ArpPacket, Deliver, Flood, Reply, arp_decision
from vnstitch.forwarding.baseline import BaselineForwarding
from vnstitch.intents.intent_service import IntentService
from vnstitch.intents.resolve import NtdDirectory
from vnstitch.northbound.auth import load_or_create_token
from vnstitch.northbound.config import Config, ConfigError, load_config
from vnstitch.northbound.metrics import controller_metrics
from vnstitch.predictive.provisioning import (
    ProvisioningPolicy,
)
from vnstitch.resources.ledger import Ledger
from vnstitch.stitcher.stitch_service import StitchService

LOG = logging.getLogger("vnstitch")

# Ryu binds its REST and OpenFlow servers to all addresses unless told otherwise; ours default
# to loopback (--wsapi-host / --ofp-listen-host, or `vnstitch controller --of-host`, open them).
cfg.CONF.set_default("wsapi_host", "127.0.0.1")
cfg.CONF.set_default("ofp_listen_host", "127.0.0.1")

_ECHO = struct.Struct("!d")
FLOOD_CHANGES = ("link_add", "link_remove", "switch_add", "switch_remove", "port_up", "port_down")
_OFPP_MAX = 0xFFFFFF00


def _load_config() -> Config:
    path = os.environ.get("VNSTITCH_CONFIG")
    try:
        return load_config(path)
    except ConfigError as exc:
        LOG.error("vnstitch: %s", exc)
        raise SystemExit(f"vnstitch: {exc}") from exc


class VnstitchApp(StitchingMixin, PredictorMixin, StatsMixin, app_manager.RyuApp):  # type: ignore[misc]
    """Discovers the network into the NTD and forwards unreserved traffic."""

    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]
    _CONTEXTS = {"wsgi": WSGIApplication}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config = _load_config()
        opts = self.config.controller
        if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
            # Ryu logs every REST request at INFO through ryu.lib.hub: quiet unless --verbose.
            logging.getLogger("ryu.lib.hub").setLevel(logging.WARNING)
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
    # ---- intents --------------------------------------------------------------------------
    # ---- statistics and audit -------------------------------------------------------------
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
        edge = not self.db.is_inter_switch_port(dp.id, in_port)
        if edge:
            self._learn(dp.id, in_port, pkt.src_mac, pkt.src_ip, now)
        packet_ = ArpPacket(
            pkt.opcode, pkt.src_mac, pkt.src_ip, pkt.dst_mac, pkt.dst_ip, dp.id, in_port
        )
        decision = arp_decision(
            packet_, edge, self._mac_for_ip, self._attachment_for_mac, self._isolated
        )
        if isinstance(decision, Reply):
            reply = arp_reply(decision.mac, pkt.dst_ip, pkt.src_mac, pkt.src_ip)
            dp.send_msg(xlate.packet_out(dp, in_port, reply))
        elif isinstance(decision, Flood):
            self._send_to_edges(data, exclude=(dp.id, in_port))
        elif isinstance(decision, Deliver):
            out = self.datapaths.get(decision.attachment.dpid)
            if out is not None:
                out.send_msg(xlate.packet_out(out, decision.attachment.port, data))

    def _mac_for_ip(self, ip: str) -> str | None:
        host = self.db.host_by_ip(ip)
        return host.mac if host is not None else None

    def _attachment_for_mac(self, mac: str) -> Attachment | None:
        host = self.db.find_host(mac)
        return host.attachment if host is not None else None

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
