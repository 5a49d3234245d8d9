"""Property test: path search agrees with brute force over every simple path of small graphs.

For random graphs, zones, free bandwidth and requests, an independent enumeration of all simple
paths decides what the answer must be: a path when some path meets every constraint (and then
the cheapest one when there is no latency bound), else NoPath blaming the first constraint in
BLAME_ORDER that no path meets, with a near miss that fails exactly that constraint.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import networkx as nx
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from vnstitch.stitcher.cost import DEFAULT_WEIGHTS
from vnstitch.stitcher.paths import NoPath, PathFound, PathRequest, PathSearch

ZONES = ["core", "dmz", "lab"]
CAPACITY = 100.0
# Latencies in exact halves so that sums compare exactly whatever their order; 1 in 9 unmeasured.
latencies = st.sampled_from([None, *(h / 2 for h in range(9))])
frees = st.sampled_from([0.0, 5.0, 20.0, 50.0, 80.0, 100.0])
node_zones = st.sampled_from(["core", "core", "core", "core", "dmz", "lab"])
link_zones = st.sampled_from(["core", "core", "dmz", "lab"])
# Requests mostly allow core so that endpoints usually pass and zones bite in the middle.
allowed_zones = st.one_of(
    st.none(), st.frozensets(st.sampled_from(ZONES), max_size=2).map(lambda z: z | {"core"})
)
avoided_zones = st.frozensets(st.sampled_from(["dmz", "lab"]), max_size=1)
bounds = st.integers(0, 20).map(lambda h: h / 2)


@dataclass(frozen=True)
class Scenario:
    """A random graph with free bandwidth per link and one request on it."""

    graph: nx.DiGraph
    free: dict[tuple[int, int], float]
    request: PathRequest
    bidirectional: bool

    def free_mbps(self, u: int, v: int) -> float:
        """Free bandwidth of u->v."""
        return self.free[u, v]


@st.composite
def scenarios(draw: st.DrawFn, latency_focus: bool = False) -> Scenario:
    """Draw a graph of 2-6 switches (each directed link present 2 times in 3) and a request.

    Half the graphs are cabled like the NTD's: every link both ways with one zone, which lets
    the search answer zone reachability from cached parts instead of searching.

    ``latency_focus`` draws only latency-bounded requests without zone policies, so that the
    bounded search (fastest path, LARAC) is exercised often.
    """
    n = draw(st.integers(min_value=2, max_value=6))
    nodes = list(range(1, n + 1))
    pairs = [(u, v) for u in nodes for v in nodes if u != v]
    graph = nx.DiGraph()
    for node in nodes:
        graph.add_node(node, zone=draw(node_zones))
    free = {}
    cabled = draw(st.booleans())
    present = draw(
        st.lists(st.sampled_from([True, True, False]), min_size=len(pairs), max_size=len(pairs))
    )
    for (u, v), here in zip(pairs, present, strict=True):
        if not here or (cabled and u > v):
            continue
        zone = draw(link_zones)
        for a, b in [(u, v), (v, u)] if cabled else [(u, v)]:
            graph.add_edge(a, b, latency_ms=draw(latencies), capacity_mbps=CAPACITY, zone=zone)
            free[a, b] = draw(frees)
    src = draw(st.sampled_from(nodes))
    request = PathRequest(
        src=src,
        dst=draw(st.sampled_from([n for n in nodes if n != src])),
        bandwidth_mbps=draw(st.sampled_from([0.0, 5.0, 20.0, 60.0])),
        max_latency_ms=draw(bounds if latency_focus else st.one_of(st.none(), bounds)),
        zones=None if latency_focus else draw(allowed_zones),
        avoid_zones=frozenset() if latency_focus else draw(avoided_zones),
    )
    return Scenario(graph, free, request, draw(st.booleans()))


@dataclass(frozen=True)
class Verdict:
    """Which constraints one simple path meets, judged straight from the graph."""

    path: tuple[int, ...]
    zone_ok: bool
    bandwidth_ok: bool
    measured: bool
    latency: float | None
    bottleneck: float
    cost: float

    def latency_ok(self, bound: float | None) -> bool:
        """Meets the latency bound (unmeasured links fail any bound)."""
        return bound is None or (self.latency is not None and self.latency <= bound)


def judge(s: Scenario, path: tuple[int, ...]) -> Verdict | None:
    """The path's verdict, or None if it is not a path (of both directions when bidirectional)."""
    g, r = s.graph, s.request
    links = list(itertools.pairwise(path))
    directions = [[(u, v), (v, u)] if s.bidirectional else [(u, v)] for u, v in links]
    if any(not g.has_edge(a, b) for dirs in directions for a, b in dirs):
        return None
    zone_ok = all(not r.forbids_zone(g.nodes[n]["zone"]) for n in path) and all(
        not r.forbids_zone(g.edges[a, b]["zone"]) for dirs in directions for a, b in dirs
    )
    frees = [min(s.free[a, b] for a, b in dirs) for dirs in directions]
    bandwidth_ok = r.bandwidth_mbps == 0 or all(f >= r.bandwidth_mbps for f in frees)
    per_link = [[g.edges[a, b]["latency_ms"] for a, b in dirs] for dirs in directions]
    measured = all(x is not None for lats in per_link for x in lats)
    latency = sum(max(lats) for lats in per_link) if measured else None
    cost = 0.0
    for dirs, lats in zip(directions, per_link, strict=True):
        link_latency = None if None in lats else max(lats)
        shares = [
            max(0.0, (CAPACITY - s.free[a, b] + r.bandwidth_mbps) / CAPACITY) for a, b in dirs
        ]
        cost += DEFAULT_WEIGHTS.link_cost(link_latency, max(shares))
    bottleneck = min(frees, default=float("inf"))
    return Verdict(path, zone_ok, bandwidth_ok, measured, latency, bottleneck, cost)


def all_verdicts(s: Scenario) -> list[Verdict]:
    """Verdicts of every simple path from src to dst."""
    r = s.request
    if r.src == r.dst:
        paths: list[tuple[int, ...]] = [(r.src,)]
    else:
        paths = [tuple(p) for p in nx.all_simple_paths(s.graph, r.src, r.dst)]
    return [v for v in (judge(s, p) for p in paths) if v is not None]


def expected_constraint(s: Scenario, verdicts: list[Verdict]) -> str | None:
    """The constraint brute force blames, or None when some path meets every one."""
    r, g = s.request, s.graph
    if any(r.forbids_zone(g.nodes[n]["zone"]) for n in (r.src, r.dst)):
        return "endpoint"
    stages = [
        ("connectivity", verdicts),
        ("zone", [v for v in verdicts if v.zone_ok]),
        ("bandwidth", [v for v in verdicts if v.zone_ok and v.bandwidth_ok]),
        (
            "latency",
            [
                v
                for v in verdicts
                if v.zone_ok and v.bandwidth_ok and v.latency_ok(r.max_latency_ms)
            ],
        ),
    ]
    for constraint, survivors in stages:
        if not survivors:
            return constraint
    return None


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_search_agrees_with_brute_force(s: Scenario) -> None:
    check_against_brute_force(s)


@settings(max_examples=300, deadline=None)
@given(scenarios(latency_focus=True))
def test_bounded_search_agrees_with_brute_force(s: Scenario) -> None:
    check_against_brute_force(s)


def check_against_brute_force(s: Scenario) -> None:
    """The search's answer is the one brute force over all simple paths demands."""
    result = PathSearch(s.graph).find(s.request, s.free_mbps, bidirectional=s.bidirectional)
    verdicts = all_verdicts(s)
    expected = expected_constraint(s, verdicts)
    event(f"{expected or 'found'}, bounded={s.request.max_latency_ms is not None}")
    r = s.request
    if expected is None:
        assert isinstance(result, PathFound), result
        verdict = judge(s, result.path)
        assert verdict is not None, "not a path of the graph"
        assert result.path[0] == r.src and result.path[-1] == r.dst
        assert len(set(result.path)) == len(result.path), "not a simple path"
        assert verdict.zone_ok and verdict.bandwidth_ok and verdict.latency_ok(r.max_latency_ms)
        assert result.latency_ms == verdict.latency
        assert result.bottleneck_free_mbps == verdict.bottleneck
        assert result.cost == pytest.approx(verdict.cost)
        if r.max_latency_ms is None:
            best = min(v.cost for v in verdicts if v.zone_ok and v.bandwidth_ok)
            assert result.cost == pytest.approx(best)
        return
    assert isinstance(result, NoPath), (expected, result)
    assert result.constraint == expected, result
    check_near_miss(s, result, verdicts)


def check_near_miss(s: Scenario, result: NoPath, verdicts: list[Verdict]) -> None:
    """The near miss fails exactly the blamed constraint and is the best such path."""
    r, miss = s.request, result.near_miss
    if result.constraint in ("endpoint", "connectivity"):
        assert miss is None
        return
    assert miss is not None
    verdict = judge(s, miss.path)
    assert verdict is not None and miss.path[0] == r.src and miss.path[-1] == r.dst
    if result.constraint == "zone":
        assert not verdict.zone_ok
    elif result.constraint == "bandwidth":
        assert verdict.zone_ok and not verdict.bandwidth_ok
        widest = max(v.bottleneck for v in verdicts if v.zone_ok)
        assert miss.bottleneck_free_mbps == verdict.bottleneck == widest
    else:
        assert verdict.zone_ok and verdict.bandwidth_ok
        assert not verdict.latency_ok(r.max_latency_ms)
        timed = [v.latency for v in verdicts if v.zone_ok and v.bandwidth_ok and v.measured]
        if timed:
            assert miss.latency_ms == verdict.latency == min(x for x in timed if x is not None)
