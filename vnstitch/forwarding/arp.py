"""What the controller does with an ARP packet it received; the adapter builds the packets.

No ARP is flooded by switches: the controller answers requests for hosts it knows, emits
requests for unknown targets once at every edge port (``FloodDomain.edge_targets``) so the target
answers and is learned, and delivers replies to the asker's port. The adapter learns the sender
(``TopologyDatabase.learn_host``) before asking for a decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from topology.model import Attachment, Dpid, PortNo

ARP_REQUEST = 1
ARP_REPLY = 2


@dataclass(frozen=True)
class ArpPacket:
    """The fields of an ARP packet that matter, and where it entered the network."""

    opcode: int
    src_mac: str
    src_ip: str
    dst_mac: str
    dst_ip: str
    dpid: Dpid
    in_port: PortNo


@dataclass(frozen=True)
class Reply:
    """Answer the request at its ingress port: ``dst_ip`` is at ``mac``."""

    mac: str


@dataclass(frozen=True)
class Flood:
    """Emit the request at every edge port but its ingress port."""


@dataclass(frozen=True)
class Deliver:
    """Send the reply out of ``attachment``, where its destination host is."""

    attachment: Attachment


@dataclass(frozen=True)
class Drop:
    """Do nothing with the packet, for ``reason``."""

    reason: str


ArpDecision = Reply | Flood | Deliver | Drop
MacForIp = Callable[[str], str | None]
AttachmentForMac = Callable[[str], Attachment | None]
Isolated = Callable[[str, str], bool]


def _never(_a: str, _b: str) -> bool:
    return False


def arp_decision(
    packet: ArpPacket,
    from_edge_port: bool,
    mac_for_ip: MacForIp,
    attachment_for_mac: AttachmentForMac,
    isolated: Isolated = _never,
) -> ArpDecision:
    """Decide from the host table what to do with one ARP packet the controller received.

    ``isolated(mac_a, mac_b)`` names pairs that must not learn each other: no answer, no
    delivery across an isolation.
    """
    if not from_edge_port:
        return Drop("arrived on an inter-switch port")
    if packet.opcode == ARP_REQUEST:
        decision = _request_decision(packet, mac_for_ip)
        if isinstance(decision, Reply) and isolated(packet.src_mac, decision.mac):
            return Drop("isolated by an intent")
        return decision
    if packet.opcode == ARP_REPLY:
        if isolated(packet.src_mac, packet.dst_mac):
            return Drop("isolated by an intent")
        where = attachment_for_mac(packet.dst_mac)
        if where is None:
            return Drop("reply to an unknown host")
        if where == Attachment(packet.dpid, packet.in_port):
            return Drop("reply to a host on its own ingress port")
        return Deliver(where)
    return Drop(f"unknown ARP opcode {packet.opcode}")


def _request_decision(packet: ArpPacket, mac_for_ip: MacForIp) -> ArpDecision:
    if packet.src_ip == packet.dst_ip:
        return Drop("gratuitous ARP: sender learned, nothing to answer")
    known = mac_for_ip(packet.dst_ip)
    if known is None:
        return Flood()
    if known == packet.src_mac:
        return Drop("asks for its own address")
    return Reply(known)
