"""Frames the core reads and writes, checked against Ryu's own packet library."""

from __future__ import annotations

from ryu.lib.packet import arp, ethernet, ipv4, lldp, packet

from vnstitch.core.events import ArpIn, Ipv4In, OtherPacketIn, PacketIn, ProbeIn
from vnstitch.core.frames import arp_frame, decode_packet_in, probe_frame

MAC_A, MAC_B = "00:00:00:00:00:0a", "00:00:00:00:00:0b"


def _ryu_arp(opcode: int, dst_mac: str) -> bytes:
    pkt = packet.Packet()
    pkt.add_protocol(ethernet.ethernet(dst=dst_mac, src=MAC_A, ethertype=0x0806))
    target = "00:00:00:00:00:00" if opcode == arp.ARP_REQUEST else dst_mac
    pkt.add_protocol(
        arp.arp(opcode=opcode, src_mac=MAC_A, src_ip="10.0.0.1", dst_mac=target, dst_ip="10.0.0.2")
    )
    pkt.serialize()
    return bytes(pkt.data)


def test_arp_frames_are_byte_for_byte_what_ryu_builds() -> None:
    request = arp_frame(1, MAC_A, "10.0.0.1", "ff:ff:ff:ff:ff:ff", "10.0.0.2")
    assert request == _ryu_arp(arp.ARP_REQUEST, "ff:ff:ff:ff:ff:ff")
    assert arp_frame(2, MAC_A, "10.0.0.1", MAC_B, "10.0.0.2") == _ryu_arp(arp.ARP_REPLY, MAC_B)


def test_a_probe_reads_back_and_ryu_sees_valid_lldp() -> None:
    frame = probe_frame(0x1F, 7, MAC_A, nonce=99, sent=123.25)
    decoded = decode_packet_in(PacketIn(2, 3, frame))
    assert decoded == ProbeIn(2, 3, 0x1F, 7, 99, 123.25)
    tlvs = packet.Packet(frame).get_protocol(lldp.lldp).tlvs
    assert isinstance(tlvs[0], lldp.ChassisID) and tlvs[0].chassis_id == b"dpid:000000000000001f"
    assert isinstance(tlvs[2], lldp.TTL) and tlvs[2].ttl == 120
    assert isinstance(tlvs[-1], lldp.End)


def test_foreign_lldp_is_only_counted() -> None:
    pkt = packet.Packet()
    pkt.add_protocol(
        ethernet.ethernet(dst=lldp.LLDP_MAC_NEAREST_BRIDGE, src=MAC_A, ethertype=0x88CC)
    )
    tlvs = [
        lldp.ChassisID(subtype=lldp.ChassisID.SUB_MAC_ADDRESS, chassis_id=b"\x00" * 6),
        lldp.PortID(subtype=lldp.PortID.SUB_INTERFACE_NAME, port_id=b"eth0"),
        lldp.TTL(ttl=120),
        lldp.End(),
    ]
    pkt.add_protocol(lldp.lldp(tlvs))
    pkt.serialize()
    assert decode_packet_in(PacketIn(1, 1, bytes(pkt.data))) == OtherPacketIn("lldp")


def test_arp_and_ipv4_packet_ins_are_decoded() -> None:
    request = _ryu_arp(arp.ARP_REQUEST, "ff:ff:ff:ff:ff:ff")
    decoded = decode_packet_in(PacketIn(4, 1, request))
    assert isinstance(decoded, ArpIn)
    assert (decoded.packet.opcode, decoded.packet.src_ip, decoded.packet.dst_ip) == (
        1,
        "10.0.0.1",
        "10.0.0.2",
    )
    pkt = packet.Packet()
    pkt.add_protocol(ethernet.ethernet(dst=MAC_B, src=MAC_A, ethertype=0x0800))
    pkt.add_protocol(ipv4.ipv4(src="10.0.0.1", dst="10.0.0.2", proto=17))
    pkt.serialize()
    ip_in = decode_packet_in(PacketIn(4, 1, bytes(pkt.data)))
    assert ip_in == Ipv4In(4, 1, MAC_A, MAC_B, "10.0.0.1", bytes(pkt.data))


def test_garbage_is_not_a_frame_and_ipv6_is_other() -> None:
    assert decode_packet_in(PacketIn(1, 1, b"\x01\x02")) is None
    ipv6 = bytes.fromhex("333300000001") + bytes.fromhex(MAC_A.replace(":", "")) + b"\x86\xdd"
    assert decode_packet_in(PacketIn(1, 1, ipv6 + b"\x00" * 40)) == OtherPacketIn("other")
