"""Frames the controller builds or reads: ARP, and timestamped LLDP discovery probes.

Ryu's own LLDP carries no timestamp. A probe is an LLDP frame whose chassis id names the sending
switch, whose port id names the port, and whose organisation-specific TLV carries the
controller's nonce and the monotonic send time. The core believes only probes with its nonce.
"""

from __future__ import annotations

import struct

from ryu.lib.packet import arp, ethernet, lldp, packet

from vnstitch.core.actions import ArpFrame, ProbeFrame

OUI = b"\x76\x6e\x73"  # "vns": a locally chosen organisation id for our TLV
SUBTYPE_TIMESTAMP = 1
_PAYLOAD = struct.Struct("!Qd")
_PORT = struct.Struct("!I")
_CHASSIS_PREFIX = b"dpid:"


def arp_frame(frame: ArpFrame) -> bytes:
    """An ARP frame; a request has a broadcast Ethernet destination and a zero target MAC."""
    pkt = packet.Packet()
    pkt.add_protocol(ethernet.ethernet(dst=frame.dst_mac, src=frame.src_mac, ethertype=0x0806))
    request = frame.opcode == arp.ARP_REQUEST
    target_mac = "00:00:00:00:00:00" if request else frame.dst_mac
    pkt.add_protocol(
        arp.arp(
            opcode=frame.opcode,
            src_mac=frame.src_mac,
            src_ip=frame.src_ip,
            dst_mac=target_mac,
            dst_ip=frame.dst_ip,
        )
    )
    pkt.serialize()
    return bytes(pkt.data)


def probe_frame(frame: ProbeFrame) -> bytes:
    """Serialise a probe for a packet-out on ``frame.dpid``/``frame.port``."""
    tlvs = [
        lldp.ChassisID(
            subtype=lldp.ChassisID.SUB_LOCALLY_ASSIGNED,
            chassis_id=_CHASSIS_PREFIX + f"{frame.dpid:016x}".encode(),
        ),
        lldp.PortID(subtype=lldp.PortID.SUB_PORT_COMPONENT, port_id=_PORT.pack(frame.port)),
        lldp.TTL(ttl=120),
        lldp.OrganizationallySpecific(
            oui=OUI, subtype=SUBTYPE_TIMESTAMP, info=_PAYLOAD.pack(frame.nonce, frame.sent_mono)
        ),
        lldp.End(),
    ]
    pkt = packet.Packet()
    src = frame.hw_addr or "00:00:00:00:00:00"
    pkt.add_protocol(ethernet.ethernet(dst=lldp.LLDP_MAC_NEAREST_BRIDGE, src=src, ethertype=0x88CC))
    pkt.add_protocol(lldp.lldp(tlvs))
    pkt.serialize()
    return bytes(pkt.data)


def parse_probe(pkt: packet.Packet) -> tuple[int, int, int, float] | None:
    """(dpid, port, nonce, sent) of one of our probes; None for any other LLDP frame."""
    lldp_pkt = pkt.get_protocol(lldp.lldp)
    if lldp_pkt is None or len(lldp_pkt.tlvs) < 4:
        return None
    chassis, port_tlv = lldp_pkt.tlvs[0], lldp_pkt.tlvs[1]
    if not isinstance(chassis, lldp.ChassisID) or not isinstance(port_tlv, lldp.PortID):
        return None
    if not chassis.chassis_id.startswith(_CHASSIS_PREFIX) or len(port_tlv.port_id) != 4:
        return None
    for tlv in lldp_pkt.tlvs[3:]:
        if (
            isinstance(tlv, lldp.OrganizationallySpecific)
            and tlv.oui == OUI
            and tlv.subtype == SUBTYPE_TIMESTAMP
            and len(tlv.info) == _PAYLOAD.size
        ):
            try:
                dpid = int(chassis.chassis_id[len(_CHASSIS_PREFIX) :], 16)
            except ValueError:
                return None
            nonce, sent = _PAYLOAD.unpack(tlv.info)
            (port,) = _PORT.unpack(port_tlv.port_id)
            return dpid, port, nonce, sent
    return None
