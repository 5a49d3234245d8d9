"""Packets the controller builds or reads: ARP frames, and flow matches as switches report them."""

from __future__ import annotations

from typing import Any

from ryu.lib.packet import arp, ethernet, packet

from vnstitch.rules.model import Match

BROADCAST = "ff:ff:ff:ff:ff:ff"


_MATCH_FIELDS = set(Match.__dataclass_fields__)


def match_from_ofp(ofp_match: Any) -> Match:
    """The Match a switch reports, in our data form (fields we never set are ignored)."""
    fields = {k: v for k, v in ofp_match.items() if k in _MATCH_FIELDS}
    return Match(**fields)


def arp_packet(opcode: int, src_mac: str, src_ip: str, dst_mac: str, dst_ip: str) -> bytes:
    """An ARP frame; a request has a broadcast Ethernet destination and a zero target MAC."""
    pkt = packet.Packet()
    pkt.add_protocol(ethernet.ethernet(dst=dst_mac, src=src_mac, ethertype=0x0806))
    target_mac = "00:00:00:00:00:00" if opcode == arp.ARP_REQUEST else dst_mac
    pkt.add_protocol(
        arp.arp(opcode=opcode, src_mac=src_mac, src_ip=src_ip, dst_mac=target_mac, dst_ip=dst_ip)
    )
    pkt.serialize()
    return bytes(pkt.data)


def arp_reply(src_mac: str, src_ip: str, dst_mac: str, dst_ip: str) -> bytes:
    """The controller's answer to a host's ARP request."""
    return arp_packet(arp.ARP_REPLY, src_mac, src_ip, dst_mac, dst_ip)
