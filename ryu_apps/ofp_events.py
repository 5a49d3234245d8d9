"""Turn Ryu's OpenFlow 1.3 messages into the core's events (plain data, no Ryu types)."""

from __future__ import annotations

from typing import Any

from topology.model import Port
from vnstitch.core.events import (
    FlowCounters,
    PacketIn,
    PortChanged,
    PortCounters,
    SwitchPorts,
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
    """One entry of a flow-stats reply."""
    return FlowCounters(
        stat.priority,
        stat.cookie,
        dict(stat.match.items()),
        stat.byte_count,
        stat.duration_sec + stat.duration_nsec / 1e9,
    )
