"""Flow rules, meters and groups as plain, hashable data; the Ryu adapter turns them into messages.

The same types describe what a switch reports back (flow, meter and group stats), so the
data-plane verifier (``vnstitch.verify``) reads planned and observed tables alike.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

ETH_TYPE_IPV4 = 0x0800
ETH_TYPE_ARP = 0x0806
ETH_TYPE_LLDP = 0x88CC
ETH_TYPE_IPV6 = 0x86DD
ARP_REQUEST = 1
ARP_REPLY = 2
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
IP_PROTO_TCP = 6
IP_PROTO_UDP = 17

PORT_CONTROLLER = 0xFFFFFFFD
PORT_IN_PORT = 0xFFFFFFF8


@dataclass(frozen=True, slots=True)
class Match:
    """An OpenFlow 1.3 match; ``None`` fields are wildcards. Names follow OXM (ryu OFPMatch)."""

    in_port: int | None = None
    eth_type: int | None = None
    eth_src: str | None = None
    eth_dst: str | None = None
    ipv4_src: str | None = None
    ipv4_dst: str | None = None
    ip_proto: int | None = None
    tcp_src: int | None = None
    tcp_dst: int | None = None
    udp_src: int | None = None
    udp_dst: int | None = None
    arp_op: int | None = None
    arp_spa: str | None = None
    arp_tpa: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The set fields, as keyword arguments for ``OFPMatch``."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }

    def matches(self, packet: dict[str, Any]) -> bool:
        """True if a packet (a dict of header fields, plus ``in_port``) matches."""
        return all(packet.get(k) == v for k, v in self.to_dict().items())


@dataclass(frozen=True, slots=True)
class Output:
    """Send the packet out of ``port`` (a port number or PORT_CONTROLLER / PORT_IN_PORT)."""

    port: int


@dataclass(frozen=True, slots=True)
class SetField:
    """Rewrite one header field (OXM name, as in ``Match``) before the outputs that follow."""

    field: str
    value: int | str


@dataclass(frozen=True, slots=True)
class Group:
    """Process the packet through group ``group_id`` of the same switch."""

    group_id: int


Action = Output | SetField | Group


@dataclass(frozen=True, slots=True)
class UnknownAction:
    """An action a switch reported that the model does not interpret (e.g. push_vlan).

    Never planned; it exists so a reported entry keeps everything it does, and a trace that
    meets it says so instead of guessing.
    """

    name: str


ReportedAction = Action | UnknownAction


@dataclass(frozen=True, slots=True)
class FlowRule:
    """One flow entry for switch ``dpid``. No actions means drop."""

    dpid: int
    priority: int
    match: Match
    actions: tuple[Action, ...] = ()
    cookie: int = 0
    meter_id: int | None = None
    table_id: int = 0
    idle_timeout: int = 0
    hard_timeout: int = 0

    @property
    def key(self) -> tuple[int, int, int, Match]:
        """What identifies the entry in a switch's table (OpenFlow: table, priority, match)."""
        return (self.dpid, self.table_id, self.priority, self.match)

    def out_ports(self) -> list[int]:
        """Ports this rule outputs to."""
        return [a.port for a in self.actions if isinstance(a, Output)]


@dataclass(frozen=True, slots=True)
class MeterSpec:
    """A drop-band meter on switch ``dpid``: at most ``rate_kbps`` with ``burst_kb`` burst."""

    dpid: int
    meter_id: int
    rate_kbps: int
    burst_kb: int
    cookie: int = 0


class GroupKind(StrEnum):
    """OpenFlow 1.3 group types."""

    ALL = "all"  # every bucket gets a copy
    SELECT = "select"  # one bucket, chosen by the switch (hash)
    INDIRECT = "indirect"  # the single bucket
    FAST_FAILOVER = "ff"  # the first bucket whose watched port (or group) is live


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bucket of a group: its action set, and what a fast-failover group watches."""

    actions: tuple[ReportedAction, ...]
    watch_port: int | None = None  # None: OFPP_ANY (nothing watched)
    watch_group: int | None = None  # None: OFPG_ANY
    weight: int = 0


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """A group entry of switch ``dpid``."""

    dpid: int
    group_id: int
    kind: GroupKind
    buckets: tuple[Bucket, ...]
