"""Broadcast on a spanning tree, so looped topologies carry each broadcast exactly once.

The tree is built over cables seen in both directions only: a link discovered one way may be a
half-broken cable. Each switch floods a broadcast arriving on a tree or edge port to every other
tree and edge port, and drops broadcasts arriving on inter-switch ports outside the tree.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from topology.model import Dpid, LinkId, PortNo
from vnstitch.rules.cookies import KIND_BASELINE, Cookie
from vnstitch.rules.model import BROADCAST_MAC, FlowRule, Match, Output
from vnstitch.rules.priorities import BASELINE_DROP, BASELINE_FLOOD

FLOOD_OWNER = 1  # cookie owner of all flood rules; the version tells trees apart
RESERVED_PORT_MIN = 0xFFFFFF00  # OFPP_MAX and above are logical ports, never edge ports

SwitchPort = tuple[Dpid, PortNo]


def flood_cookie(version: int = 0) -> int:
    """Cookie of the flood rules of tree ``version`` (kind BASELINE, owner FLOOD_OWNER)."""
    return Cookie(KIND_BASELINE, FLOOD_OWNER, version).encode()


def _canonical(link: LinkId) -> LinkId:
    return link if (link.src, link.src_port) <= (link.dst, link.dst_port) else link.reverse()


def cables(links: Iterable[LinkId]) -> list[LinkId]:
    """Links seen in both directions, one per cable with its lower (dpid, port) end as src."""
    seen = set(links)
    return sorted({_canonical(lk) for lk in seen if lk.reverse() in seen})


def spanning_tree(links: Iterable[LinkId]) -> frozenset[LinkId]:
    """Tree cables: BFS from the lowest dpid of each connected part, neighbours in dpid order."""
    adjacency: dict[Dpid, list[tuple[Dpid, PortNo, LinkId]]] = {}
    for cable in cables(links):
        adjacency.setdefault(cable.src, []).append((cable.dst, cable.src_port, cable))
        adjacency.setdefault(cable.dst, []).append((cable.src, cable.dst_port, cable))
    tree: set[LinkId] = set()
    visited: set[Dpid] = set()
    for root in sorted(adjacency):
        if root in visited:
            continue
        visited.add(root)
        queue = deque([root])
        while queue:
            here = queue.popleft()
            for there, _, cable in sorted(adjacency[here], key=lambda n: (n[0], n[1])):
                if there not in visited:
                    visited.add(there)
                    tree.add(cable)
                    queue.append(there)
    return frozenset(tree)


def _ports_by_switch(ends: Iterable[SwitchPort]) -> dict[Dpid, set[PortNo]]:
    out: dict[Dpid, set[PortNo]] = {}
    for dpid, port in ends:
        out.setdefault(dpid, set()).add(port)
    return out


@dataclass(frozen=True)
class FloodDomain:
    """Per switch, the ports broadcasts use (tree + edge) and the inter-switch ports they avoid."""

    flood: Mapping[Dpid, frozenset[PortNo]]
    blocked: Mapping[Dpid, frozenset[PortNo]]
    edge: Mapping[Dpid, frozenset[PortNo]]

    @staticmethod
    def build(
        switch_ports: Mapping[Dpid, Iterable[PortNo]],
        links: Collection[LinkId],
        tree: Collection[LinkId] | None = None,
    ) -> FloodDomain:
        """Classify ports from the up ports of each switch, the links and the tree."""
        tree = spanning_tree(links) if tree is None else tree
        linked = _ports_by_switch(
            end for lk in links for end in ((lk.src, lk.src_port), (lk.dst, lk.dst_port))
        )
        in_tree = _ports_by_switch(
            end for lk in tree for end in ((lk.src, lk.src_port), (lk.dst, lk.dst_port))
        )
        flood, blocked, edge = {}, {}, {}
        for dpid in sorted(set(switch_ports) | set(linked)):
            up = {p for p in switch_ports.get(dpid, ()) if p < RESERVED_PORT_MIN}
            edge[dpid] = frozenset(up - linked.get(dpid, set()))
            flood[dpid] = frozenset(edge[dpid] | in_tree.get(dpid, set()))
            blocked[dpid] = frozenset(linked.get(dpid, set()) - in_tree.get(dpid, set()))
        return FloodDomain(flood, blocked, edge)

    def out_ports(self, dpid: Dpid, in_port: PortNo | None) -> list[PortNo]:
        """Where a broadcast entering ``(dpid, in_port)`` leaves (None: from the controller)."""
        ports = self.flood.get(dpid, frozenset())
        if in_port is not None and in_port not in ports:
            return []
        return sorted(p for p in ports if p != in_port)

    def edge_targets(self, exclude: SwitchPort | None = None) -> list[SwitchPort]:
        """Every edge port of the network but ``exclude``: where the controller floods ARP.

        ARP is sent to the controller on every switch, so a copy put on an inter-switch port
        would only come back; the controller emits one copy at each edge port instead.
        """
        return [
            (dpid, port)
            for dpid in sorted(self.edge)
            for port in sorted(self.edge[dpid])
            if (dpid, port) != exclude
        ]


def flood_rules(
    switch_ports: Mapping[Dpid, Iterable[PortNo]],
    links: Collection[LinkId],
    tree: Collection[LinkId] | None = None,
    version: int = 0,
) -> list[FlowRule]:
    """Broadcast rules for every switch: flood along the tree, drop on non-tree links."""
    domain = FloodDomain.build(switch_ports, links, tree)
    return domain_flood_rules(domain, version)


def domain_flood_rules(domain: FloodDomain, version: int = 0) -> list[FlowRule]:
    """The flood and drop rules of an already classified flood domain."""
    cookie = flood_cookie(version)
    rules: list[FlowRule] = []
    for dpid in sorted(domain.flood):
        for in_port in sorted(domain.flood[dpid]):
            actions = tuple(Output(p) for p in domain.out_ports(dpid, in_port))
            match = Match(in_port=in_port, eth_dst=BROADCAST_MAC)
            rules.append(FlowRule(dpid, BASELINE_FLOOD, match, actions, cookie))
        for in_port in sorted(domain.blocked.get(dpid, ())):
            match = Match(in_port=in_port, eth_dst=BROADCAST_MAC)
            rules.append(FlowRule(dpid, BASELINE_DROP, match, (), cookie))
    return rules
