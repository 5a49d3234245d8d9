"""Turn Ryu's OpenFlow 1.3 messages into the core's events (plain data, no Ryu types)."""

from __future__ import annotations

import re
from typing import Any

from ryu.ofproto import ofproto_v1_3 as ofp13
from ryu.ofproto import ofproto_v1_3_parser as parser13

from topology.model import Port
from vnstitch.core.events import (
    FlowCounters,
    GroupDescs,
    MeterBand,
    MeterConfig,
    MeterConfigs,
    PacketIn,
    PortChanged,
    PortCounters,
    SwitchPorts,
)
from vnstitch.rules.model import (
    Bucket,
    Group,
    GroupKind,
    GroupSpec,
    Output,
    ReportedAction,
    SetField,
    UnknownAction,
)

OFPP_MAX = 0xFFFFFF00  # numbers above are reserved ports (LOCAL, CONTROLLER, ...)


def port(dp: Any, desc: Any) -> Port:
    """A port description or status body as the topology model's Port."""
    ofp = dp.ofproto
    down = bool(desc.state & ofp.OFPPS_LINK_DOWN) or bool(desc.config & ofp.OFPPC_PORT_DOWN)
    speed = desc.curr_speed / 1000.0 if desc.curr_speed else None
    return Port(desc.port_no, desc.name.decode(errors="replace"), desc.hw_addr, not down, speed)


def switch_ports(dp: Any, body: list[Any]) -> SwitchPorts:
    """A port-description reply: the bridge name (LOCAL port) and the physical ports."""
    ports, name = [], None
    for desc in body:
        if desc.port_no == dp.ofproto.OFPP_LOCAL:
            name = desc.name.decode(errors="replace")
        elif desc.port_no < OFPP_MAX:
            ports.append(port(dp, desc))
    return SwitchPorts(dp.id, name, tuple(ports))


def port_status(msg: Any) -> PortChanged | None:
    """A port-status message; None for reserved ports."""
    dp, ofp = msg.datapath, msg.datapath.ofproto
    if msg.desc.port_no >= OFPP_MAX:
        return None
    if msg.reason == ofp.OFPPR_DELETE:
        return PortChanged(dp.id, msg.desc.port_no, None)
    return PortChanged(dp.id, msg.desc.port_no, port(dp, msg.desc))


def packet_in(msg: Any) -> PacketIn:
    """A packet-in with its switch, port and bytes (the core decodes them)."""
    return PacketIn(msg.datapath.id, msg.match["in_port"], bytes(msg.data))


def port_counters(body: list[Any]) -> tuple[PortCounters, ...]:
    """A port-stats reply's transmit counters."""
    return tuple(PortCounters(s.port_no, s.tx_bytes) for s in body)


def flow_counters(stat: Any) -> FlowCounters:
    """One entry of a flow-stats reply: counters, match and instructions as plain data."""
    meter_id: int | None = None
    goto: int | None = None
    apply: tuple[ReportedAction, ...] = ()
    write: tuple[ReportedAction, ...] = ()
    other: list[str] = []
    for inst in stat.instructions or ():
        if isinstance(inst, parser13.OFPInstructionMeter):
            meter_id = inst.meter_id
        elif isinstance(inst, parser13.OFPInstructionGotoTable):
            goto = inst.table_id
        elif isinstance(inst, parser13.OFPInstructionActions):
            if inst.type == ofp13.OFPIT_APPLY_ACTIONS:
                apply = actions(inst.actions)
            elif inst.type == ofp13.OFPIT_WRITE_ACTIONS:
                write = actions(inst.actions)
            # OFPIT_CLEAR_ACTIONS empties an action set that only this one table could fill
        else:
            other.append(_snake(type(inst).__name__.removeprefix("OFPInstruction")))
    return FlowCounters(
        stat.priority,
        stat.cookie,
        dict(stat.match.items()),
        stat.byte_count,
        stat.duration_sec + stat.duration_nsec / 1e9,
        table_id=stat.table_id,
        meter_id=meter_id,
        actions=apply,
        write_actions=write,
        goto_table=goto,
        other_instructions=tuple(other),
    )


def actions(ryu_actions: list[Any]) -> tuple[ReportedAction, ...]:
    """Ryu action objects as the rule model's actions (anything else kept by name)."""
    out: list[ReportedAction] = []
    for action in ryu_actions or ():
        if isinstance(action, parser13.OFPActionOutput):
            out.append(Output(action.port))
        elif isinstance(action, parser13.OFPActionGroup):
            out.append(Group(action.group_id))
        elif isinstance(action, parser13.OFPActionSetField) and hasattr(action, "key"):
            out.append(SetField(action.key, action.value))
        else:
            out.append(UnknownAction(_snake(type(action).__name__.removeprefix("OFPAction"))))
    return tuple(out)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() or "unknown"


_BAND_KINDS = {
    ofp13.OFPMBT_DROP: "drop",
    ofp13.OFPMBT_DSCP_REMARK: "dscp_remark",
    ofp13.OFPMBT_EXPERIMENTER: "experimenter",
}


def meter_configs(dpid: int, body: list[Any]) -> MeterConfigs:
    """A meter-config reply (every part's ``OFPMeterConfigStats``) as plain data."""
    meters = tuple(
        MeterConfig(
            stat.meter_id,
            tuple(
                MeterBand(_BAND_KINDS.get(band.type, str(band.type)), band.rate, band.burst_size)
                for band in stat.bands
            ),
            per_packet=bool(stat.flags & ofp13.OFPMF_PKTPS),
        )
        for stat in body
    )
    return MeterConfigs(dpid, meters)


_GROUP_KINDS = {
    ofp13.OFPGT_ALL: GroupKind.ALL,
    ofp13.OFPGT_SELECT: GroupKind.SELECT,
    ofp13.OFPGT_INDIRECT: GroupKind.INDIRECT,
    ofp13.OFPGT_FF: GroupKind.FAST_FAILOVER,
}


def group_descs(dpid: int, body: list[Any]) -> GroupDescs:
    """A group-description reply (every part's ``OFPGroupDescStats``) as plain data."""
    groups = tuple(
        GroupSpec(
            dpid,
            stat.group_id,
            _GROUP_KINDS[stat.type],
            tuple(
                Bucket(
                    actions(bucket.actions),
                    None if bucket.watch_port == ofp13.OFPP_ANY else bucket.watch_port,
                    None if bucket.watch_group == ofp13.OFPG_ANY else bucket.watch_group,
                    bucket.weight,
                )
                for bucket in stat.buckets
            ),
        )
        for stat in body
    )
    return GroupDescs(dpid, groups)
