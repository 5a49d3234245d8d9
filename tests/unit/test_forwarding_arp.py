"""The controller answers ARP from its host table and never lets switches flood it."""

from __future__ import annotations

from topology.model import Attachment
from vnstitch.forwarding.arp import (
    ARP_REPLY,
    ARP_REQUEST,
    ArpPacket,
    Deliver,
    Drop,
    Flood,
    Reply,
    arp_decision,
)

MACS = {"10.0.0.1": "00:00:00:00:00:01", "10.0.0.2": "00:00:00:00:00:02"}
WHERE = {"00:00:00:00:00:01": Attachment(1, 1), "00:00:00:00:00:02": Attachment(2, 1)}


def request(dst_ip: str, src_ip: str = "10.0.0.1", src_mac: str = "00:00:00:00:00:01") -> ArpPacket:
    return ArpPacket(ARP_REQUEST, src_mac, src_ip, "00:00:00:00:00:00", dst_ip, 1, 1)


def reply(dst_mac: str, dpid: int = 2, in_port: int = 1) -> ArpPacket:
    return ArpPacket(ARP_REPLY, "00:00:00:00:00:02", "10.0.0.2", dst_mac, "10.0.0.1", dpid, in_port)


def decide(packet: ArpPacket, from_edge_port: bool = True) -> object:
    return arp_decision(packet, from_edge_port, MACS.get, WHERE.get)


def test_known_target_is_answered_by_the_controller() -> None:
    assert decide(request("10.0.0.2")) == Reply("00:00:00:00:00:02")


def test_unknown_target_is_asked_at_the_edges() -> None:
    assert decide(request("10.0.0.99")) == Flood()


def test_packets_from_inter_switch_ports_are_ignored() -> None:
    assert isinstance(decide(request("10.0.0.2"), from_edge_port=False), Drop)
    assert isinstance(decide(reply("00:00:00:00:00:01"), from_edge_port=False), Drop)


def test_gratuitous_and_self_requests_are_not_answered() -> None:
    assert isinstance(decide(request("10.0.0.1")), Drop)
    probe = request("10.0.0.1", src_ip="0.0.0.0")  # address probe by the owner itself
    assert isinstance(decide(probe), Drop)


def test_replies_are_delivered_to_the_asker() -> None:
    assert decide(reply("00:00:00:00:00:01")) == Deliver(Attachment(1, 1))
    assert isinstance(decide(reply("00:00:00:00:00:77")), Drop)
    assert isinstance(decide(reply("00:00:00:00:00:02", dpid=2, in_port=1)), Drop)


def test_other_opcodes_are_dropped() -> None:
    odd = ArpPacket(3, "00:00:00:00:00:01", "10.0.0.1", "", "10.0.0.2", 1, 1)
    assert isinstance(decide(odd), Drop)


def test_no_answer_and_no_delivery_across_an_isolation() -> None:
    from topology.model import Attachment
    from vnstitch.forwarding.arp import ArpPacket, Drop, Reply, arp_decision

    macs = {"10.0.0.4": "00:00:00:00:00:04"}
    atts = {"00:00:00:00:00:01": Attachment(1, 1)}
    walled = {frozenset(("00:00:00:00:00:01", "00:00:00:00:00:04"))}

    def isolated(a: str, b: str) -> bool:
        return frozenset((a, b)) in walled

    req = ArpPacket(1, "00:00:00:00:00:01", "10.0.0.1", "00:00:00:00:00:00", "10.0.0.4", 1, 1)
    assert isinstance(arp_decision(req, True, macs.get, atts.get), Reply)
    assert isinstance(arp_decision(req, True, macs.get, atts.get, isolated), Drop)
    rep = ArpPacket(2, "00:00:00:00:00:04", "10.0.0.4", "00:00:00:00:00:01", "10.0.0.1", 4, 1)
    assert isinstance(arp_decision(rep, True, macs.get, atts.get, isolated), Drop)
