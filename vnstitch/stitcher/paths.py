"""Constrained path search for stitching: the cheapest path that meets a request, or why not.

Algorithm (one request):

1. Endpoints: both switches must exist and sit in zones the request allows.
2. Prune and search: one Dijkstra on the documented cost (:mod:`vnstitch.stitcher.cost`) that skips
   every link failing the zone policy, an excluded link, a link with less free bandwidth than
   requested, and (only when the request has a latency bound) a link whose latency is not
   measured yet. Pruning happens as links are met, so unreached links cost nothing.
3. Latency bound: if the cheapest path meets it, done. Else the fastest path on the same
   pruned graph decides: slower than the bound means no path can meet it (NoPath "latency"
   with the fastest as near miss); otherwise LARAC (Lagrangian relaxation, at most
   ``LARAC_ITERATIONS`` more searches) trades cost for latency and returns the cheapest path
   it found within the bound, at worst the fastest path itself.
4. No path at all: :mod:`vnstitch.stitcher.diagnosis` blames a constraint in BLAME_ORDER.

``PathSearch`` snapshots the graph once (O(links)); build one per topology version and ask it
many requests. ``find_path`` and ``find_bidirectional_path`` are one-shot conveniences.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Set

import networkx as nx

from topology.model import LinkId
from vnstitch.stitcher.adjacency import (
    Adjacency,
    ZoneKey,
    bidirectional_adjacency,
    forward_adjacency,
)
from vnstitch.stitcher.cost import DEFAULT_WEIGHTS, CostWeights
from vnstitch.stitcher.diagnosis import explain_no_path, too_slow
from vnstitch.stitcher.path_results import (
    BANDWIDTH,
    BLAME_ORDER,
    CONNECTIVITY,
    ENDPOINT,
    LATENCY,
    NearMiss,
    NoPath,
    PathFound,
    PathRequest,
    PathResult,
)
from vnstitch.stitcher.search import (
    ArcRule,
    FreeMbps,
    Path,
    bottleneck,
    cheapest_path,
    path_cost,
    path_latency,
)

__all__ = [
    "BLAME_ORDER",
    "LARAC_ITERATIONS",
    "FreeMbps",
    "NearMiss",
    "NoPath",
    "PathFound",
    "PathRequest",
    "PathResult",
    "PathSearch",
    "find_bidirectional_path",
    "find_path",
    "path_link_ids",
]

LARAC_ITERATIONS = 6
"""Most Lagrangian searches spent improving on the fastest path under a latency bound."""

_ZONE_CACHE_SIZE = 256


class PathSearch:
    """Constrained path search over one version of the topology graph."""

    def __init__(self, graph: nx.DiGraph, weights: CostWeights = DEFAULT_WEIGHTS) -> None:
        self.weights = weights
        self._graph = graph
        self._forward = forward_adjacency(graph)
        self._both: Adjacency | None = None
        self._zone_rules: dict[tuple[object, ...], tuple[frozenset[ZoneKey], frozenset[str]]] = {}

    def find(
        self,
        request: PathRequest,
        free_mbps: FreeMbps | None = None,
        exclude_edges: Set[tuple[int, int]] = frozenset(),
        bidirectional: bool = False,
    ) -> PathResult:
        """The cheapest path meeting the request, or NoPath naming the constraint to blame.

        ``free_mbps(u, v)`` is the free bandwidth of link u->v (default: its capacity);
        ``exclude_edges`` lists directed links not to use; ``bidirectional`` also requires
        every link's reverse direction to meet the request.
        """
        adj = self._adjacency(bidirectional)
        src, dst = request.src, request.dst
        refused = _endpoint_refusal(adj, request)
        if refused is not None:
            return refused
        rule = self._rule(adj, request, free_mbps, exclude_edges, bidirectional)
        if src == dst:
            return PathFound((src,), 0.0, 0.0, math.inf)
        path = cheapest_path(adj, src, dst, rule, self.weights)
        if path is None:
            return explain_no_path(adj, request, rule, self.weights)
        bound = request.max_latency_ms
        if bound is not None and _latency(adj, path) > bound:
            fastest = cheapest_path(adj, src, dst, rule, self.weights, 0.0, 1.0)
            assert fastest is not None, "the cheapest path proves one exists"
            if _latency(adj, fastest) > bound:
                return too_slow(adj, request, rule, fastest)
            path = self._larac(adj, request, rule, path, fastest, bound)
        return self._found(adj, path, rule)

    def check(
        self,
        request: PathRequest,
        path: Path,
        free_mbps: FreeMbps | None = None,
        bidirectional: bool = False,
    ) -> PathResult:
        """The given path measured as :meth:`find` would return it, or NoPath if it fails
        the request (a link gone, a forbidden zone, too little free bandwidth, too slow).

        A move planned ahead (``vnstitch.stitcher.moves``) is installed on exactly the path
        its order was checked for, not on whatever a new search would find by then.
        """
        adj = self._adjacency(bidirectional)
        refused = _endpoint_refusal(adj, request)
        if refused is not None:
            return refused
        if not path or path[0] != request.src or path[-1] != request.dst:
            return NoPath(ENDPOINT, "the path does not join the request's switches")
        rule = self._rule(adj, request, free_mbps, frozenset(), bidirectional)
        for u, v in itertools.pairwise(path):
            arc = adj.arcs.get((u, v))
            if arc is None:
                return NoPath(CONNECTIVITY, f"link {u:016x} -> {v:016x} is not in the topology")
            if not rule.admits(u, arc):
                return NoPath(BANDWIDTH, f"link {u:016x} -> {v:016x} does not admit the request")
        bound = request.max_latency_ms
        if bound is not None and _latency(adj, path) > bound:
            return NoPath(LATENCY, f"the path is slower than {bound:g} ms")
        return self._found(adj, path, rule)

    def _rule(
        self,
        adj: Adjacency,
        request: PathRequest,
        free_mbps: FreeMbps | None,
        exclude_edges: Set[tuple[int, int]],
        bidirectional: bool,
    ) -> ArcRule:
        """The links a search for ``request`` may use."""
        bad_keys, bad_nodes = self._bad_zones(adj, request)
        return ArcRule(
            bad_zone_keys=bad_keys,
            bad_node_zones=bad_nodes,
            excluded=frozenset(exclude_edges),
            free_mbps=free_mbps,
            bandwidth_mbps=request.bandwidth_mbps,
            needs_latency=request.max_latency_ms is not None,
            bidirectional=bidirectional,
        )

    def _adjacency(self, bidirectional: bool) -> Adjacency:
        """The forward snapshot, or the both-directions one (built on first use)."""
        if not bidirectional:
            return self._forward
        if self._both is None:
            self._both = bidirectional_adjacency(self._graph)
        return self._both

    def _bad_zones(
        self, adj: Adjacency, request: PathRequest
    ) -> tuple[frozenset[ZoneKey], frozenset[str]]:
        """Zone keys of links and zones of switches the request forbids (cached per policy)."""
        key = (adj.bidirectional, request.zones, request.avoid_zones)
        cached = self._zone_rules.get(key)
        if cached is None:
            bad = frozenset(z for z in adj.zones if request.forbids_zone(z))
            bad_keys = frozenset(k for k in adj.zone_keys if not k.isdisjoint(bad))
            if len(self._zone_rules) >= _ZONE_CACHE_SIZE:
                self._zone_rules.clear()
            cached = self._zone_rules[key] = (bad_keys, bad)
        return cached

    def _larac(
        self,
        adj: Adjacency,
        request: PathRequest,
        rule: ArcRule,
        cheapest: Path,
        fastest: Path,
        bound: float,
    ) -> Path:
        """LARAC: the cheapest path found within the bound, starting from the fastest one.

        Keeps a path over the bound (``over``) and one within it (``within``) and searches
        on cost + lambda * latency with the lambda that makes both equally good; stops when
        that search finds nothing better than either, or after LARAC_ITERATIONS searches.
        """
        over, within = cheapest, fastest
        c_over, d_over = path_cost(adj, over, rule, self.weights), _latency(adj, over)
        c_within, d_within = path_cost(adj, within, rule, self.weights), _latency(adj, within)
        for _ in range(LARAC_ITERATIONS):
            if c_within <= c_over or d_over <= d_within:
                break
            lam = (c_within - c_over) / (d_over - d_within)
            mix = cheapest_path(adj, request.src, request.dst, rule, self.weights, 1.0, lam)
            assert mix is not None, "the pruned graph is connected"
            c_mix, d_mix = path_cost(adj, mix, rule, self.weights), _latency(adj, mix)
            if c_mix + lam * d_mix >= (c_over + lam * d_over) * (1 - 1e-12):
                break
            if d_mix <= bound:
                within, c_within, d_within = mix, c_mix, d_mix
            else:
                over, c_over, d_over = mix, c_mix, d_mix
        return within

    def _found(self, adj: Adjacency, path: Path, rule: ArcRule) -> PathFound:
        """PathFound with the path's latency, cost and bottleneck measured under the rule."""
        free, _ = bottleneck(adj, path, rule)
        cost = path_cost(adj, path, rule, self.weights)
        return PathFound(path, path_latency(adj, path), cost, free)


def find_path(
    graph: nx.DiGraph,
    request: PathRequest,
    free_mbps: FreeMbps | None = None,
    exclude_edges: Set[tuple[int, int]] = frozenset(),
    weights: CostWeights = DEFAULT_WEIGHTS,
) -> PathResult:
    """One-shot constrained search on ``graph`` (snapshots it: use PathSearch for many)."""
    return PathSearch(graph, weights).find(request, free_mbps, exclude_edges)


def find_bidirectional_path(
    graph: nx.DiGraph,
    request: PathRequest,
    free_mbps: FreeMbps | None = None,
    exclude_edges: Set[tuple[int, int]] = frozenset(),
    weights: CostWeights = DEFAULT_WEIGHTS,
) -> PathResult:
    """Like find_path, but every link's reverse direction must meet the request as well."""
    return PathSearch(graph, weights).find(request, free_mbps, exclude_edges, bidirectional=True)


def path_link_ids(graph: nx.DiGraph, path: Path) -> tuple[LinkId, ...]:
    """The LinkIds a path crosses, from the edges' ``link`` (else their port attributes)."""
    out = []
    for u, v in itertools.pairwise(path):
        data = graph.edges[u, v]
        link = data.get("link")
        if link is not None:
            out.append(link.link_id)
        else:
            out.append(LinkId(u, int(data["src_port"]), v, int(data["dst_port"])))
    return tuple(out)


def _endpoint_refusal(adj: Adjacency, request: PathRequest) -> NoPath | None:
    """NoPath('endpoint') if an end switch is unknown or in a forbidden zone, else None."""
    for role, dpid in (("source", request.src), ("destination", request.dst)):
        zone = adj.node_zone.get(dpid)
        if zone is None:
            return NoPath(ENDPOINT, f"{role} switch {dpid} is not in the topology")
        if request.forbids_zone(zone):
            return NoPath(
                ENDPOINT, f"{role} switch {dpid} is in zone {zone!r}, which the request forbids"
            )
    return None


def _latency(adj: Adjacency, path: Path) -> float:
    """Latency of a path known to have every link measured."""
    latency = path_latency(adj, path)
    assert latency is not None, "bounded searches prune unmeasured links"
    return latency
