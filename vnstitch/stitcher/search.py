"""Graph searches on an adjacency snapshot: pruned Dijkstra, widest path, path measures.

Infeasible links are pruned as the search meets them (the same result as deleting them from
the graph first, without touching the links the search never reaches). Ties are broken by
switch id: the heap orders equal distances by node, and a node keeps the first predecessor
that reached it at its final distance, so the same inputs always give the same path.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from heapq import heappop, heappush

from vnstitch.stitcher.adjacency import Adjacency, Arc, ZoneKey
from vnstitch.stitcher.cost import CostWeights, utilisation_after

FreeMbps = Callable[[int, int], float]
"""Free bandwidth in Mbit/s of the directed link u->v, as the resource manager reports it."""

Path = tuple[int, ...]

_FREE = CostWeights(0.0, 0.0, 0.0)
"""Weights that make every link cost nothing: a search that only asks whether a path exists."""


@dataclass(frozen=True)
class ArcRule:
    """Which links one search may use: zones, excluded links, free bandwidth, measured latency.

    ``bandwidth_mbps`` prunes a link whose free bandwidth is below it (a request of 0 Mbit/s
    needs none free); ``needs_latency`` prunes unmeasured links. In a bidirectional search
    both directions must pass, and excluding either direction excludes the link.
    """

    bad_zone_keys: frozenset[ZoneKey] = frozenset()
    bad_node_zones: frozenset[str] = frozenset()
    excluded: frozenset[tuple[int, int]] = frozenset()
    free_mbps: FreeMbps | None = None
    bandwidth_mbps: float = 0.0
    needs_latency: bool = False
    bidirectional: bool = False

    def without(
        self, zone: bool = False, bandwidth: bool = False, latency: bool = False
    ) -> ArcRule:
        """The same rule with the named constraints dropped."""
        return replace(
            self,
            bad_zone_keys=frozenset() if zone else self.bad_zone_keys,
            bad_node_zones=frozenset() if zone else self.bad_node_zones,
            bandwidth_mbps=0.0 if bandwidth else self.bandwidth_mbps,
            needs_latency=False if latency else self.needs_latency,
        )

    def free_on(self, u: int, arc: Arc) -> float:
        """Free bandwidth of the link (the smaller direction's when bidirectional)."""
        v, _, capacity, reverse_capacity, _, _ = arc
        free = self.free_mbps
        forward = capacity if free is None else free(u, v)
        if not self.bidirectional:
            return forward
        return min(forward, reverse_capacity if free is None else free(v, u))

    def utilisation(self, u: int, arc: Arc) -> float:
        """Utilisation after the request (the busier direction's when bidirectional)."""
        v, _, capacity, reverse_capacity, _, _ = arc
        free, bw = self.free_mbps, self.bandwidth_mbps
        forward = utilisation_after(capacity, capacity if free is None else free(u, v), bw)
        if not self.bidirectional:
            return forward
        back = reverse_capacity if free is None else free(v, u)
        return max(forward, utilisation_after(reverse_capacity, back, bw))

    def admits(self, u: int, arc: Arc) -> bool:
        """True if a search under this rule may cross the link."""
        v, latency, _, _, zones, head_zone = arc
        if zones in self.bad_zone_keys or head_zone in self.bad_node_zones:
            return False
        if (u, v) in self.excluded or (self.bidirectional and (v, u) in self.excluded):
            return False
        if latency is None and self.needs_latency:
            return False
        return self.bandwidth_mbps <= 0 or self.free_on(u, arc) >= self.bandwidth_mbps


def cheapest_path(
    adj: Adjacency,
    src: int,
    dst: int,
    rule: ArcRule,
    weights: CostWeights,
    cost_factor: float = 1.0,
    latency_factor: float = 0.0,
) -> Path | None:
    """Least ``cost_factor * cost + latency_factor * latency`` path from src to dst, if any.

    ``cost_factor=0, latency_factor=1`` gives the fastest path; a mix is the Lagrangian
    weight LARAC uses. A latency term needs ``rule.needs_latency`` (no unmeasured links).
    """
    if latency_factor and not rule.needs_latency:
        raise ValueError("a latency-weighted search must prune unmeasured links")
    succ = adj.succ
    bad_keys, bad_nodes = rule.bad_zone_keys, rule.bad_node_zones
    zone_check = bool(bad_keys or bad_nodes)
    excluded, bi = rule.excluded, rule.bidirectional
    free, bw, need_latency = rule.free_mbps, rule.bandwidth_mbps, rule.needs_latency
    check_bw = bw > 0
    util_ms = weights.utilisation_ms * cost_factor
    power = weights.utilisation_power
    need_util = util_ms > 0 and (free is not None or check_bw)
    need_free = need_util or check_bw
    hop = weights.hop_ms * cost_factor
    unknown = weights.unknown_latency_ms * cost_factor
    per_ms = cost_factor + latency_factor
    dist: dict[int, float] = {src: 0.0}
    pred: dict[int, int] = {}
    done: set[int] = set()
    heap: list[tuple[float, int]] = [(0.0, src)]
    while heap:
        d, u = heappop(heap)
        if u in done:
            continue
        if u == dst:
            return _walk_back(pred, src, dst)
        done.add(u)
        for v, latency, capacity, reverse_capacity, zones, head_zone in succ[u]:
            if v in done:
                continue
            if zone_check and (zones in bad_keys or head_zone in bad_nodes):
                continue
            if excluded and ((u, v) in excluded or (bi and (v, u) in excluded)):
                continue
            if latency is None:
                if need_latency:
                    continue
                w = unknown + hop
            else:
                w = per_ms * latency + hop
            if need_free:
                fwd = capacity if free is None else free(u, v)
                if check_bw and fwd < bw:
                    continue
                util = (capacity - fwd + bw) / capacity if capacity > 0 else 0.0
                if bi:
                    back = reverse_capacity if free is None else free(v, u)
                    if check_bw and back < bw:
                        continue
                    if reverse_capacity > 0:
                        util = max(util, (reverse_capacity - back + bw) / reverse_capacity)
                if need_util and util > 0:
                    w += util_ms * (util if power == 1.0 else util**power)
            nd = d + w
            old = dist.get(v)
            if old is None or nd < old:
                dist[v] = nd
                pred[v] = u
                heappush(heap, (nd, v))
    return None


def widest_path(adj: Adjacency, src: int, dst: int, rule: ArcRule) -> tuple[Path, float] | None:
    """The path with the most free bandwidth at its bottleneck, and that bottleneck's free."""
    bad_keys, bad_nodes, excluded = rule.bad_zone_keys, rule.bad_node_zones, rule.excluded
    free, bi = rule.free_mbps, rule.bidirectional
    only_zones = rule.bandwidth_mbps <= 0 and not rule.needs_latency
    width: dict[int, float] = {src: math.inf}
    pred: dict[int, int] = {}
    done: set[int] = set()
    heap: list[tuple[float, int]] = [(-math.inf, src)]
    while heap:
        neg, u = heappop(heap)
        if u in done:
            continue
        if u == dst:
            return _walk_back(pred, src, dst), -neg
        done.add(u)
        for arc in adj.succ[u]:
            v, _, capacity, reverse_capacity, zones, head_zone = arc
            if v in done:
                continue
            if only_zones:
                if zones in bad_keys or head_zone in bad_nodes:
                    continue
                if excluded and ((u, v) in excluded or (bi and (v, u) in excluded)):
                    continue
            elif not rule.admits(u, arc):
                continue
            w = capacity if free is None else free(u, v)
            if bi:
                w = min(w, reverse_capacity if free is None else free(v, u))
            if w > -neg:
                w = -neg
            if w > width.get(v, -math.inf):
                width[v] = w
                pred[v] = u
                heappush(heap, (-w, v))
    return None


def reachable(adj: Adjacency, src: int, dst: int, rule: ArcRule) -> bool:
    """True if some path from src to dst uses only links the rule admits."""
    return cheapest_path(adj, src, dst, rule, _FREE, cost_factor=0.0) is not None


def path_latency(adj: Adjacency, path: Path) -> float | None:
    """Sum of one-way latencies along the path; None if any link is unmeasured."""
    total = 0.0
    for u, v in itertools.pairwise(path):
        latency = adj.arcs[u, v][1]
        if latency is None:
            return None
        total += latency
    return total


def path_cost(adj: Adjacency, path: Path, rule: ArcRule, weights: CostWeights) -> float:
    """The documented cost (see vnstitch.stitcher.cost) of the path for the rule's request."""
    total = 0.0
    for u, v in itertools.pairwise(path):
        arc = adj.arcs[u, v]
        total += weights.link_cost(arc[1], rule.utilisation(u, arc))
    return total


def bottleneck(adj: Adjacency, path: Path, rule: ArcRule) -> tuple[float, tuple[int, int] | None]:
    """Least free bandwidth along the path and the first link that has it (inf, None if none)."""
    least, where = math.inf, None
    for u, v in itertools.pairwise(path):
        free = rule.free_on(u, adj.arcs[u, v])
        if free < least:
            least, where = free, (u, v)
    return least, where


def _walk_back(pred: dict[int, int], src: int, dst: int) -> Path:
    """The path recorded by predecessor links, from src to dst."""
    path = [dst]
    while path[-1] != src:
        path.append(pred[path[-1]])
    return tuple(reversed(path))
