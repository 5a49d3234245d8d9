"""Link protection: a detour around every link of a reservation's path, failed over by the switch.

Why per-hop detours and not one end-to-end backup path: with OpenFlow fast-failover groups only
the switch whose port went down reacts. An end-to-end backup would need that switch to send
the packets back upstream to the source (or a group at every hop pointing at the backup), so
per-hop detours are the natural fit: the switch next to the failure moves the traffic itself,
and nothing else changes.

For each direction of the path ``v0 .. vk`` and each link ``vi -> vi+1`` (searched from the last
link back to the first):

* a fast-failover group on ``vi`` (``vnstitch.rules.groups``): bucket 1 out of the link's port
  (watching it), bucket 2 out of the detour's first port. The path's rule on ``vi`` sends to
  the group instead of the port;
* the detour: the cheapest way (latency + a per-hop cost) from ``vi`` that avoids the cable
  ``vi - vi+1`` (both directions fail together) and every link of this direction's path, within
  the request's zones and with enough backup bandwidth for this failure, to the first switch
  that is either on the path downstream of the link (it *rejoins* there: a rule for the
  detour's in-port sends on along the path, or to the receiver at the last switch), or an
  entry (switch, in-port) an earlier detour of this direction already uses (it *merges*: from
  there it goes where that detour goes; allowed only if that way avoids the failed cable);
* transit rules on the detour's switches: match as the path's rules do, with the detour's
  in-port, out of the next port.

A detour may start back the way the packets came (on a ring every detour but the first link's
does): its bucket then outputs to IN_PORT, which is right because only the path's own rule,
with its one in-port, sends to the group (rejoin rules output straight to the path's port).

Entries are keyed by (switch, in-port), so detours never fight over an entry: one entry per
key, and a detour that reaches a taken key follows it. Packets only move downstream: every
rejoin is further along the path than the link it avoids, so no failure pattern makes a loop.

What each failure costs: when cable ``c`` fails, the traffic of each direction whose path uses
it runs over that link's detour and on from where it merges. ``backup[c][l]`` is that, per
directed link ``l``; the stitch service books it in the shared backup pool
(``vnstitch.resources.backup``), which checks the room of every link per failure.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import networkx as nx

from topology.model import DEFAULT_ZONE, LinkId, dpid_str
from vnstitch.resources.backup import Cable
from vnstitch.resources.keys import NodeResource, ResourceKind
from vnstitch.rules.groups import failover_group
from vnstitch.rules.model import Action, FlowRule, Group, Output
from vnstitch.stitcher.reservation import BackupDemand, Detour, PathPlan, ReservationRequest

UNKNOWN_LATENCY_MS = 5.0  # an unmeasured link's cost, as in vnstitch.stitcher.cost
HOP_MS = 0.05
_SLACK = 1e-9  # Mbit/s: room that equal floats may lack by rounding

Room = Callable[[Cable, LinkId], float]  # backup Mbit/s one more consumer may use on a link
# when a cable fails: what the link holds less its primary bookings and the pool's other
# consumers of that failure (``vnstitch.resources.backup.BackupPool.room``)


@dataclass(frozen=True)
class NoBackup:
    """No detour around ``link`` (a directed link of the path) fits; ``reason`` says why."""

    link: LinkId
    reason: str

    def describe(self) -> str:
        """``no backup around link A:p -> B:q: reason``."""
        return f"no backup around link {link_text(self.link)}: {self.reason}"


def link_text(link: LinkId) -> str:
    """``0000000000000001:12 -> 0000000000000002:11``."""
    return f"{dpid_str(link.src)}:{link.src_port} -> {dpid_str(link.dst)}:{link.dst_port}"


def cable_of(link: LinkId) -> Cable:
    """The cable a directed link belongs to (both directions name the same one)."""
    return min(link, link.reverse())


def link_id(graph: nx.DiGraph, u: int, v: int) -> LinkId:
    """The directed link u -> v of the graph."""
    data = graph.edges[u, v]
    return LinkId(u, int(data["src_port"]), v, int(data["dst_port"]))


@dataclass(frozen=True, slots=True)
class _Entry:
    """A detour's flow entry on (switch, in-port): out of ``out_port``, or back on the path at
    ``rejoin`` (its index); ``onward``: the links a packet takes from here until it is back."""

    out_port: int | None
    rejoin: int | None
    onward: tuple[LinkId, ...]


@dataclass
class _Direction:
    """One direction of the path and the detour entries it has so far."""

    graph: nx.DiGraph
    path: tuple[int, ...]
    reverse: bool
    index: dict[int, int] = field(init=False)
    edges: frozenset[tuple[int, int]] = field(init=False)
    entries: dict[tuple[int, int], _Entry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {d: i for i, d in enumerate(self.path)}
        self.edges = frozenset(itertools.pairwise(self.path))

    def hop(self, i: int) -> LinkId:
        """The path's i-th link."""
        return link_id(self.graph, self.path[i], self.path[i + 1])

    def add(self, hop: int, nodes: tuple[int, ...]) -> tuple[LinkId, ...] | None:
        """Take the entries of the detour ``nodes`` around link ``hop``; returns the links its
        traffic crosses when that link fails (None: the detour does not fit this graph)."""
        graph = self.graph
        if len(nodes) < 2 or nodes[0] != self.path[hop]:
            return None
        pairs = list(itertools.pairwise(nodes))
        banned = {self.path[hop], self.path[hop + 1]}
        if any(not graph.has_edge(u, v) or (u, v) in self.edges for u, v in pairs):
            return None
        if any({u, v} == banned for u, v in pairs):
            return None
        links = tuple(link_id(graph, u, v) for u, v in pairs)
        end = (nodes[-1], links[-1].dst_port)
        merged = self.entries.get(end)
        if merged is not None:
            if any({lk.src, lk.dst} == banned for lk in merged.onward):
                return None
            onward_end = merged.onward
        else:
            j = self.index.get(nodes[-1])
            if j is None or j <= hop:
                return None
            onward_end = ()
        new: dict[tuple[int, int], _Entry] = {}
        for t in range(1, len(nodes) - 1):
            key = (nodes[t], links[t - 1].dst_port)
            if key in self.entries or key in new or nodes[t] == self.path[hop]:
                return None
            new[key] = _Entry(links[t].src_port, None, links[t:] + onward_end)
        if merged is None:
            new[end] = _Entry(None, self.index[nodes[-1]], ())
        self.entries.update(new)
        return links + onward_end


@dataclass
class _Search:
    """The detours of one plan: both directions, the backup they take per failed cable."""

    graph: nx.DiGraph
    request: ReservationRequest
    rate: float
    room: Room
    used: dict[tuple[Cable, LinkId], float] = field(default_factory=dict)

    def fits(self, cable: Cable, link: LinkId) -> bool:
        left = self.room(cable, link) - self.used.get((cable, link), 0.0)
        return left + _SLACK >= self.rate

    def take(self, cable: Cable, links: tuple[LinkId, ...]) -> None:
        for link in links:
            self.used[cable, link] = self.used.get((cable, link), 0.0) + self.rate

    def detour(self, direction: _Direction, hop: int) -> tuple[int, ...] | NoBackup:
        """The cheapest detour around the direction's link ``hop``, or why there is none."""
        graph, path = self.graph, direction.path
        start, after = path[hop], path[hop + 1]
        failed = direction.hop(hop)
        cable = cable_of(failed)
        dist: dict[int, float] = {start: 0.0}
        prev: dict[int, int] = {}
        heap = [(0.0, start)]
        best: tuple[float, tuple[int, ...]] | None = None
        short = False
        while heap:
            d, u = heapq.heappop(heap)
            if d > dist.get(u, math.inf):
                continue
            if best is not None and d >= best[0]:
                break
            for w, data in graph.succ[u].items():
                if {u, w} == {start, after} or (u, w) in direction.edges or w == start:
                    continue
                if not _zone_ok(self.request, str(data.get("zone", DEFAULT_ZONE))):
                    continue
                if not _zone_ok(self.request, str(graph.nodes[w].get("zone", DEFAULT_ZONE))):
                    continue
                link = link_id(graph, u, w)
                if not self.fits(cable, link):
                    short = True
                    continue
                cost = d + _cost(data)
                entry = direction.entries.get((w, link.dst_port))
                j = direction.index.get(w)
                if entry is not None or (j is not None and j > hop):
                    if entry is not None and not _avoids(entry.onward, cable):
                        continue  # that way crosses the failed cable
                    if entry is not None and not all(self.fits(cable, k) for k in entry.onward):
                        short = True
                        continue
                    if best is None or cost < best[0]:
                        best = (cost, (*_walk(prev, u, start), w))
                    continue
                if cost < dist.get(w, math.inf):
                    dist[w] = cost
                    prev[w] = u
                    heapq.heappush(heap, (cost, w))
        if best is not None:
            return best[1]
        if short:
            why = f"not enough free bandwidth for a backup of {self.rate:g} Mbit/s"
        else:
            why = "no other way around it (within the allowed zones)"
        return NoBackup(failed, why)


def _avoids(links: tuple[LinkId, ...], cable: Cable) -> bool:
    return all(cable_of(lk) != cable for lk in links)


def _zone_ok(request: ReservationRequest, zone: str) -> bool:
    if zone in request.avoid_zones:
        return False
    return request.zones is None or zone in request.zones


def _measured(data: Mapping[str, object]) -> float | None:
    """A link's measured latency in ms, or None if it has none (yet)."""
    latency = data.get("latency_ms")
    ok = isinstance(latency, int | float) and math.isfinite(latency) and latency >= 0
    return float(latency) if ok else None  # type: ignore[arg-type]


def _cost(data: Mapping[str, object]) -> float:
    latency = _measured(data)
    return (UNKNOWN_LATENCY_MS if latency is None else latency) + HOP_MS


def _walk(prev: Mapping[int, int], node: int, start: int) -> tuple[int, ...]:
    out = [node]
    while node != start:
        node = prev[node]
        out.append(node)
    return tuple(reversed(out))


def _directions(graph: nx.DiGraph, plan: PathPlan) -> list[_Direction]:
    out = [_Direction(graph, plan.path, False)]
    if plan.reverse_path:
        out.append(_Direction(graph, plan.reverse_path, True))
    return out


def find_detours(
    graph: nx.DiGraph, plan: PathPlan, request: ReservationRequest, room: Room
) -> tuple[Detour, ...] | NoBackup:
    """A detour around every link of both directions of ``plan`` that fits, or why not."""
    search = _Search(graph, request, plan.meter_rate_mbps, room)
    out: list[Detour] = []
    for direction in _directions(graph, plan):
        for hop in reversed(range(len(direction.path) - 1)):
            found = search.detour(direction, hop)
            if isinstance(found, NoBackup):
                return found
            links = direction.add(hop, found)
            assert links is not None, "a detour the search found fits"
            search.take(cable_of(direction.hop(hop)), links)
            out.append(Detour(direction.reverse, hop, found))
    return tuple(out)


def protect_plan(
    graph: nx.DiGraph,
    plan: PathPlan,
    detours: tuple[Detour, ...],
    group_ids: Mapping[tuple[int, bool], int],
) -> PathPlan | None:
    """``plan`` with its detours installed: groups, rules, demands and backup per cable.

    ``group_ids`` names the group on each (switch, reverse?) of the paths but their last.
    None if a detour no longer fits the graph (e.g. a stored plan after links changed).
    """
    directions = {d.reverse: d for d in _directions(graph, plan)}
    ingress = {False: plan.ingress[0], True: plan.ingress[-1]}
    backup: BackupDemand = {}
    rate = plan.meter_rate_mbps
    order = sorted(detours, key=lambda d: (d.reverse, -d.hop))
    wanted = {(d.reverse, h) for d in directions.values() for h in range(len(d.path) - 1)}
    if {(d.reverse, d.hop) for d in order} != wanted or len(order) != len(wanted):
        return None
    first_port: dict[tuple[bool, int], int] = {}
    failover: dict[tuple[bool, int], float | None] = {}
    for detour in order:
        direction = directions.get(detour.reverse)
        if direction is None or not 0 <= detour.hop < len(direction.path) - 1:
            return None
        links = direction.add(detour.hop, detour.path)
        if links is None:
            return None
        first_port[detour.reverse, detour.hop] = links[0].src_port
        failover[detour.reverse, detour.hop] = _failover_latency(
            graph, direction, detour.hop, links
        )
        cable = cable_of(direction.hop(detour.hop))
        per_link = backup.setdefault(cable, {})
        for link in links:
            per_link[link] = per_link.get(link, 0.0) + rate
    groups = []
    via_group: dict[tuple[int, int, int], int] = {}  # (dpid, in_port, out_port) -> group id
    for reverse, direction in directions.items():
        path = direction.path
        for i in range(len(path) - 1):
            gid = group_ids.get((path[i], reverse))
            if gid is None:
                return None
            out_port = direction.hop(i).src_port
            in_port = ingress[reverse].match.in_port if i == 0 else direction.hop(i - 1).dst_port
            assert in_port is not None
            backup_port = first_port[reverse, i]
            groups.append(failover_group(path[i], gid, out_port, backup_port, in_port))
            via_group[path[i], in_port, out_port] = gid
    rules = [_through_group(r, via_group) for r in plan.rules]
    first = tuple(_through_group(r, via_group) for r in plan.ingress)
    for reverse, direction in directions.items():
        template = ingress[reverse]
        for (dpid, in_port), entry in sorted(direction.entries.items()):
            actions: tuple[Action, ...]
            if entry.out_port is not None:
                actions = (Output(entry.out_port),)
            elif entry.rejoin == len(direction.path) - 1:
                actions = _egress(plan.rules, direction, template).actions
            else:  # back on the path: on along it (never through the group, see above)
                assert entry.rejoin is not None
                actions = (Output(direction.hop(entry.rejoin).src_port),)
            match = replace(template.match, in_port=in_port)
            rules.append(FlowRule(dpid, template.priority, match, actions, template.cookie))
    demands = dict(plan.demands)
    for rule in rules[len(plan.rules) :]:
        key = NodeResource(ResourceKind.FLOWS, rule.dpid)
        demands[key] = demands.get(key, 0) + 1
    return replace(
        plan,
        rules=tuple(rules),
        ingress=first,
        demands=demands,
        groups=tuple(groups),
        detours=tuple(order),
        backup=backup,
        group_ids=dict(group_ids),
        failover_latency_ms=failover,
    )


def _failover_latency(
    graph: nx.DiGraph, direction: _Direction, hop: int, links: tuple[LinkId, ...]
) -> float | None:
    """The direction's one-way latency with link ``hop`` failed over: the path up to it, the
    detour (and the detour it merges into) until back on the path, then the path on."""
    path = direction.path
    back = direction.index[links[-1].dst]
    ways = [*itertools.pairwise(path[: hop + 1]), *((k.src, k.dst) for k in links)]
    ways += itertools.pairwise(path[back:])
    total = 0.0
    for u, v in ways:
        latency = _measured(graph.edges[u, v])
        if latency is None:
            return None
        total += latency
    return total


def _egress(rules: tuple[FlowRule, ...], direction: _Direction, template: FlowRule) -> FlowRule:
    """The direction's last rule: it enters from the path and leaves towards the receiver."""
    in_port = direction.hop(len(direction.path) - 2).dst_port
    same = replace(template.match, in_port=in_port)
    return next(r for r in rules if r.dpid == direction.path[-1] and r.match == same)


def _through_group(rule: FlowRule, via_group: Mapping[tuple[int, int, int], int]) -> FlowRule:
    """The path's rule sending to its hop's group instead of straight out of the port."""
    ports = rule.out_ports()
    if len(ports) != 1 or rule.match.in_port is None:
        return rule
    gid = via_group.get((rule.dpid, rule.match.in_port, ports[0]))
    if gid is None:
        return rule
    return replace(rule, actions=(Group(gid),))


def hops_needing_groups(plan: PathPlan) -> list[tuple[int, bool]]:
    """(switch, reverse?) of every link's upstream switch: where a protected plan has groups."""
    out = [(d, False) for d in plan.path[:-1]]
    out += [(d, True) for d in plan.reverse_path[:-1]]
    return out
