"""Rules every switch gets on connect: discovery and ARP to the controller, IPv6 dropped."""

from __future__ import annotations

from vnstitch.rules.cookies import KIND_CONTROL, Cookie
from vnstitch.rules.model import (
    ETH_TYPE_ARP,
    ETH_TYPE_IPV6,
    ETH_TYPE_LLDP,
    PORT_CONTROLLER,
    FlowRule,
    Match,
    Output,
)
from vnstitch.rules.priorities import BASELINE_DROP, CONTROL, TABLE_MISS

CONTROL_COOKIE = Cookie(KIND_CONTROL).encode()

_TO_CONTROLLER = (Output(PORT_CONTROLLER),)


def control_rules(dpid: int) -> list[FlowRule]:
    """LLDP and ARP to the controller, IPv6 dropped (IPv4 only), table-miss to the controller."""
    return [
        FlowRule(dpid, CONTROL, Match(eth_type=ETH_TYPE_LLDP), _TO_CONTROLLER, CONTROL_COOKIE),
        FlowRule(dpid, CONTROL, Match(eth_type=ETH_TYPE_ARP), _TO_CONTROLLER, CONTROL_COOKIE),
        FlowRule(dpid, BASELINE_DROP, Match(eth_type=ETH_TYPE_IPV6), (), CONTROL_COOKIE),
        FlowRule(dpid, TABLE_MISS, Match(), _TO_CONTROLLER, CONTROL_COOKIE),
    ]
