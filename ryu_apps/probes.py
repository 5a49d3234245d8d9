"""Timestamped LLDP discovery probes (Ryu's own LLDP carries no timestamp).

A probe is an LLDP frame whose chassis id names the sending switch, whose port id names the
port, and whose organisation-specific TLV carries the controller's nonce and the monotonic
send time. Only probes carrying this controller's nonce are believed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ryu.lib.packet import ethernet, lldp, packet

LLDP_DST = lldp.LLDP_MAC_NEAREST_BRIDGE
OUI = b"\x76\x6e\x73"  # "vns": a locally chosen organisation id for our TLV
SUBTYPE_TIMESTAMP = 1
_PAYLOAD = struct.Struct("!Qd")
_PORT = struct.Struct("!I")
_CHASSIS_PREFIX = b"dpid:"


@dataclass(frozen=True)
class Probe:
    """A decoded probe: it left ``dpid`` on ``port`` at ``sent`` (monotonic seconds)."""

    dpid: int
    port: int
    nonce: int
    sent: float


def build_probe(dpid: int, port: int, hw_addr: str, nonce: int, sent: float) -> bytes:
    """Serialise a probe frame for a packet-out on ``dpid``/``port``."""
    tlvs = [
        lldp.ChassisID(
            subtype=lldp.ChassisID.SUB_LOCALLY_ASSIGNED,
            chassis_id=_CHASSIS_PREFIX + f"{dpid:016x}".encode(),
        ),
        lldp.PortID(subtype=lldp.PortID.SUB_PORT_COMPONENT, port_id=_PORT.pack(port)),
        lldp.TTL(ttl=120),
        lldp.OrganizationallySpecific(
            oui=OUI, subtype=SUBTYPE_TIMESTAMP, info=_PAYLOAD.pack(nonce, sent)
        ),
        lldp.End(),
    ]
    pkt = packet.Packet()
    pkt.add_protocol(
        ethernet.ethernet(dst=LLDP_DST, src=hw_addr or "00:00:00:00:00:00", ethertype=0x88CC)
    )
    pkt.add_protocol(lldp.lldp(tlvs))
    pkt.serialize()
    return bytes(pkt.data)


def parse_probe(pkt: packet.Packet) -> Probe | None:
    """Decode one of our probes from a parsed packet; None for any other LLDP frame."""
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
            return Probe(dpid, port, nonce, sent)
    return None
