"""Value types of the network topology database (NTD): switches, ports, links, hosts.

Times held here are wall-clock seconds since the epoch (what users see, rendered in RFC 3339 by
``to_dict``), except ``Link.last_seen_mono``: the monotonic reading that link expiry compares,
so that setting the wall clock never expires (or keeps) a link. It never leaves the process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vnstitch.clock import rfc3339, rfc3339_or_none

Dpid = int
PortNo = int

DEFAULT_ZONE = "default"


def dpid_str(dpid: Dpid) -> str:
    """Format a datapath id the way ovs-ofctl shows it (16 hex digits)."""
    return f"{dpid:016x}"


@dataclass(frozen=True, order=True)
class LinkId:
    """A directed switch-to-switch link: leaves ``src`` on ``src_port``, enters ``dst``."""

    src: Dpid
    src_port: PortNo
    dst: Dpid
    dst_port: PortNo

    def reverse(self) -> LinkId:
        """The same cable in the other direction."""
        return LinkId(self.dst, self.dst_port, self.src, self.src_port)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "src": dpid_str(self.src),
            "src_port": self.src_port,
            "dst": dpid_str(self.dst),
            "dst_port": self.dst_port,
        }


@dataclass(frozen=True)
class Attachment:
    """Where a host is plugged in: a switch port."""

    dpid: Dpid
    port: PortNo


@dataclass
class Port:
    """A switch port as the switch reported it."""

    port_no: PortNo
    name: str = ""
    hw_addr: str = ""
    up: bool = True
    speed_mbps: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "port_no": self.port_no,
            "name": self.name,
            "hw_addr": self.hw_addr,
            "up": self.up,
            "speed_mbps": self.speed_mbps,
        }


@dataclass
class Switch:
    """A connected OpenFlow switch."""

    dpid: Dpid
    name: str
    zone: str = DEFAULT_ZONE
    ports: dict[PortNo, Port] = field(default_factory=dict)
    connected_at: float = 0.0  # wall clock
    location: tuple[float, float] | None = None  # configured (latitude, longitude)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        lat, lon = self.location if self.location is not None else (None, None)
        return {
            "dpid": dpid_str(self.dpid),
            "name": self.name,
            "zone": self.zone,
            "latitude": lat,
            "longitude": lon,
            "ports": [p.to_dict() for p in sorted(self.ports.values(), key=lambda p: p.port_no)],
            "connected_at": rfc3339(self.connected_at),
        }


@dataclass
class Link:
    """A discovered directed link with its capacity, measured one-way latency and zone."""

    link_id: LinkId
    capacity_mbps: float
    latency_ms: float | None = None
    zone: str = DEFAULT_ZONE
    last_seen: float = 0.0  # wall clock, shown to users
    last_seen_mono: float = 0.0  # monotonic, for expiry only; never shown

    def to_dict(self) -> dict[str, Any]:
        """JSON form; latency is null while unmeasured (never 0)."""
        out = self.link_id.to_dict()
        out.update(
            {
                "capacity_mbps": self.capacity_mbps,
                "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 3),
                "zone": self.zone,
                "last_seen": rfc3339(self.last_seen),
            }
        )
        return out


@dataclass
class Host:
    """An end host (VM, container) known by inventory or learned from its packets."""

    name: str
    mac: str
    ip: str | None = None
    attachment: Attachment | None = None
    zone: str = DEFAULT_ZONE
    source: str = "learned"
    cpu: float = 0.0
    memory_mb: float = 0.0
    storage_gb: float = 0.0
    last_seen: float | None = None  # wall clock; None until the host sends a packet

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        att = self.attachment
        return {
            "name": self.name,
            "mac": self.mac,
            "ip": self.ip,
            "zone": self.zone,
            "source": self.source,
            "attachment": None if att is None else {"dpid": dpid_str(att.dpid), "port": att.port},
            "last_seen": rfc3339_or_none(self.last_seen),
        }


@dataclass(frozen=True)
class TopologyEvent:
    """One versioned change of the topology; later parts subscribe to these."""

    version: int
    time: float  # wall clock
    kind: str
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "version": self.version,
            "time": rfc3339(self.time),
            "kind": self.kind,
            **self.detail,
        }
