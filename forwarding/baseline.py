"""Baseline forwarding for traffic nobody reserved: what the controller installs and when.

Keeps the flood rules it believes each switch holds, so a topology change sends only the
difference (deletes of rules no longer wanted, adds of new ones).
"""

from __future__ import annotations

from typing import Protocol

import networkx as nx

from forwarding.control import control_rules
from forwarding.spanning_tree import FloodDomain, domain_flood_rules
from forwarding.unicast import plan_pair, unicast_cookie
from rules.cookies import MASK_KIND_OWNER
from rules.model import FlowRule, Match
from topology.model import Dpid, Host, LinkId, PortNo, Switch

RuleKey = tuple[int, int, int, Match]


class TopologyView(Protocol):
    """What baseline forwarding reads from the NTD."""

    graph: nx.DiGraph
    switches: dict[Dpid, Switch]
    links: dict[LinkId, object]


class BaselineForwarding:
    """Plans control, flood and reactive unicast rules."""

    def __init__(self, idle_timeout: int = 60) -> None:
        self.idle_timeout = idle_timeout
        self._flood: dict[RuleKey, FlowRule] = {}
        self.domain = FloodDomain({}, {}, {})

    def control_rules(self, dpid: Dpid) -> list[FlowRule]:
        """Rules every switch gets on connect: LLDP/ARP to controller, IPv6 drop, table-miss."""
        return control_rules(dpid)

    def forget_switch(self, dpid: Dpid) -> None:
        """A switch (re)connected: its flood rules will be sent again on the next update."""
        self._flood = {k: r for k, r in self._flood.items() if r.dpid != dpid}

    def flood_update(self, topo: TopologyView) -> tuple[list[FlowRule], list[FlowRule]]:
        """(deletes, adds) that bring every switch's flood rules to the current tree."""
        switch_ports: dict[Dpid, list[PortNo]] = {
            dpid: [p.port_no for p in sw.ports.values() if p.up]
            for dpid, sw in topo.switches.items()
        }
        self.domain = FloodDomain.build(switch_ports, list(topo.links))
        wanted = {r.key: r for r in domain_flood_rules(self.domain)}
        deletes = [r for k, r in self._flood.items() if k not in wanted]
        adds = [r for k, r in wanted.items() if self._flood.get(k) != r]
        self._flood = wanted
        return deletes, adds

    def unicast_rules(self, topo: TopologyView, src: Host, dst: Host) -> list[FlowRule]:
        """Shortest-path rules for both directions between two attached hosts, or none."""
        if src.attachment is None or dst.attachment is None:
            return []
        rules = plan_pair(
            topo.graph,
            src.attachment,
            dst.attachment,
            src.mac,
            dst.mac,
            idle_timeout=self.idle_timeout,
        )
        return rules or []

    @staticmethod
    def unicast_cookie_mask() -> tuple[int, int]:
        """Cookie and mask that select every reactive unicast rule (to flush on a change)."""
        return unicast_cookie(), MASK_KIND_OWNER
