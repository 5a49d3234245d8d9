"""The frames the controller reads and writes: Ethernet, ARP, IPv4 headers, and LLDP probes.

Plain ``struct`` code, so packet handling is tested without Ryu. A discovery probe is an LLDP
frame whose chassis id names the sending switch (``dpid:<16 hex>``), whose port id carries the
port number, and whose organisation-specific TLV carries the controller's nonce and the
monotonic send time (an LLDP frame has no timestamp of its own). Only probes with the core's
nonce are believed.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from vnstitch.core.events import ArpIn, Ipv4In, OtherPacketIn, PacketIn, ProbeIn
from vnstitch.forwarding.arp import ArpPacket
from vnstitch.rules.model import ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_LLDP

LLDP_NEAREST_BRIDGE = "01:80:c2:00:00:0e"
OUI = b"\x76\x6e\x73"  # "vns": a locally chosen organisation id for our TLV
SUBTYPE_TIMESTAMP = 1
CHASSIS_LOCAL = 7  # chassis id subtype "locally assigned"
PORT_COMPONENT = 2  # port id subtype "port component"
_CHASSIS_PREFIX = b"dpid:"
_ETH = struct.Struct("!6s6sH")
_ARP = struct.Struct("!HHBBH6s4s6s4s")
_PAYLOAD = struct.Struct("!Qd")
_PORT = struct.Struct("!I")
_MIN_FRAME = 60  # without the FCS: shorter frames are padded
_VLAN_TAGS = (0x8100, 0x88A8)
ZERO_MAC = "00:00:00:00:00:00"


class FrameError(ValueError):
    """Bytes that are not the frame they claim to be."""


def mac_bytes(mac: str) -> bytes:
    """``aa:bb:cc:dd:ee:ff`` as 6 bytes."""
    raw = bytes.fromhex(mac.replace(":", ""))
    if len(raw) != 6:
        raise FrameError(f"{mac!r} is not a MAC address")
    return raw


def mac_text(raw: bytes) -> str:
    """6 bytes as ``aa:bb:cc:dd:ee:ff``."""
    return ":".join(f"{b:02x}" for b in raw)


def _ethernet(dst: str, src: str, ethertype: int, payload: bytes) -> bytes:
    frame = _ETH.pack(mac_bytes(dst), mac_bytes(src), ethertype) + payload
    return frame + b"\x00" * max(0, _MIN_FRAME - len(frame))


# ---- writing --------------------------------------------------------------------------------
def arp_frame(opcode: int, src_mac: str, src_ip: str, dst_mac: str, dst_ip: str) -> bytes:
    """An ARP frame; a request goes to broadcast with a zero target MAC."""
    target = ZERO_MAC if opcode == 1 else dst_mac
    arp = _ARP.pack(
        1,
        ETH_TYPE_IPV4,
        6,
        4,
        opcode,
        mac_bytes(src_mac),
        ipaddress.IPv4Address(src_ip).packed,
        mac_bytes(target),
        ipaddress.IPv4Address(dst_ip).packed,
    )
    return _ethernet(dst_mac, src_mac, ETH_TYPE_ARP, arp)


def _tlv(kind: int, value: bytes) -> bytes:
    return struct.pack("!H", (kind << 9) | len(value)) + value


def probe_frame(dpid: int, port: int, hw_addr: str, nonce: int, sent: float) -> bytes:
    """A discovery probe leaving ``dpid`` on ``port`` at monotonic time ``sent``."""
    tlvs = (
        _tlv(1, bytes([CHASSIS_LOCAL]) + _CHASSIS_PREFIX + f"{dpid:016x}".encode())
        + _tlv(2, bytes([PORT_COMPONENT]) + _PORT.pack(port))
        + _tlv(3, struct.pack("!H", 120))
        + _tlv(127, OUI + bytes([SUBTYPE_TIMESTAMP]) + _PAYLOAD.pack(nonce, sent))
        + _tlv(0, b"")
    )
    return _ethernet(LLDP_NEAREST_BRIDGE, hw_addr or ZERO_MAC, ETH_TYPE_LLDP, tlvs)


# ---- reading --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Ethernet:
    """An Ethernet header (VLAN tags skipped) and what follows it."""

    dst: str
    src: str
    ethertype: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Arp:
    """The fields of an IPv4-over-Ethernet ARP packet."""

    opcode: int
    src_mac: str
    src_ip: str
    dst_mac: str
    dst_ip: str


@dataclass(frozen=True, slots=True)
class Probe:
    """A decoded discovery probe: it left ``dpid`` on ``port`` at ``sent``."""

    dpid: int
    port: int
    nonce: int
    sent: float


def parse_ethernet(data: bytes) -> Ethernet | None:
    """The Ethernet header of a frame; None if it is too short."""
    if len(data) < _ETH.size:
        return None
    dst, src, ethertype = _ETH.unpack_from(data)
    offset = _ETH.size
    while ethertype in _VLAN_TAGS and len(data) >= offset + 4:
        (ethertype,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4
    return Ethernet(mac_text(dst), mac_text(src), ethertype, data[offset:])


def parse_arp(payload: bytes) -> Arp | None:
    """An ARP packet for IPv4 over Ethernet; None for anything else."""
    if len(payload) < _ARP.size:
        return None
    htype, ptype, hlen, plen, opcode, sha, spa, tha, tpa = _ARP.unpack_from(payload)
    if (htype, ptype, hlen, plen) != (1, ETH_TYPE_IPV4, 6, 4):
        return None
    ip = ipaddress.IPv4Address
    return Arp(opcode, mac_text(sha), str(ip(spa)), mac_text(tha), str(ip(tpa)))


def ipv4_source(payload: bytes) -> str | None:
    """The source address of an IPv4 header; None if it is not one."""
    if len(payload) < 20 or payload[0] >> 4 != 4:
        return None
    return str(ipaddress.IPv4Address(payload[12:16]))


def parse_probe(payload: bytes) -> Probe | None:
    """One of our probes from an LLDP payload; None for any other LLDP frame."""
    tlvs: list[tuple[int, bytes]] = []
    offset = 0
    while offset + 2 <= len(payload):
        (header,) = struct.unpack_from("!H", payload, offset)
        kind, length = header >> 9, header & 0x1FF
        value = payload[offset + 2 : offset + 2 + length]
        if kind == 0 or len(value) != length:
            break
        tlvs.append((kind, value))
        offset += 2 + length
    if len(tlvs) < 4 or tlvs[0][0] != 1 or tlvs[1][0] != 2:
        return None
    chassis, port_id = tlvs[0][1][1:], tlvs[1][1][1:]
    if not chassis.startswith(_CHASSIS_PREFIX) or len(port_id) != _PORT.size:
        return None
    for kind, value in tlvs[3:]:
        info = value[4:]
        if kind == 127 and value[:3] == OUI and value[3] == SUBTYPE_TIMESTAMP:
            if len(info) != _PAYLOAD.size:
                return None
            try:
                dpid = int(chassis[len(_CHASSIS_PREFIX) :], 16)
            except ValueError:
                return None
            nonce, sent = _PAYLOAD.unpack(info)
            (port,) = _PORT.unpack(port_id)
            return Probe(dpid, port, nonce, sent)
    return None


def decode_packet_in(ev: PacketIn) -> ProbeIn | ArpIn | Ipv4In | OtherPacketIn | None:
    """What a packet-in is to the controller: a probe, ARP, IPv4, or counted only.

    None if it is not even an Ethernet frame.
    """
    eth = parse_ethernet(ev.data)
    if eth is None:
        return None
    if eth.ethertype == ETH_TYPE_LLDP:
        probe = parse_probe(eth.payload)
        if probe is None:
            return OtherPacketIn("lldp")
        return ProbeIn(ev.dpid, ev.in_port, probe.dpid, probe.port, probe.nonce, probe.sent)
    if eth.ethertype == ETH_TYPE_ARP:
        arp = parse_arp(eth.payload)
        if arp is None:
            return OtherPacketIn("other")
        packet = ArpPacket(
            arp.opcode, arp.src_mac, arp.src_ip, arp.dst_mac, arp.dst_ip, ev.dpid, ev.in_port
        )
        return ArpIn(packet, ev.data)
    if eth.ethertype == ETH_TYPE_IPV4:
        src = ipv4_source(eth.payload)
        if src is not None:
            return Ipv4In(ev.dpid, ev.in_port, eth.src, eth.dst, src, ev.data)
    return OtherPacketIn("other")
