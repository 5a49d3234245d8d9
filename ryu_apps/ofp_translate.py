"""Turn rule plans (plain data from ``vnstitch.rules.model``) into OpenFlow 1.3 messages for Ryu."""

from __future__ import annotations

from typing import Any, assert_never

from vnstitch.core.actions import (
    Barrier,
    EchoRequest,
    FlowDeleteCookie,
    FlowStatsRequest,
    GroupDescRequest,
    MeterConfigRequest,
    MeterModify,
    PacketOut,
    PortDescRequest,
    PortStatsRequest,
    SwitchMessage,
)
from vnstitch.rules.cookies import MASK_ALL
from vnstitch.rules.model import (
    Action,
    FlowRule,
    Group,
    GroupKind,
    GroupSpec,
    MeterSpec,
    Output,
    ReportedAction,
    SetField,
    UnknownAction,
)
from vnstitch.stitcher.install_jobs import (
    FlowAdd,
    FlowDelete,
    GroupAdd,
    GroupDelete,
    GroupModify,
    MeterAdd,
    MeterDelete,
)


def _action(dp: Any, action: Action) -> Any:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    match action:
        case Output(port):
            return parser.OFPActionOutput(port, ofp.OFPCML_NO_BUFFER)
        case SetField(field, value):
            return parser.OFPActionSetField(**{field: value})
        case Group(group_id):
            return parser.OFPActionGroup(group_id)
        case _:
            assert_never(action)


def _instructions(dp: Any, rule: FlowRule) -> list[Any]:
    ofp, parser = dp.ofproto, dp.ofproto_parser
    inst: list[Any] = []
    if rule.meter_id is not None:
        inst.append(parser.OFPInstructionMeter(rule.meter_id, ofp.OFPIT_METER))
    if rule.actions:
        actions = [_action(dp, a) for a in rule.actions]
        inst.append(parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions))
    return inst


def flow_add(dp: Any, rule: FlowRule, in_place: bool = False) -> Any:
    """An OFPFC_ADD for ``rule`` (replaces an entry with the same match and priority).

    ``in_place``: OFPFC_MODIFY_STRICT instead (the entry keeps its counters and duration).
    """
    ofp, parser = dp.ofproto, dp.ofproto_parser
    return parser.OFPFlowMod(
        datapath=dp,
        cookie=rule.cookie,
        table_id=rule.table_id,
        command=ofp.OFPFC_MODIFY_STRICT if in_place else ofp.OFPFC_ADD,
        idle_timeout=rule.idle_timeout,
        hard_timeout=rule.hard_timeout,
        priority=rule.priority,
        buffer_id=ofp.OFP_NO_BUFFER,
        flags=ofp.OFPFF_SEND_FLOW_REM if rule.idle_timeout else 0,
        match=parser.OFPMatch(**rule.match.to_dict()),
        instructions=_instructions(dp, rule),
    )


def flow_delete_strict(dp: Any, rule: FlowRule) -> Any:
    """Delete exactly the entry ``rule`` names (table, priority, match), if its cookie matches."""
    ofp, parser = dp.ofproto, dp.ofproto_parser
    return parser.OFPFlowMod(
        datapath=dp,
        cookie=rule.cookie,
        cookie_mask=MASK_ALL,
        table_id=rule.table_id,
        command=ofp.OFPFC_DELETE_STRICT,
        priority=rule.priority,
        out_port=ofp.OFPP_ANY,
        out_group=ofp.OFPG_ANY,
        match=parser.OFPMatch(**rule.match.to_dict()),
    )


def flow_delete_cookie(dp: Any, cookie: int, cookie_mask: int) -> Any:
    """Delete every entry in every table whose cookie matches under the mask."""
    ofp, parser = dp.ofproto, dp.ofproto_parser
    return parser.OFPFlowMod(
        datapath=dp,
        cookie=cookie,
        cookie_mask=cookie_mask,
        table_id=ofp.OFPTT_ALL,
        command=ofp.OFPFC_DELETE,
        out_port=ofp.OFPP_ANY,
        out_group=ofp.OFPG_ANY,
        match=parser.OFPMatch(),
    )


def meter_add(dp: Any, meter: MeterSpec, modify: bool = False) -> Any:
    """An OFPMeterMod adding (or modifying) a drop-band meter in kbit/s with burst."""
    ofp, parser = dp.ofproto, dp.ofproto_parser
    band = parser.OFPMeterBandDrop(rate=meter.rate_kbps, burst_size=meter.burst_kb)
    return parser.OFPMeterMod(
        datapath=dp,
        command=ofp.OFPMC_MODIFY if modify else ofp.OFPMC_ADD,
        flags=ofp.OFPMF_KBPS | ofp.OFPMF_BURST | ofp.OFPMF_STATS,
        meter_id=meter.meter_id,
        bands=[band],
    )


def meter_delete(dp: Any, meter_id: int) -> Any:
    """An OFPMeterMod deleting a meter."""
    ofp, parser = dp.ofproto, dp.ofproto_parser
    return parser.OFPMeterMod(
        datapath=dp, command=ofp.OFPMC_DELETE, flags=0, meter_id=meter_id, bands=[]
    )


def _group_type(ofp: Any, kind: GroupKind) -> int:
    match kind:
        case GroupKind.ALL:
            return int(ofp.OFPGT_ALL)
        case GroupKind.SELECT:
            return int(ofp.OFPGT_SELECT)
        case GroupKind.INDIRECT:
            return int(ofp.OFPGT_INDIRECT)
        case GroupKind.FAST_FAILOVER:
            return int(ofp.OFPGT_FF)
        case _:
            assert_never(kind)


def _bucket_action(dp: Any, action: ReportedAction) -> Any:
    if isinstance(action, UnknownAction):
        raise ValueError(f"cannot send an uninterpreted action ({action.name}) in a group")
    return _action(dp, action)


def group_mod(dp: Any, group: GroupSpec, command: str = "add") -> Any:
    """An OFPGroupMod adding (``add``) or modifying (``modify``) a group with its buckets; a
    fast-failover bucket watches its port (OFPP_ANY / OFPG_ANY when it watches nothing)."""
    ofp, parser = dp.ofproto, dp.ofproto_parser
    buckets = [
        parser.OFPBucket(
            weight=bucket.weight,
            watch_port=ofp.OFPP_ANY if bucket.watch_port is None else bucket.watch_port,
            watch_group=ofp.OFPG_ANY if bucket.watch_group is None else bucket.watch_group,
            actions=[_bucket_action(dp, a) for a in bucket.actions],
        )
        for bucket in group.buckets
    ]
    return parser.OFPGroupMod(
        datapath=dp,
        command=ofp.OFPGC_MODIFY if command == "modify" else ofp.OFPGC_ADD,
        type_=_group_type(ofp, group.kind),
        group_id=group.group_id,
        buckets=buckets,
    )


def group_delete(dp: Any, group_id: int) -> Any:
    """An OFPGroupMod deleting a group (the switch also deletes the flows that send to it)."""
    ofp, parser = dp.ofproto, dp.ofproto_parser
    return parser.OFPGroupMod(
        datapath=dp, command=ofp.OFPGC_DELETE, type_=ofp.OFPGT_ALL, group_id=group_id, buckets=[]
    )


def packet_out(dp: Any, port: int, data: bytes, in_port: int | None = None) -> Any:
    """Send raw bytes out of ``port`` (OFPP_CONTROLLER as in_port unless given)."""
    ofp, parser = dp.ofproto, dp.ofproto_parser
    return parser.OFPPacketOut(
        datapath=dp,
        buffer_id=ofp.OFP_NO_BUFFER,
        in_port=ofp.OFPP_CONTROLLER if in_port is None else in_port,
        actions=[parser.OFPActionOutput(port, 0)],
        data=data,
    )


def to_ofp(dp: Any, message: SwitchMessage) -> Any:
    """The Ryu message for one of the core's switch messages."""
    ofp, parser = dp.ofproto, dp.ofproto_parser
    match message:
        case FlowAdd(rule, in_place):
            return flow_add(dp, rule, in_place)
        case FlowDelete(rule):
            return flow_delete_strict(dp, rule)
        case FlowDeleteCookie(_, cookie, mask):
            return flow_delete_cookie(dp, cookie, mask)
        case MeterAdd(meter):
            return meter_add(dp, meter)
        case MeterModify(meter):
            return meter_add(dp, meter, modify=True)
        case MeterDelete(_, meter_id):
            return meter_delete(dp, meter_id)
        case GroupAdd(group):
            return group_mod(dp, group)
        case GroupModify(group):
            return group_mod(dp, group, "modify")
        case GroupDelete(_, group_id):
            return group_delete(dp, group_id)
        case PacketOut(_, port, frame):
            return packet_out(dp, port, frame)
        case Barrier():
            return parser.OFPBarrierRequest(dp)
        case PortDescRequest():
            return parser.OFPPortDescStatsRequest(dp, 0)
        case PortStatsRequest():
            return parser.OFPPortStatsRequest(dp, 0, ofp.OFPP_ANY)
        case FlowStatsRequest():
            return parser.OFPFlowStatsRequest(dp, table_id=0)
        case MeterConfigRequest():
            return parser.OFPMeterConfigStatsRequest(dp, 0, ofp.OFPM_ALL)
        case GroupDescRequest():
            return parser.OFPGroupDescStatsRequest(dp, 0)
        case EchoRequest(_, data):
            return parser.OFPEchoRequest(dp, data=data)
