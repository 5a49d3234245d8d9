"""The packets a verification traces: concrete headers, with wildcards where a class is meant.

A reservation that carries "all IPv4 from A to B" is a class of packets, not one packet. Its
header fixes what the reservation's match fixes and leaves the rest as :data:`ANY` (the IP
protocol, L4 ports, DSCP/ECN). A table entry that names such a field (say a foreign drop of
``tcp`` from A) catches part of the class only; the tracer then splits the class there, in the
spirit of header-space analysis, and follows both parts (see ``vnstitch.verify.trace``).

Field names are OXM names (as in ``vnstitch.rules.model.Match`` and Ryu's ``OFPMatch``); MACs
are lower case, IPv4 addresses dotted strings. ``in_port`` is set by the tracer at every hop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from vnstitch.rules.model import (
    ARP_REPLY,
    ARP_REQUEST,
    BROADCAST_MAC,
    ETH_TYPE_ARP,
    ETH_TYPE_IPV4,
    IP_PROTO_TCP,
    IP_PROTO_UDP,
    Match,
)

IP_PROTO_ICMP = 1
IP_PROTO_SCTP = 132
OFPVID_NONE = 0  # vlan_vid of an untagged frame, as OpenFlow 1.3 matches it

MAC_FIELDS = frozenset({"eth_src", "eth_dst", "arp_sha", "arp_tha"})
L4_FIELDS: Final = {
    IP_PROTO_TCP: ("tcp_src", "tcp_dst"),
    IP_PROTO_UDP: ("udp_src", "udp_dst"),
    IP_PROTO_ICMP: ("icmpv4_type", "icmpv4_code"),
    IP_PROTO_SCTP: ("sctp_src", "sctp_dst"),
}
IP_CLASS_FIELDS = ("ip_dscp", "ip_ecn")  # every IPv4 packet has them; reservations never fix them


class _Any:
    """The wildcard: this header field may hold any value (one instance, :data:`ANY`)."""

    def __repr__(self) -> str:
        return "*"


ANY: Final = _Any()

Profile = tuple[frozenset[str], frozenset[str], Any]  # (fields present, fields ANY, eth_type)


class Packet:
    """A packet header (or a class of them): OXM field -> value or :data:`ANY`.

    ``profile`` (which fields it has, which are wildcards, its eth_type) is what table lookups
    cache their plans by; it is recomputed whenever a field is added, fixed or rewritten.
    ``fields`` is owned by the packet: the tracer writes ``in_port`` into it at every hop.
    """

    __slots__ = ("fields", "profile")

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self.fields: dict[str, Any] = {k: _norm(k, v) for k, v in fields.items()}
        self.fields.setdefault("in_port", 0)
        self.profile: Profile = _profile(self.fields)

    def with_fields(self, changes: Mapping[str, Any]) -> Packet:
        """A copy with ``changes`` written (set-field, or a wildcard fixed by a split)."""
        return Packet({**self.fields, **changes})

    def clone(self) -> Packet:
        """An independent copy (same profile, so no recomputation)."""
        twin = Packet.__new__(Packet)
        twin.fields = dict(self.fields)
        twin.profile = self.profile
        return twin

    @property
    def wildcards(self) -> frozenset[str]:
        """The fields left as ANY."""
        return self.profile[1]

    def header(self) -> dict[str, Any]:
        """The concrete fields (no in_port), for reports."""
        return {k: v for k, v in self.fields.items() if v is not ANY and k != "in_port"}

    def __repr__(self) -> str:
        return f"Packet({self.fields!r})"


def _norm(name: str, value: Any) -> Any:
    return value.lower() if name in MAC_FIELDS and isinstance(value, str) else value


def _profile(fields: dict[str, Any]) -> Profile:
    wild = frozenset(k for k, v in fields.items() if v is ANY)
    return (frozenset(fields), wild, fields.get("eth_type"))


def ip_class(ip_proto: int | None, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """The IPv4 fields a class leaves open: DSCP/ECN, and the protocol and ports not fixed."""
    out: dict[str, Any] = {f: ANY for f in IP_CLASS_FIELDS}
    if ip_proto is None:
        out["ip_proto"] = ANY
        for names in L4_FIELDS.values():
            out.update(dict.fromkeys(names, ANY))
    else:
        out["ip_proto"] = ip_proto
        out.update(dict.fromkeys(L4_FIELDS.get(ip_proto, ()), ANY))
    out.update(fixed)
    return out


def packet_of_match(match: Match, eth_src: str, eth_dst: str) -> Packet:
    """Every packet ``match`` carries, as the host ``eth_src`` sends it to ``eth_dst``.

    Fields the match fixes are concrete; IPv4 fields it leaves open are ANY.
    """
    fixed = match.to_dict()
    fixed.pop("in_port", None)
    base: dict[str, Any] = {"eth_src": eth_src, "eth_dst": eth_dst, "vlan_vid": OFPVID_NONE}
    if fixed.get("eth_type") == ETH_TYPE_IPV4:
        base.update(ip_class(fixed.get("ip_proto"), fixed))
    base.update(fixed)
    return Packet(base)


def ipv4_packet(eth_src: str, eth_dst: str, ip_src: str, ip_dst: str) -> Packet:
    """Any IPv4 packet from one host to another (protocol, ports, DSCP left open)."""
    match = Match(eth_type=ETH_TYPE_IPV4, ipv4_src=ip_src, ipv4_dst=ip_dst)
    return packet_of_match(match, eth_src, eth_dst)


def arp_request(eth_src: str, ip_src: str, ip_dst: str) -> Packet:
    """The broadcast ARP request a host sends to resolve ``ip_dst``."""
    return Packet(
        {
            "eth_src": eth_src,
            "eth_dst": BROADCAST_MAC,
            "vlan_vid": OFPVID_NONE,
            "eth_type": ETH_TYPE_ARP,
            "arp_op": ARP_REQUEST,
            "arp_sha": eth_src,
            "arp_spa": ip_src,
            "arp_tha": "00:00:00:00:00:00",
            "arp_tpa": ip_dst,
        }
    )


def arp_reply(eth_src: str, ip_src: str, eth_dst: str, ip_dst: str) -> Packet:
    """The unicast ARP reply (or a unicast request refreshing a cache) sent to a known host."""
    return Packet(
        {
            "eth_src": eth_src,
            "eth_dst": eth_dst,
            "vlan_vid": OFPVID_NONE,
            "eth_type": ETH_TYPE_ARP,
            "arp_op": ARP_REPLY,
            "arp_sha": eth_src,
            "arp_spa": ip_src,
            "arp_tha": eth_dst,
            "arp_tpa": ip_dst,
        }
    )
