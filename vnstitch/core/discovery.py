"""The NTD kept live, and traffic nobody reserved: switches, ports, probes, ARP, baseline paths.

Switch connect -> port description -> the topology database; the controller's own timestamped
LLDP probes find links and their one-way latency (probe trip minus half of each end's echo
RTT); ARP is answered from the host table; IPv4 between known hosts gets shortest-path rules
on its first packet; broadcasts follow a spanning tree. Every reaction is a message queued in
the outbox.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable

from topology.database import TopologyDatabase
from topology.latency import LatencyEstimator
from topology.model import Attachment, LinkId, Port, TopologyEvent
from vnstitch.clock import Instant
from vnstitch.core.actions import (
    EchoRequest,
    FlowDeleteCookie,
    MeterModify,
    Outbox,
    PacketOut,
    PortDescRequest,
)
from vnstitch.core.events import ArpIn, Ipv4In, PortChanged, ProbeIn, SwitchPorts
from vnstitch.core.frames import arp_frame, probe_frame
from vnstitch.forwarding.arp import Deliver, Flood, Reply, arp_decision
from vnstitch.forwarding.baseline import BaselineForwarding
from vnstitch.northbound.config import HostSpec
from vnstitch.northbound.metrics import ControllerMetrics
from vnstitch.resources.ledger import Ledger
from vnstitch.rules.model import ARP_REPLY
from vnstitch.stitcher.install_jobs import FlowAdd, FlowDelete, MeterAdd

LOG = logging.getLogger("vnstitch")

ECHO = struct.Struct("!d")  # an echo request carries its monotonic send time
FLOOD_CHANGES = frozenset(
    {"link_add", "link_remove", "switch_add", "switch_remove", "port_up", "port_down"}
)
UNICAST_FLUSH = frozenset({"link_remove", "switch_remove", "port_down", "host_move"})
Isolated = Callable[[str, str], bool]


class Discovery:
    """Topology discovery and baseline forwarding for the connected switches."""

    def __init__(
        self,
        db: TopologyDatabase,
        baseline: BaselineForwarding,
        ledger: Ledger[int],
        outbox: Outbox,
        metrics: ControllerMetrics,
        inventory: tuple[HostSpec, ...],
        nonce: int,
        isolated: Isolated,
    ) -> None:
        self.db = db
        self.latency = LatencyEstimator()
        self.baseline = baseline
        self.ledger = ledger
        self.outbox = outbox
        self.metrics = metrics
        self.inventory = inventory
        self.nonce = nonce
        self.isolated = isolated
        self.connected: set[int] = set()
        self.packet_in_counts: dict[str, int] = {}

    # ---- switches and ports -------------------------------------------------------------
    def features(self, dpid: int) -> None:
        """Control rules (LLDP and ARP to the controller); a reconnecting switch keeps the rest."""
        for rule in self.baseline.control_rules(dpid):
            self.outbox.send(FlowAdd(rule))

    def switch_up(self, dpid: int) -> None:
        """Ready for messages: ask for its ports."""
        self.connected.add(dpid)
        self.outbox.send(PortDescRequest(dpid))

    def switch_down(self, dpid: int, at: Instant) -> None:
        """The connection is gone: the switch and its links leave the graph."""
        self.connected.discard(dpid)
        self.latency.forget_switch(dpid)
        self.db.remove_switch(dpid, at.wall)
        LOG.info("switch %016x disconnected", dpid)

    def switch_ports(self, ev: SwitchPorts, at: Instant) -> None:
        """The port description: the switch enters (or refreshes in) the graph."""
        fresh = ev.dpid not in self.db.switches
        self.db.add_switch(ev.dpid, list(ev.ports), at.wall, ev.name)
        self._attach_inventory(ev.dpid, ev.name)
        if fresh:
            LOG.info("switch %016x (%s) connected with %d ports", ev.dpid, ev.name, len(ev.ports))
        self.send_probes(ev.dpid, at)

    def _attach_inventory(self, dpid: int, name: str | None) -> None:
        for spec in self.inventory:
            if spec.switch in (name, f"{dpid:016x}"):
                host = self.db.hosts.get(spec.mac)
                if host is not None:
                    host.attachment = Attachment(dpid, spec.port)

    def port_changed(self, ev: PortChanged, at: Instant) -> None:
        """A port went up, down or away (down removes its links at once)."""
        if ev.port is None:
            self.db.delete_port(ev.dpid, ev.port_no, at.wall)
            return
        self.db.set_port(ev.dpid, ev.port, at.wall)
        if ev.port.up:
            self.send_probes(ev.dpid, at, [ev.port])

    # ---- discovery and latency ----------------------------------------------------------
    def probe_tick(self, at: Instant, link_timeout_s: float) -> None:
        """Probe every port of every switch; links not seen for ``link_timeout_s`` expire."""
        for dpid in sorted(self.connected):
            self.send_probes(dpid, at)
        self.db.expire_links(at.wall, at.mono, link_timeout_s)

    def send_probes(self, dpid: int, at: Instant, ports: list[Port] | None = None) -> None:
        """A probe out of every (given) port that is up."""
        sw = self.db.switches.get(dpid)
        if sw is None or dpid not in self.connected:
            return
        for port in ports if ports is not None else list(sw.ports.values()):
            if port.up:
                frame = probe_frame(dpid, port.port_no, port.hw_addr, self.nonce, at.mono)
                self.outbox.send(PacketOut(dpid, port.port_no, frame))

    def echo_tick(self, at: Instant) -> None:
        """An echo request to every switch, carrying the send time."""
        for dpid in sorted(self.connected):
            self.outbox.send(EchoRequest(dpid, ECHO.pack(at.mono)))

    def echo_reply(self, dpid: int, data: bytes, at: Instant) -> None:
        """The control channel's round trip, for correcting probe trip times."""
        if len(data) == ECHO.size:
            (sent,) = ECHO.unpack(data)
            self.latency.echo_rtt(dpid, (at.mono - sent) * 1000.0)

    def probe_in(self, ev: ProbeIn, at: Instant) -> None:
        """One of our probes came back: a link, and a latency sample."""
        self.count("lldp")
        if ev.nonce != self.nonce:
            return  # another controller's probe (or an old run's): not ours to believe
        link_id = LinkId(ev.sender_dpid, ev.sender_port, ev.dpid, ev.in_port)
        self.db.link_seen(link_id, at.wall, at.mono)
        estimate = self.latency.probe(link_id, ev.sent_mono, at.mono)
        if estimate is not None:
            self.db.set_link_latency(link_id, estimate, at.wall)

    # ---- reactions to topology changes ------------------------------------------------------
    def topology_changed(self, event: TopologyEvent) -> None:
        """Flooding, baseline unicast and latency follow the graph at once."""
        kind = event.kind
        LOG.debug("topology v%d %s %s", event.version, kind, event.detail)
        if kind == "switch_add":
            self.baseline.forget_switch(int(event.detail["dpid"], 16))
        if kind in FLOOD_CHANGES:
            self.refresh_flooding()
        if kind in UNICAST_FLUSH:
            cookie, mask = self.baseline.unicast_cookie_mask()
            for dpid in sorted(self.connected):
                self.outbox.send(FlowDeleteCookie(dpid, cookie, mask))
        if kind == "link_remove":
            d = event.detail
            self.latency.forget_link(
                LinkId(int(d["src"], 16), d["src_port"], int(d["dst"], 16), d["dst_port"])
            )
        if kind in ("link_add", "link_remove", "switch_add", "switch_remove"):
            LOG.info("topology v%d: %s", event.version, kind)

    def refresh_flooding(self) -> None:
        """Spanning-tree flood rules (and the best-effort meters they apply)."""
        deletes, adds = self.baseline.flood_update(self.db)
        self.update_best_effort_meters()
        for rule in deletes:
            if rule.dpid in self.connected:
                self.outbox.send(FlowDelete(rule))
        for rule in adds:
            if rule.dpid in self.connected:
                self.outbox.send(FlowAdd(rule))

    def update_best_effort_meters(self) -> None:
        """The edge ports' best-effort meters (new ones, or all on a rate change)."""
        capacity = {lid: link.capacity_mbps for lid, link in self.db.links.items()}
        reserved = {lid: self.ledger.reserved(lid) for lid in capacity}
        for meter, new in self.baseline.meter_update(capacity, reserved):
            if meter.dpid not in self.connected:
                continue
            if new:  # it may exist already on a switch that kept its state: then modify
                self.outbox.send(MeterAdd(meter))
            self.outbox.send(MeterModify(meter))

    # ---- packet-in --------------------------------------------------------------------------
    def count(self, kind: str) -> None:
        """Count a packet-in by kind."""
        self.packet_in_counts[kind] = self.packet_in_counts.get(kind, 0) + 1
        self.metrics.packet_in.inc(kind=kind)

    def _learn(self, dpid: int, port: int, mac: str, ip: str | None, at: Instant) -> None:
        self.db.learn_host(mac, None if ip == "0.0.0.0" else ip, dpid, port, at.wall)

    def arp_in(self, ev: ArpIn, at: Instant) -> None:
        """Learn the sender on an edge port; answer, deliver or ask the edges."""
        self.count("arp")
        pkt = ev.packet
        edge = not self.db.is_inter_switch_port(pkt.dpid, pkt.in_port)
        if edge:
            self._learn(pkt.dpid, pkt.in_port, pkt.src_mac, pkt.src_ip, at)
        decision = arp_decision(
            pkt, edge, self._mac_for_ip, self._attachment_for_mac, self.isolated
        )
        if isinstance(decision, Reply):
            reply = arp_frame(ARP_REPLY, decision.mac, pkt.dst_ip, pkt.src_mac, pkt.src_ip)
            self.outbox.send(PacketOut(pkt.dpid, pkt.in_port, reply))
        elif isinstance(decision, Flood):
            self._send_to_edges(ev.data, exclude=(pkt.dpid, pkt.in_port))
        elif isinstance(decision, Deliver):
            att = decision.attachment
            if att.dpid in self.connected:
                self.outbox.send(PacketOut(att.dpid, att.port, ev.data))

    def _mac_for_ip(self, ip: str) -> str | None:
        host = self.db.host_by_ip(ip)
        return host.mac if host is not None else None

    def _attachment_for_mac(self, mac: str) -> Attachment | None:
        host = self.db.find_host(mac)
        return host.attachment if host is not None else None

    def _send_to_edges(self, data: bytes, exclude: tuple[int, int]) -> None:
        """Ask every edge port (not the data-plane flood): how the controller finds a host."""
        for dpid in sorted(self.connected):
            for port_no in self.db.edge_ports(dpid):
                if (dpid, port_no) != exclude:
                    self.outbox.send(PacketOut(dpid, port_no, data))

    def ipv4_in(self, ev: Ipv4In, at: Instant) -> None:
        """Shortest-path rules for both directions between two known hosts, then deliver."""
        self.count("ipv4")
        if not self.db.is_inter_switch_port(ev.dpid, ev.in_port):
            self._learn(ev.dpid, ev.in_port, ev.eth_src, ev.ip_src, at)
        src, dst = self.db.find_host(ev.eth_src), self.db.find_host(ev.eth_dst)
        if src is None or dst is None or dst.attachment is None:
            return
        rules = self.baseline.unicast_rules(self.db, src, dst)
        for rule in rules:
            if rule.dpid in self.connected:
                self.outbox.send(FlowAdd(rule))
        att = dst.attachment
        if rules and att.dpid in self.connected:
            self.outbox.send(PacketOut(att.dpid, att.port, ev.data))

    def is_host_port(self, dpid: int, port: int) -> bool:
        """True if a known host is attached at ``dpid``/``port``."""
        return any(
            h.attachment is not None and h.attachment.dpid == dpid and h.attachment.port == port
            for h in self.db.hosts.values()
        )

    def ip_of_mac(self, mac: str) -> str | None:
        """The IPv4 address of a known host."""
        host = self.db.hosts.get(mac)
        return host.ip if host is not None else None
