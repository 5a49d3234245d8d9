"""Baseline forwarding for traffic nobody reserved: what the controller installs and when.

Keeps the flood rules it believes each switch holds, so a topology change sends only the
difference (deletes of rules no longer wanted, adds of new ones).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import networkx as nx

from topology.model import Dpid, Host, LinkId, PortNo, Switch
from vnstitch.forwarding.control import control_rules
from vnstitch.forwarding.policing import best_effort_meters, best_effort_rate_mbps, police
from vnstitch.forwarding.spanning_tree import FloodDomain, domain_flood_rules
from vnstitch.forwarding.unicast import plan_pair, unicast_cookie
from vnstitch.rules.cookies import MASK_KIND_OWNER
from vnstitch.rules.meters import BE_METER_BASE, BE_PORT_LIMIT
from vnstitch.rules.model import FlowRule, Match, MeterSpec

RuleKey = tuple[int, int, int, Match]


class TopologyView(Protocol):
    """What baseline forwarding reads from the NTD."""

    @property
    def graph(self) -> nx.DiGraph:
        """Switches and directed links."""
        ...

    @property
    def switches(self) -> Mapping[Dpid, Switch]:
        """Connected switches by dpid."""
        ...

    @property
    def links(self) -> Mapping[LinkId, object]:
        """Live directed links."""
        ...


class BaselineForwarding:
    """Plans control, flood and reactive unicast rules."""

    def __init__(
        self, idle_timeout: int = 60, police_best_effort: bool = True, floor_mbps: float = 0.0
    ) -> None:
        self.idle_timeout = idle_timeout
        self.police_best_effort = police_best_effort
        self.floor_mbps = floor_mbps
        self._flood: dict[RuleKey, FlowRule] = {}
        self._meters: dict[tuple[Dpid, PortNo], MeterSpec] = {}
        self.best_effort_rate_mbps: float | None = None
        self.domain = FloodDomain({}, {}, {})

    def edge_ports(self) -> set[tuple[Dpid, PortNo]]:
        """Every (switch, port) where hosts may send from, as of the last flood update."""
        return {(d, p) for d, ports in self.domain.edge.items() for p in ports if p < BE_PORT_LIMIT}

    def _police(self, rules: list[FlowRule]) -> list[FlowRule]:
        return police(rules, self.edge_ports()) if self.police_best_effort else rules

    def meter_update(
        self, capacity: Mapping[LinkId, float], reserved: Mapping[LinkId, float]
    ) -> list[tuple[MeterSpec, bool]]:
        """Best-effort meters to send: (meter, is_new) for new edge ports or a changed rate."""
        if not self.police_best_effort:
            return []
        edges = self.edge_ports()
        rate = best_effort_rate_mbps(capacity, reserved, len(edges), self.floor_mbps)
        self.best_effort_rate_mbps = rate
        out = []
        for meter in best_effort_meters(edges, rate):
            key = (meter.dpid, meter.meter_id - BE_METER_BASE)
            old = self._meters.get(key)
            if old != meter:
                out.append((meter, old is None))
                self._meters[key] = meter
        return out

    def expected_meters(self, dpid: Dpid) -> list[MeterSpec]:
        """The best-effort meters switch ``dpid`` should hold (for the meter audit)."""
        return [m for m in self._meters.values() if m.dpid == dpid]

    def control_rules(self, dpid: Dpid) -> list[FlowRule]:
        """Rules every switch gets on connect: LLDP/ARP to controller, IPv6 drop, table-miss."""
        return control_rules(dpid)

    def forget_switch(self, dpid: Dpid) -> None:
        """A switch (re)connected: its flood rules will be sent again on the next update."""
        self._flood = {k: r for k, r in self._flood.items() if r.dpid != dpid}
        self._meters = {k: m for k, m in self._meters.items() if m.dpid != dpid}

    def flood_update(self, topo: TopologyView) -> tuple[list[FlowRule], list[FlowRule]]:
        """(deletes, adds) that bring every switch's flood rules to the current tree."""
        switch_ports: dict[Dpid, list[PortNo]] = {
            dpid: [p.port_no for p in sw.ports.values() if p.up]
            for dpid, sw in topo.switches.items()
        }
        self.domain = FloodDomain.build(switch_ports, list(topo.links))
        wanted = {r.key: r for r in self._police(domain_flood_rules(self.domain))}
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
        return self._police(rules or [])

    @staticmethod
    def unicast_cookie_mask() -> tuple[int, int]:
        """Cookie and mask that select every reactive unicast rule (to flush on a change)."""
        return unicast_cookie(), MASK_KIND_OWNER
