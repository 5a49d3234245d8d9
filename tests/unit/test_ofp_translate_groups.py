"""Group operations become OFPGroupMods that say exactly what the plan says.

A fast-failover group is translated, serialized by Ryu 4.34, and its body read back through
Ryu's group-description parser and the adapter's own ``group_descs``: the round trip must give
the planned group again (type, buckets, watched ports, IN_PORT outputs).
"""

from __future__ import annotations

import struct
from types import SimpleNamespace

from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_v1_3_parser as parser

from ryu_apps.ofp_events import group_descs
from ryu_apps.ofp_translate import to_ofp
from vnstitch.rules.groups import failover_group
from vnstitch.rules.model import FlowRule, Group, Match
from vnstitch.stitcher.install_jobs import FlowAdd, GroupAdd, GroupDelete, GroupModify

DP = SimpleNamespace(ofproto=ofp, ofproto_parser=parser, id=1)


def _round_trip(message: object) -> tuple[int, object]:
    """(command, the group as a group-description reply of its type, id and buckets)."""
    msg = to_ofp(DP, message)  # type: ignore[arg-type]
    msg.xid = 9
    msg.serialize()
    body = bytes(msg.buf[ofp.OFP_HEADER_SIZE :])
    command, kind, group_id = struct.unpack_from("!HBxI", body)
    buckets = body[8:]
    desc = struct.pack("!HBxI", 8 + len(buckets), kind, group_id) + buckets
    stat = parser.OFPGroupDescStats.parser(desc, 0)
    (group,) = group_descs(1, [stat]).groups
    return command, group


def test_a_failover_group_round_trips_with_its_watched_ports() -> None:
    planned = failover_group(1, 42, primary_port=3, backup_port=4)
    command, back = _round_trip(GroupAdd(planned))
    assert command == ofp.OFPGC_ADD and back == planned
    command, back = _round_trip(GroupModify(planned))
    assert command == ofp.OFPGC_MODIFY and back == planned


def test_a_detour_back_the_way_it_came_outputs_to_in_port() -> None:
    planned = failover_group(1, 7, primary_port=3, backup_port=2, in_port=2)
    _, back = _round_trip(GroupAdd(planned))
    assert back == planned
    assert planned.buckets[1].watch_port == 2


def test_group_delete_and_a_rule_sending_to_a_group() -> None:
    delete = to_ofp(DP, GroupDelete(1, 42))
    assert (delete.command, delete.group_id) == (ofp.OFPGC_DELETE, 42)
    flow = to_ofp(DP, FlowAdd(FlowRule(1, 20000, Match(in_port=1), (Group(42),))))
    (inst,) = flow.instructions
    assert isinstance(inst.actions[0], parser.OFPActionGroup) and inst.actions[0].group_id == 42
