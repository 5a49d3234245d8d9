"""The network topology database (NTD): one live graph of switches, links and hosts.

The graph is a ``networkx.DiGraph`` whose nodes are datapath ids and whose edges are directed
links. Edge attributes read by path search: ``capacity_mbps``, ``latency_ms`` (None while
unmeasured), ``zone``, ``link`` (the :class:`Link`). Node attribute: ``zone``.

Every change returns and records a versioned :class:`TopologyEvent`. Time is always a
parameter; nothing here reads a clock. ``now`` is wall-clock seconds since the epoch: it stamps
events, switch connections and last sightings (what users see). Link expiry alone compares
``mono``, a monotonic reading, so that setting the wall clock neither drops live links nor keeps
dead ones.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import networkx as nx

from topology.model import (
    DEFAULT_ZONE,
    Attachment,
    Dpid,
    Host,
    Link,
    LinkId,
    Port,
    PortNo,
    Switch,
    TopologyEvent,
    dpid_str,
)
from topology.zones import ZoneMap

Subscriber = Callable[[TopologyEvent], None]

EVENT_LOG_SIZE = 10_000
LINK_PORT_HOLD_S = 30.0  # a port that carried a link is no host port for this long after


class TopologyDatabase:
    """Live switches, links and hosts, with a bounded, versioned change log."""

    def __init__(
        self,
        zones: ZoneMap | None = None,
        default_capacity_mbps: float = 1000.0,
        link_port_hold_s: float = LINK_PORT_HOLD_S,
    ):
        self.zones = zones or ZoneMap()
        self.link_port_hold_s = link_port_hold_s
        # Ports that carried a link: the far switch, and when the link went (wall clock).
        self._former_link_ports: dict[tuple[Dpid, PortNo], tuple[Dpid, float]] = {}
        self.default_capacity_mbps = default_capacity_mbps
        self.graph: nx.DiGraph = nx.DiGraph()
        self.switches: dict[Dpid, Switch] = {}
        self.links: dict[LinkId, Link] = {}
        self.hosts: dict[str, Host] = {}  # by MAC
        self._host_index: dict[str, str] = {}  # name or IP -> MAC (a cache, see find_host)
        self.version = 0
        self.graph_generation = 0  # bumps on every change to the graph, latency included
        self._events: deque[TopologyEvent] = deque(maxlen=EVENT_LOG_SIZE)
        self._subscribers: list[Subscriber] = []

    # ---- events -------------------------------------------------------------------------
    def subscribe(self, fn: Subscriber) -> None:
        """Call ``fn`` with every future event."""
        self._subscribers.append(fn)

    def events_since(self, version: int) -> list[TopologyEvent]:
        """Events with a version greater than ``version`` still in the log."""
        return [e for e in self._events if e.version > version]

    def _emit(self, now: float, kind: str, **detail: Any) -> TopologyEvent:
        self.version += 1
        event = TopologyEvent(self.version, now, kind, detail)
        self._events.append(event)
        for fn in list(self._subscribers):
            fn(event)
        return event

    # ---- switches and ports -------------------------------------------------------------
    def add_switch(
        self, dpid: Dpid, ports: Iterable[Port], now: float, name: str | None = None
    ) -> TopologyEvent:
        """Record a switch that connected (or reconnected) with its ports."""
        port_map = {p.port_no: p for p in ports}
        for key, (peer, _gone) in list(self._former_link_ports.items()):
            if peer == dpid:  # the hold time counts from the far switch's return
                self._former_link_ports[key] = (peer, now)
        label = name or dpid_str(dpid)
        zone = self.zones.switch_zone(dpid, label)
        location = self.zones.switch_location(dpid, label)
        self.switches[dpid] = Switch(dpid, label, zone, port_map, now, location)
        self.graph.add_node(dpid, zone=zone, name=label)
        self.graph_generation += 1
        return self._emit(now, "switch_add", dpid=dpid_str(dpid), name=label, zone=zone)

    def remove_switch(self, dpid: Dpid, now: float) -> list[TopologyEvent]:
        """Forget a disconnected switch and its links.

        Hosts attached to it are kept (learned ones too): a switch that lost its controller
        connection still has them, and they are proven gone only by being seen elsewhere.
        """
        if dpid not in self.switches:
            return []
        events = [self._remove_link(lid, now, "switch_down") for lid in self._links_of(dpid)]
        del self.switches[dpid]
        self.graph.remove_node(dpid)
        self.graph_generation += 1
        events.append(self._emit(now, "switch_remove", dpid=dpid_str(dpid)))
        return events

    def set_port(self, dpid: Dpid, port: Port, now: float) -> list[TopologyEvent]:
        """Apply a port status change; a port going down takes its links with it at once."""
        sw = self.switches.get(dpid)
        if sw is None:
            return []
        old = sw.ports.get(port.port_no)
        sw.ports[port.port_no] = port
        events: list[TopologyEvent] = []
        if old is None or old.up != port.up:
            events.append(
                self._emit(
                    now,
                    "port_up" if port.up else "port_down",
                    dpid=dpid_str(dpid),
                    port=port.port_no,
                )
            )
        if not port.up:
            for lid in self._links_of(dpid, port.port_no):
                events.append(self._remove_link(lid, now, "port_down"))
        return events

    def delete_port(self, dpid: Dpid, port_no: PortNo, now: float) -> list[TopologyEvent]:
        """A port removed from the switch: same as down, then forgotten."""
        sw = self.switches.get(dpid)
        if sw is None or port_no not in sw.ports:
            return []
        events = self.set_port(dpid, Port(port_no, sw.ports[port_no].name, up=False), now)
        del sw.ports[port_no]
        return events

    # ---- links --------------------------------------------------------------------------
    def is_inter_switch_port(self, dpid: Dpid, port_no: PortNo) -> bool:
        """True if a discovered link leaves or enters this port."""
        return any(True for _ in self._links_of(dpid, port_no))

    def was_link_port(self, dpid: Dpid, port_no: PortNo, now: float) -> bool:
        """True if this port carried a link lately: no host is learned on it.

        "Lately" lasts while the far switch is disconnected (its link is most likely still
        cabled: only the controller lost it) and ``link_port_hold_s`` after the link went or
        the far switch came back, time enough for discovery to find the link again.
        """
        former = self._former_link_ports.get((dpid, port_no))
        if former is None:
            return False
        peer, gone_at = former
        if peer not in self.switches or now - gone_at < self.link_port_hold_s:
            return True
        del self._former_link_ports[(dpid, port_no)]
        return False

    def _links_of(self, dpid: Dpid, port_no: PortNo | None = None) -> list[LinkId]:
        out = []
        for lid in self.links:
            if (lid.src == dpid and port_no in (None, lid.src_port)) or (
                lid.dst == dpid and port_no in (None, lid.dst_port)
            ):
                out.append(lid)
        return out

    def link_seen(self, link_id: LinkId, now: float, mono: float) -> TopologyEvent | None:
        """A discovery probe crossed ``link_id`` at ``now`` (wall) / ``mono``: add or refresh."""
        link = self.links.get(link_id)
        if link is not None:
            link.last_seen, link.last_seen_mono = now, mono
            return None
        if link_id.src not in self.switches or link_id.dst not in self.switches:
            return None
        src_port = self.switches[link_id.src].ports.get(link_id.src_port)
        if src_port is not None and not src_port.up:
            return None
        # A link replaces any older link that used either of its ports (recabling).
        for stale in self._links_of(link_id.src, link_id.src_port):
            if stale.src == link_id.src and stale.src_port == link_id.src_port:
                self._remove_link(stale, now, "replaced")
        capacity = self._capacity_for(link_id)
        zone = self.zones.link_zone(self._name(link_id.src), self._name(link_id.dst))
        link = Link(link_id, capacity, None, zone, now, mono)
        self.links[link_id] = link
        self._sync_edge(link)
        # Hosts wrongly learned on what turns out to be an inter-switch port are forgotten.
        wrong = [
            host
            for host in self.hosts.values()
            if host.source == "learned"
            and host.attachment
            in (
                Attachment(link_id.src, link_id.src_port),
                Attachment(link_id.dst, link_id.dst_port),
            )
        ]
        event = self._emit(now, "link_add", **link.to_dict())
        for host in wrong:
            del self.hosts[host.mac]
            self._emit(now, "host_remove", mac=host.mac, name=host.name, reason="link_port")
        return event

    def _capacity_for(self, link_id: LinkId) -> float:
        configured = self.zones.link_capacity(self._name(link_id.src), self._name(link_id.dst))
        if configured is not None:
            return configured
        port = self.switches[link_id.src].ports.get(link_id.src_port)
        if port is not None and port.speed_mbps:
            return port.speed_mbps
        return self.default_capacity_mbps

    def _name(self, dpid: Dpid) -> str:
        sw = self.switches.get(dpid)
        return sw.name if sw else dpid_str(dpid)

    def _sync_edge(self, link: Link) -> None:
        self.graph_generation += 1
        lid = link.link_id
        self.graph.add_edge(
            lid.src,
            lid.dst,
            link=link,
            src_port=lid.src_port,
            dst_port=lid.dst_port,
            capacity_mbps=link.capacity_mbps,
            latency_ms=link.latency_ms,
            zone=link.zone,
        )

    def _remove_link(self, link_id: LinkId, now: float, reason: str) -> TopologyEvent:
        self.graph_generation += 1
        del self.links[link_id]
        self._former_link_ports[(link_id.src, link_id.src_port)] = (link_id.dst, now)
        self._former_link_ports[(link_id.dst, link_id.dst_port)] = (link_id.src, now)
        if self.graph.has_edge(link_id.src, link_id.dst):
            edge_link = self.graph.edges[link_id.src, link_id.dst]["link"]
            if edge_link.link_id == link_id:
                self.graph.remove_edge(link_id.src, link_id.dst)
        return self._emit(now, "link_remove", reason=reason, **link_id.to_dict())

    def expire_links(self, now: float, mono: float, timeout_s: float) -> list[TopologyEvent]:
        """Remove links whose last probe is older than ``timeout_s`` (silent link loss).

        Age is measured on the monotonic clock (``mono``); the events are stamped with ``now``.
        """
        stale = [lid for lid, link in self.links.items() if mono - link.last_seen_mono > timeout_s]
        return [self._remove_link(lid, now, "timeout") for lid in stale]

    def set_link_latency(self, link_id: LinkId, latency_ms: float, now: float) -> None:
        """Store a new one-way latency estimate (no event: it changes continuously)."""
        link = self.links.get(link_id)
        if link is None:
            return
        first = link.latency_ms is None
        link.latency_ms = latency_ms
        self._sync_edge(link)
        if first:
            self._emit(now, "link_latency", latency_ms=round(latency_ms, 3), **link_id.to_dict())

    # ---- hosts --------------------------------------------------------------------------
    def add_inventory_host(self, host: Host, now: float) -> TopologyEvent:
        """Record a host from the configured inventory (known before it talks)."""
        host.source = "inventory"
        self.hosts[host.mac] = host
        return self._emit(now, "host_add", **host.to_dict())

    def restore_learned_host(self, host: Host, now: float) -> TopologyEvent:
        """Bring back a host learned before a restart (as learned: traffic may move it)."""
        host.source = "learned"
        self.hosts[host.mac] = host
        return self._emit(now, "host_add", restored=True, **host.to_dict())

    def learn_host(
        self, mac: str, ip: str | None, dpid: Dpid, port_no: PortNo, now: float
    ) -> TopologyEvent | None:
        """Learn or move a host seen sending from an edge port; returns an event on change.

        A host is never learned on a port that carries a link, or carried one lately
        (:meth:`was_link_port`): frames arriving there come from another switch. A host
        seen sending from a different edge port has moved (``host_move``).
        """
        if dpid not in self.switches or self.is_inter_switch_port(dpid, port_no):
            return None
        if self.was_link_port(dpid, port_no, now):
            return None
        att = Attachment(dpid, port_no)
        host = self.hosts.get(mac)
        if host is None:
            name = self._free_host_name(ip, mac)
            zone = self.zones.host_zone(name, ip, mac)
            host = Host(name, mac, ip, att, zone, "learned", last_seen=now)
            self.hosts[mac] = host
            return self._emit(now, "host_add", **host.to_dict())
        host.last_seen = now
        changed = False
        if ip and host.ip != ip:
            host.ip, changed = ip, True
        if host.attachment != att:
            host.attachment, changed = att, True
        return self._emit(now, "host_move", **host.to_dict()) if changed else None

    def _free_host_name(self, ip: str | None, mac: str) -> str:
        named = self.zones.host_name_for(ip, mac)
        return named or (ip or mac)

    def find_host(self, key: str) -> Host | None:
        """Find a host by name, IP or MAC (indexed; the index heals itself on a miss)."""
        host = self.hosts.get(key.lower())
        if host is not None:
            return host
        mac = self._host_index.get(key)
        host = self.hosts.get(mac) if mac is not None else None
        if host is not None and key in (host.name, host.ip):
            return host
        self._host_index = {}
        for h in self.hosts.values():
            self._host_index.setdefault(h.name, h.mac)
            if h.ip:
                self._host_index.setdefault(h.ip, h.mac)
        mac = self._host_index.get(key)
        return self.hosts.get(mac) if mac is not None else None

    def host_by_ip(self, ip: str) -> Host | None:
        """The host with this IPv4 address, if known."""
        host = self.find_host(ip)
        return host if host is not None and host.ip == ip else None

    def edge_ports(self, dpid: Dpid) -> list[PortNo]:
        """Up ports of a switch that carry no discovered link (where hosts may be)."""
        sw = self.switches.get(dpid)
        if sw is None:
            return []
        return sorted(
            p.port_no
            for p in sw.ports.values()
            if p.up and p.port_no < 0xFFFFFF00 and not self.is_inter_switch_port(dpid, p.port_no)
        )

    # ---- views --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The ``GET /v1/topology`` document."""
        return {
            "version": self.version,
            "switches": [s.to_dict() for s in sorted(self.switches.values(), key=lambda s: s.dpid)],
            "links": [lk.to_dict() for _, lk in sorted(self.links.items())],
            "hosts": [h.to_dict() for h in sorted(self.hosts.values(), key=lambda h: h.name)],
        }


__all__ = ["DEFAULT_ZONE", "TopologyDatabase"]
