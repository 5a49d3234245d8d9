"""Why no path meets a request: the constraint to blame, in words, and the best near miss.

Called only after the constrained search failed. Constraints are tested in
:data:`vnstitch.stitcher.path_results.BLAME_ORDER`; each near miss is the best path that meets every
constraint before the blamed one and fails the blamed one:

* zone: the cheapest path with enough free bandwidth that leaves the allowed zones (or, if
  none has the bandwidth, the cheapest path at all);
* bandwidth: the widest path within the allowed zones;
* latency: the fastest path within zones and bandwidth, or when every such path crosses an
  unmeasured link, the cheapest of them.
"""

from __future__ import annotations

import itertools

from vnstitch.stitcher.adjacency import Adjacency
from vnstitch.stitcher.cost import CostWeights
from vnstitch.stitcher.path_results import (
    BANDWIDTH,
    CONNECTIVITY,
    LATENCY,
    ZONE,
    NearMiss,
    NoPath,
    PathRequest,
)
from vnstitch.stitcher.search import (
    ArcRule,
    Path,
    bottleneck,
    cheapest_path,
    path_latency,
    reachable,
    widest_path,
)


def explain_no_path(
    adj: Adjacency, request: PathRequest, rule: ArcRule, weights: CostWeights
) -> NoPath:
    """Blame the first constraint in BLAME_ORDER that no path meets (endpoints already ok)."""
    src, dst = request.src, request.dst
    open_rule = rule.without(zone=True, bandwidth=True, latency=True)
    if not _reachable(adj, src, dst, open_rule):
        extra = " without the excluded links" if rule.excluded else ""
        return NoPath(CONNECTIVITY, f"no path from {src} to {dst} in the topology{extra}")
    zone_rule = rule.without(bandwidth=True, latency=True)
    if zone_rule != open_rule and not _reachable(adj, src, dst, zone_rule):
        return _zone_failure(adj, request, rule, weights)
    zone_bw_rule = rule.without(latency=True)
    latency_prunes = rule.needs_latency and adj.has_unmeasured
    if not latency_prunes or not reachable(adj, src, dst, zone_bw_rule):
        return _bandwidth_failure(adj, request, zone_rule)
    return _unmeasured_failure(adj, request, zone_bw_rule, weights)


def _reachable(adj: Adjacency, src: int, dst: int, rule: ArcRule) -> bool:
    """Reachability under a zone-only rule, from the cached zone parts where they apply."""
    parts = None if rule.excluded else adj.zone_parts(rule.bad_zone_keys, rule.bad_node_zones)
    if parts is None:
        return reachable(adj, src, dst, rule)
    return src in parts and parts.get(src) == parts.get(dst)


def too_slow(adj: Adjacency, request: PathRequest, rule: ArcRule, fastest: Path) -> NoPath:
    """NoPath for a request whose fastest feasible path still exceeds its latency bound."""
    latency = path_latency(adj, fastest)
    violation = f"takes {_ms(latency)} ms"
    reason = (
        f"no path from {request.src} to {request.dst} within {_ms(request.max_latency_ms)} ms: "
        f"the fastest {violation}"
    )
    return NoPath(LATENCY, reason, _near_miss(adj, fastest, rule, violation))


def _zone_failure(
    adj: Adjacency, request: PathRequest, rule: ArcRule, weights: CostWeights
) -> NoPath:
    """NoPath blaming zones, with the cheapest path that leaves them as the near miss."""
    src, dst = request.src, request.dst
    near = cheapest_path(adj, src, dst, rule.without(zone=True, latency=True), weights)
    if near is None:
        near = cheapest_path(
            adj, src, dst, rule.without(zone=True, bandwidth=True, latency=True), weights
        )
    assert near is not None, "connectivity was checked first"
    violation = _zone_violation(adj, near, request)
    reason = f"no path from {src} to {dst} {_zone_policy(request)}: the cheapest {violation}"
    return NoPath(ZONE, reason, _near_miss(adj, near, rule, violation))


def _bandwidth_failure(adj: Adjacency, request: PathRequest, zone_rule: ArcRule) -> NoPath:
    """NoPath blaming bandwidth, with the widest path within the zones as the near miss."""
    found = widest_path(adj, request.src, request.dst, zone_rule)
    assert found is not None, "zones were checked first"
    path, _ = found
    free, where = bottleneck(adj, path, zone_rule)
    link = _narrowest_direction(adj, zone_rule, where)
    violation = f"has {_mbps(free)} Mbit/s free on {link}"
    reason = (
        f"no path from {request.src} to {request.dst} with {_mbps(request.bandwidth_mbps)} "
        f"Mbit/s free{' both ways' if zone_rule.bidirectional else ''}: best {violation}"
    )
    return NoPath(BANDWIDTH, reason, _near_miss(adj, path, zone_rule, violation))


def _unmeasured_failure(
    adj: Adjacency, request: PathRequest, rule: ArcRule, weights: CostWeights
) -> NoPath:
    """NoPath blaming latency because every otherwise feasible path has an unmeasured link."""
    path = cheapest_path(adj, request.src, request.dst, rule, weights)
    assert path is not None, "bandwidth was checked first"
    hop = next((u, v) for u, v in itertools.pairwise(path) if adj.arcs[u, v][1] is None)
    violation = f"crosses {hop[0]}->{hop[1]}, whose latency is not measured yet"
    reason = (
        f"no path from {request.src} to {request.dst} within {_ms(request.max_latency_ms)} ms "
        f"with every link's latency measured: the cheapest {violation}"
    )
    return NoPath(LATENCY, reason, _near_miss(adj, path, rule, violation))


def _zone_violation(adj: Adjacency, path: Path, request: PathRequest) -> str:
    """Where a path first enters a zone the request forbids."""
    for u, v in itertools.pairwise(path):
        for zone in sorted(adj.arcs[u, v][4]):
            if request.forbids_zone(zone):
                return f"crosses zone {zone!r} on link {u}->{v}"
        if request.forbids_zone(adj.node_zone[v]):
            return f"crosses zone {adj.node_zone[v]!r} at switch {v}"
    raise AssertionError("the near miss of a zone failure must leave the allowed zones")


def _zone_policy(request: PathRequest) -> str:
    """The request's zone policy as a phrase: 'stays within zones a, b and avoids c'."""
    parts = []
    if request.zones is not None:
        parts.append(f"stays within zones {', '.join(sorted(request.zones)) or '(none)'}")
    if request.avoid_zones:
        parts.append(f"avoids zones {', '.join(sorted(request.avoid_zones))}")
    return " and ".join(parts)


def _narrowest_direction(adj: Adjacency, rule: ArcRule, link: tuple[int, int] | None) -> str:
    """'u->v', naming the direction with less free bandwidth on a bidirectional link."""
    assert link is not None, "a multi-switch path has a bottleneck link"
    u, v = link
    if rule.bidirectional:
        forward_only = ArcRule(free_mbps=rule.free_mbps)
        if forward_only.free_on(u, adj.arcs[u, v]) > rule.free_on(u, adj.arcs[u, v]):
            return f"{v}->{u}"
    return f"{u}->{v}"


def _near_miss(adj: Adjacency, path: Path, rule: ArcRule, violation: str) -> NearMiss:
    """A NearMiss for the path, measured under the request's rule."""
    free, _ = bottleneck(adj, path, rule)
    return NearMiss(path, path_latency(adj, path), free, violation)


def _ms(value: float | None) -> str:
    """Milliseconds for a sentence: three decimals at most, no trailing zeros."""
    return "unknown" if value is None else f"{round(value, 3):g}"


def _mbps(value: float) -> str:
    """Mbit/s for a sentence: three decimals at most, no trailing zeros."""
    return f"{round(value, 3):g}"
