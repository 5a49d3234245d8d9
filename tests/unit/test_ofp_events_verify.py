"""The adapter turns Ryu's flow, meter-config and group-desc stats into plain data.

Each reply body is built as bytes and parsed by Ryu 4.34's own parser, so the translation is
checked against exactly what a switch's reply becomes in the app.
"""

from __future__ import annotations

import struct
from typing import Any

from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_v1_3_parser as parser

from ryu_apps.ofp_events import flow_counters, group_descs, meter_configs
from vnstitch.core.events import MeterBand, MeterConfig
from vnstitch.rules.model import Bucket, Group, GroupKind, Output, SetField, UnknownAction
from vnstitch.verify.outcomes import OutcomeKind
from vnstitch.verify.packets import Packet
from vnstitch.verify.tables import ObservedNetwork
from vnstitch.verify.trace import trace


def _flow_stats(match: Any, instructions: list[Any], priority: int = 30000) -> Any:
    body = bytearray()
    match_len = match.serialize(body, 0)
    body += bytes(-len(body) % 8)
    assert match_len <= len(body)
    for inst in instructions:
        offset = len(body)
        body += bytes(64)
        inst.serialize(body, offset)
        del body[offset + inst.len :]
    length = ofp.OFP_FLOW_STATS_0_SIZE + len(body)
    head = struct.pack(
        ofp.OFP_FLOW_STATS_0_PACK_STR, length, 0, 7, 500_000_000, priority, 0, 0, 0,
        0x2100000000070000, 3, 1500,
    )  # fmt: skip
    return parser.OFPFlowStats.parser(bytes(head) + bytes(body), 0)


def test_a_flow_entry_keeps_its_match_meter_and_actions() -> None:
    match = parser.OFPMatch(
        in_port=1, eth_type=0x0800, ipv4_src="10.0.0.1", ipv4_dst=("10.0.0.0", "255.255.255.0")
    )
    actions = [
        parser.OFPActionSetField(eth_dst="00:00:00:00:00:04"),
        parser.OFPActionOutput(2),
        parser.OFPActionGroup(5),
        parser.OFPActionPushVlan(0x8100),
    ]
    stat = _flow_stats(
        match,
        [
            parser.OFPInstructionMeter(3, ofp.OFPIT_METER),
            parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions),
            parser.OFPInstructionActions(ofp.OFPIT_WRITE_ACTIONS, [parser.OFPActionOutput(9)]),
            parser.OFPInstructionGotoTable(1),
            parser.OFPInstructionWriteMetadata(1, 1),
        ],
    )
    flow = flow_counters(stat)
    assert (flow.priority, flow.cookie, flow.byte_count) == (30000, 0x2100000000070000, 1500)
    assert flow.duration_s == 7.5
    assert flow.match == {
        "in_port": 1,
        "eth_type": 0x0800,
        "ipv4_src": "10.0.0.1",
        "ipv4_dst": ("10.0.0.0", "255.255.255.0"),
    }
    assert flow.meter_id == 3
    assert flow.actions == (
        SetField("eth_dst", "00:00:00:00:00:04"),
        Output(2),
        Group(5),
        UnknownAction("push_vlan"),
    )
    assert flow.write_actions == (Output(9),)
    assert flow.goto_table == 1
    assert flow.other_instructions == ("write_metadata",)


def test_a_drop_entry_has_no_actions() -> None:
    flow = flow_counters(_flow_stats(parser.OFPMatch(eth_type=0x86DD), [], priority=10))
    assert flow.actions == () and flow.meter_id is None and flow.goto_table is None


def test_meter_configs_give_each_band_and_the_rate_that_holds() -> None:
    bands = [
        parser.OFPMeterBandDrop(rate=5600, burst_size=1120),
        parser.OFPMeterBandDscpRemark(rate=4000, burst_size=800, prec_level=1),
    ]
    body = bytearray(ofp.OFP_METER_CONFIG_SIZE)
    for band in bands:
        offset = len(body)
        body += bytes(band.len)
        band.serialize(body, offset)
    flags = ofp.OFPMF_KBPS | ofp.OFPMF_BURST
    struct.pack_into(ofp.OFP_METER_CONFIG_PACK_STR, body, 0, len(body), flags, 7)
    stat = parser.OFPMeterConfigStats.parser(bytes(body), 0)
    reply = meter_configs(1, [stat])
    assert reply.dpid == 1
    (meter,) = reply.meters
    assert meter == MeterConfig(
        7, (MeterBand("drop", 5600, 1120), MeterBand("dscp_remark", 4000, 800)), False
    )
    assert (meter.rate_kbps, meter.burst_kb) == (5600, 1120)
    pps = MeterConfig(8, (MeterBand("drop", 100, 10),), per_packet=True)
    assert pps.rate_kbps is None


def test_group_descs_keep_type_buckets_and_watch_ports() -> None:
    buckets = [
        parser.OFPBucket(0, 2, ofp.OFPG_ANY, [parser.OFPActionOutput(2)]),
        parser.OFPBucket(0, 3, ofp.OFPG_ANY, [parser.OFPActionOutput(3)]),
        parser.OFPBucket(0, ofp.OFPP_ANY, 4, [parser.OFPActionGroup(4)]),
    ]
    body = bytearray(ofp.OFP_GROUP_DESC_STATS_SIZE)
    for bucket in buckets:
        offset = len(body)
        body += bytes(64)
        bucket.serialize(body, offset)
        del body[offset + bucket.len :]
    struct.pack_into(ofp.OFP_GROUP_DESC_STATS_PACK_STR, body, 0, len(body), ofp.OFPGT_FF, 9)
    stat = parser.OFPGroupDescStats.parser(bytes(body), 0)
    (group,) = group_descs(4, [stat]).groups
    assert (group.dpid, group.group_id, group.kind) == (4, 9, GroupKind.FAST_FAILOVER)
    assert group.buckets == (
        Bucket((Output(2),), 2, None, 0),
        Bucket((Output(3),), 3, None, 0),
        Bucket((Group(4),), None, 4, 0),
    )


def test_translated_reports_load_into_the_verifier() -> None:
    match = parser.OFPMatch(in_port=1, eth_type=0x0800, ipv4_dst="10.0.0.4")
    apply = parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, [parser.OFPActionOutput(2)])
    meter = parser.OFPInstructionMeter(3, ofp.OFPIT_METER)
    net = ObservedNetwork()
    net.set_flows(1, [flow_counters(_flow_stats(match, [meter, apply]))])
    net.set_meters(1, [MeterConfig(3, (MeterBand("drop", 5600, 1120),))])
    packet = Packet({"eth_type": 0x0800, "ipv4_src": "10.0.0.1", "ipv4_dst": "10.0.0.4"})
    branch = trace(net, 1, 1, packet).main
    assert branch.outcome.kind is OutcomeKind.DELIVERED and branch.outcome.port == 2
    assert branch.hop(0).meter_id == 3 and net.meters[1][3].rate_kbps == 5600
