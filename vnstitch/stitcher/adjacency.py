"""A read-only snapshot of the NTD graph as compact adjacency tuples for fast path search.

Reading networkx attribute dicts on every relaxation is what makes a search slow; a snapshot
is built once per topology version (O(links)) and then shared by every request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import networkx as nx

from topology.model import DEFAULT_ZONE

_PARTS_CACHE_SIZE = 64

ZoneKey = frozenset[str]
"""The zones one usable link touches: its own, or both directions' for a bidirectional link."""

Arc = tuple[int, float | None, float, float, ZoneKey, str]
"""One usable link from a node: (head switch, one-way latency in ms or None when unmeasured,
capacity in Mbit/s, reverse-direction capacity (inf when the direction is irrelevant),
zones of the link, zone of the head switch)."""


@dataclass(frozen=True)
class Adjacency:
    """Successor arcs of every switch, for forward-only or both-direction searches."""

    succ: Mapping[int, tuple[Arc, ...]]
    node_zone: Mapping[int, str]
    arcs: Mapping[tuple[int, int], Arc]
    zone_keys: frozenset[ZoneKey]
    zones: frozenset[str]
    bidirectional: bool
    zone_symmetric: bool
    """Every link's reverse exists with the same zones, so reachability is undirected."""
    has_unmeasured: bool
    """Some link's latency is not measured yet."""
    _parts: dict[tuple[frozenset[ZoneKey], frozenset[str]], dict[int, int]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def zone_parts(
        self, bad_zone_keys: frozenset[ZoneKey], bad_node_zones: frozenset[str]
    ) -> Mapping[int, int] | None:
        """Part label per allowed switch, equal iff a zone-allowed path joins them.

        Only for zone-symmetric snapshots (None otherwise); cached per zone policy.
        """
        if not self.zone_symmetric:
            return None
        key = (bad_zone_keys, bad_node_zones)
        parts = self._parts.get(key)
        if parts is None:
            if len(self._parts) >= _PARTS_CACHE_SIZE:
                self._parts.clear()
            parts = self._parts[key] = self._label_parts(bad_zone_keys, bad_node_zones)
        return parts

    def _label_parts(
        self, bad_zone_keys: frozenset[ZoneKey], bad_node_zones: frozenset[str]
    ) -> dict[int, int]:
        """Connected parts of the graph left by a zone policy, by flood fill."""
        label: dict[int, int] = {}
        for start in sorted(self.succ):
            if start in label or self.node_zone[start] in bad_node_zones:
                continue
            label[start] = start
            stack = [start]
            while stack:
                u = stack.pop()
                for v, _, _, _, zones, head_zone in self.succ[u]:
                    if (
                        v not in label
                        and zones not in bad_zone_keys
                        and head_zone not in bad_node_zones
                    ):
                        label[v] = start
                        stack.append(v)
        return label


def forward_adjacency(graph: nx.DiGraph) -> Adjacency:
    """Snapshot of every directed edge of ``graph`` as it stands now."""
    return _snapshot(graph, bidirectional=False)


def bidirectional_adjacency(graph: nx.DiGraph) -> Adjacency:
    """Snapshot keeping only edges whose reverse exists, each carrying both directions.

    A link's latency is the slower direction's (unknown if either is unmeasured), its zones
    are both directions' zones; its reverse capacity is the capacity of v->u.
    """
    return _snapshot(graph, bidirectional=True)


def _snapshot(graph: nx.DiGraph, bidirectional: bool) -> Adjacency:
    """Build the arc tuples, interning zone keys so that set lookups hit by identity."""
    node_zone = {int(n): str(z) for n, z in graph.nodes(data="zone", default=DEFAULT_ZONE)}
    interned: dict[ZoneKey, ZoneKey] = {}
    succ: dict[int, tuple[Arc, ...]] = {}
    arcs: dict[tuple[int, int], Arc] = {}
    for u, nbrs in graph.adjacency():
        out: list[Arc] = []
        for v, data in nbrs.items():
            if u == v:
                continue
            latency = _latency(data)
            capacity = float(data.get("capacity_mbps", 0.0))
            zones = {str(data.get("zone", DEFAULT_ZONE))}
            reverse_capacity = math.inf
            if bidirectional:
                back = graph.succ[v].get(u)
                if back is None:
                    continue
                back_latency = _latency(back)
                latency = (
                    None if latency is None or back_latency is None else max(latency, back_latency)
                )
                reverse_capacity = float(back.get("capacity_mbps", 0.0))
                zones.add(str(back.get("zone", DEFAULT_ZONE)))
            key = interned.setdefault(frozenset(zones), frozenset(zones))
            arc: Arc = (int(v), latency, capacity, reverse_capacity, key, node_zone[int(v)])
            out.append(arc)
            arcs[int(u), int(v)] = arc
        succ[int(u)] = tuple(sorted(out, key=lambda a: a[0]))
    symmetric = all((v, u) in arcs and arcs[v, u][4] == arc[4] for (u, v), arc in arcs.items())
    return Adjacency(
        succ=succ,
        node_zone=node_zone,
        arcs=arcs,
        zone_keys=frozenset(interned.values()),
        zones=frozenset(node_zone.values()).union(*interned.values()),
        bidirectional=bidirectional,
        zone_symmetric=symmetric,
        has_unmeasured=any(arc[1] is None for arc in arcs.values()),
    )


def _latency(data: Mapping[str, object]) -> float | None:
    """An edge's measured one-way latency, None when unmeasured (or not a finite number)."""
    value = data.get("latency_ms")
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return float(value)
