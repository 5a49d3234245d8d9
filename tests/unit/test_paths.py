"""Constrained path search: each constraint prunes, the cheapest path wins, failures explain."""

from __future__ import annotations

import math
from typing import Any

import networkx as nx
import pytest

from topology.model import Link, LinkId
from vnstitch.stitcher.cost import CostWeights
from vnstitch.stitcher.paths import (
    NoPath,
    PathFound,
    PathRequest,
    PathResult,
    PathSearch,
    find_bidirectional_path,
    find_path,
    path_link_ids,
)

Edge = tuple[int, int, float | None, float]


def make_graph(
    edges: list[Edge],
    node_zones: dict[int, str] | None = None,
    link_zones: dict[tuple[int, int], str] | None = None,
    both_ways: bool = True,
) -> nx.DiGraph:
    """A DiGraph shaped like the NTD's: (u, v, latency_ms, capacity_mbps) per link."""
    graph = nx.DiGraph()
    node_zones = node_zones or {}
    link_zones = link_zones or {}
    for u, v, latency, capacity in edges:
        pairs = [(u, v), (v, u)] if both_ways else [(u, v)]
        for a, b in pairs:
            for n in (a, b):
                graph.add_node(n, zone=node_zones.get(n, "core"))
            zone = link_zones.get((a, b), link_zones.get((b, a), "core"))
            graph.add_edge(a, b, latency_ms=latency, capacity_mbps=capacity, zone=zone)
    return graph


def found(result: PathResult) -> PathFound:
    """The PathFound, or a test failure showing the NoPath."""
    assert isinstance(result, PathFound), result
    return result


def failed(result: PathResult) -> NoPath:
    """The NoPath, or a test failure showing the path."""
    assert isinstance(result, NoPath), result
    return result


# Two routes 1 -> 4: via 2 (2 ms) and via 3 (3 ms).
SQUARE: list[Edge] = [
    (1, 2, 1.0, 100.0),
    (2, 4, 1.0, 100.0),
    (1, 3, 1.5, 100.0),
    (3, 4, 1.5, 100.0),
]


def test_unconstrained_request_takes_the_lowest_latency_path() -> None:
    result = found(find_path(make_graph(SQUARE), PathRequest(1, 4)))
    assert result.path == (1, 2, 4)
    assert result.links == ((1, 2), (2, 4))
    assert result.latency_ms == pytest.approx(2.0)
    assert result.bottleneck_free_mbps == 100.0


def test_cost_is_latency_plus_utilisation_plus_hops() -> None:
    weights = CostWeights(unknown_latency_ms=5.0, utilisation_ms=2.0, hop_ms=0.5)
    free = {(1, 2): 70.0, (2, 4): 100.0}
    result = found(
        find_path(
            make_graph(SQUARE),
            PathRequest(1, 4, bandwidth_mbps=10.0),
            lambda u, v: free.get((u, v), 100.0),
            weights=weights,
        )
    )
    # 1->2: 1 ms + 2 * (100 - 70 + 10) / 100 + 0.5; 2->4: 1 ms + 2 * 10 / 100 + 0.5
    assert result.path == (1, 2, 4)
    assert result.cost == pytest.approx(1.0 + 0.8 + 0.5 + 1.0 + 0.2 + 0.5)


def test_busy_links_make_a_slightly_slower_route_cheaper() -> None:
    free = {(1, 2): 5.0, (2, 4): 5.0}
    weights = CostWeights(utilisation_ms=2.0)
    result = found(
        find_path(
            make_graph(SQUARE),
            PathRequest(1, 4),
            lambda u, v: free.get((u, v), 100.0),
            weights=weights,
        )
    )
    assert result.path == (1, 3, 4)


def test_hop_cost_prefers_fewer_switches_on_equal_latency() -> None:
    graph = make_graph([(1, 2, 1.0, 100.0), (2, 3, 1.0, 100.0), (1, 3, 2.0, 100.0)])
    assert found(find_path(graph, PathRequest(1, 3))).path == (1, 3)


def test_equal_cost_paths_are_broken_by_lower_switch_id() -> None:
    graph = make_graph(
        [(1, 3, 1.0, 100.0), (3, 4, 1.0, 100.0), (1, 2, 1.0, 100.0), (2, 4, 1.0, 100.0)]
    )
    assert found(find_path(graph, PathRequest(1, 4))).path == (1, 2, 4)
    assert found(find_path(graph, PathRequest(4, 1))).path == (4, 2, 1)


def test_same_switch_is_a_path_of_one() -> None:
    result = found(find_path(make_graph(SQUARE), PathRequest(2, 2, bandwidth_mbps=500)))
    assert result.path == (2,)
    assert result.latency_ms == 0.0
    assert math.isinf(result.bottleneck_free_mbps)


# ---- bandwidth --------------------------------------------------------------------------------


def test_bandwidth_uses_free_not_capacity() -> None:
    free = {(1, 2): 12.5}
    result = find_path(
        make_graph(SQUARE),
        PathRequest(1, 4, bandwidth_mbps=50),
        lambda u, v: free.get((u, v), 100.0),
    )
    assert found(result).path == (1, 3, 4)
    assert found(find_path(make_graph(SQUARE), PathRequest(1, 4, bandwidth_mbps=50))).path == (
        1,
        2,
        4,
    )


def test_bandwidth_failure_names_the_bottleneck_of_the_widest_path() -> None:
    free = {(1, 2): 12.5, (3, 4): 30.0}
    result = failed(
        find_path(
            make_graph(SQUARE),
            PathRequest(1, 4, bandwidth_mbps=50),
            lambda u, v: free.get((u, v), 100.0),
        )
    )
    assert result.constraint == "bandwidth"
    assert (
        result.reason == "no path from 1 to 4 with 50 Mbit/s free: best has 30 Mbit/s free on 3->4"
    )
    assert result.near_miss is not None
    assert result.near_miss.path == (1, 3, 4)
    assert result.near_miss.bottleneck_free_mbps == 30.0


def test_zero_bandwidth_request_needs_no_free_capacity() -> None:
    result = find_path(make_graph(SQUARE), PathRequest(1, 4), lambda u, v: 0.0)
    assert found(result).path == (1, 2, 4)


# ---- latency ----------------------------------------------------------------------------------


def test_unmeasured_link_serves_an_unbounded_request() -> None:
    graph = make_graph([(1, 2, None, 100.0), (2, 3, 1.0, 100.0)])
    result = found(find_path(graph, PathRequest(1, 3)))
    assert result.path == (1, 2, 3)
    assert result.latency_ms is None


def test_unmeasured_link_fails_a_latency_bound() -> None:
    graph = make_graph(
        [(1, 2, None, 100.0), (2, 4, 0.1, 100.0), (1, 3, 4.0, 100.0), (3, 4, 4.0, 100.0)]
    )
    assert found(find_path(graph, PathRequest(1, 4))).path == (1, 2, 4)
    assert found(find_path(graph, PathRequest(1, 4, max_latency_ms=100))).path == (1, 3, 4)


def test_only_unmeasured_routes_blame_latency() -> None:
    graph = make_graph([(1, 2, 1.0, 100.0), (2, 3, None, 100.0)])
    result = failed(find_path(graph, PathRequest(1, 3, max_latency_ms=10)))
    assert result.constraint == "latency"
    assert "2->3" in result.reason and "not measured" in result.reason
    assert result.near_miss is not None and result.near_miss.path == (1, 2, 3)


def test_bound_below_the_fastest_path_blames_latency_with_the_fastest_as_near_miss() -> None:
    result = failed(find_path(make_graph(SQUARE), PathRequest(1, 4, max_latency_ms=1.5)))
    assert result.constraint == "latency"
    assert result.reason == "no path from 1 to 4 within 1.5 ms: the fastest takes 2 ms"
    assert result.near_miss is not None
    assert result.near_miss.path == (1, 2, 4)
    assert result.near_miss.latency_ms == pytest.approx(2.0)


def test_bound_exactly_met_is_met() -> None:
    assert found(find_path(make_graph(SQUARE), PathRequest(1, 4, max_latency_ms=2.0))).path == (
        1,
        2,
        4,
    )


def test_latency_bound_trades_cost_for_the_cheapest_path_within_it() -> None:
    # Cheapest 1-2-5 is slow; 1-4-5 fastest but busy; 1-3-5 fits the bound more cheaply.
    graph = make_graph(
        [
            (1, 2, 2.5, 100.0), (2, 5, 2.5, 100.0),
            (1, 3, 1.5, 100.0), (3, 5, 1.5, 100.0),
            (1, 4, 0.5, 100.0), (4, 5, 0.5, 100.0),
        ]
    )  # fmt: skip
    free = {(1, 3): 70.0, (3, 5): 70.0, (1, 4): 0.0, (4, 5): 0.0}
    search = PathSearch(graph, CostWeights(utilisation_ms=10.0, hop_ms=0.0))
    free_mbps = lambda u, v: free.get((u, v), 100.0)  # noqa: E731
    assert found(search.find(PathRequest(1, 5), free_mbps)).path == (1, 2, 5)
    result = found(search.find(PathRequest(1, 5, max_latency_ms=4.0), free_mbps))
    assert result.path == (1, 3, 5)
    assert result.latency_ms == pytest.approx(3.0)


def test_larac_never_keeps_a_path_over_the_bound() -> None:
    # Routes 1-k-9, (latency, cost): via 2 (10, 10), 3 (6, 12), 4 (4, 20), 5 (2, 30).
    # The first Lagrangian search finds the route via 3, still over the 5 ms bound.
    route_free = {2: (5.0, 100.0), 3: (3.0, 85.0), 4: (2.0, 60.0), 5: (1.0, 30.0)}
    graph = make_graph(
        [e for k, (lat, _) in route_free.items() for e in [(1, k, lat, 100.0), (k, 9, lat, 100.0)]]
    )
    free = {e: f for k, (_, f) in route_free.items() for e in [(1, k), (k, 9)]}
    search = PathSearch(graph, CostWeights(utilisation_ms=20.0, hop_ms=0.0))
    result = found(search.find(PathRequest(1, 9, max_latency_ms=5.0), lambda u, v: free[u, v]))
    assert result.path == (1, 4, 9)
    assert result.cost == pytest.approx(20.0)


# ---- zones ------------------------------------------------------------------------------------


def test_allowed_zones_apply_to_switches() -> None:
    graph = make_graph(SQUARE, node_zones={2: "dmz"})
    assert found(find_path(graph, PathRequest(1, 4, zones=frozenset({"core"})))).path == (1, 3, 4)
    assert found(find_path(graph, PathRequest(1, 4, zones=frozenset({"core", "dmz"})))).path == (
        1,
        2,
        4,
    )


def test_avoided_zones_apply_to_switches() -> None:
    graph = make_graph(SQUARE, node_zones={2: "dmz"})
    assert found(find_path(graph, PathRequest(1, 4, avoid_zones=frozenset({"dmz"})))).path == (
        1,
        3,
        4,
    )


def test_zones_apply_to_links() -> None:
    graph = make_graph(SQUARE, link_zones={(2, 4): "leased"})
    assert found(find_path(graph, PathRequest(1, 4, avoid_zones=frozenset({"leased"})))).path == (
        1,
        3,
        4,
    )
    assert found(find_path(graph, PathRequest(1, 4, zones=frozenset({"core"})))).path == (1, 3, 4)


def test_zone_failure_names_where_the_cheapest_path_leaves_the_zones() -> None:
    graph = make_graph(SQUARE, node_zones={2: "dmz"}, link_zones={(3, 4): "leased"})
    result = failed(find_path(graph, PathRequest(1, 4, zones=frozenset({"core"}))))
    assert result.constraint == "zone"
    assert result.reason == (
        "no path from 1 to 4 stays within zones core: the cheapest crosses zone 'dmz' at switch 2"
    )
    assert result.near_miss is not None and result.near_miss.path == (1, 2, 4)
    result = failed(find_path(graph, PathRequest(1, 4, avoid_zones=frozenset({"leased", "dmz"}))))
    assert result.constraint == "zone"
    assert "avoids zones dmz, leased" in result.reason


def test_zone_near_miss_prefers_a_path_with_the_bandwidth() -> None:
    graph = make_graph(SQUARE, node_zones={2: "dmz", 3: "dmz"})
    free = {(1, 2): 5.0}
    result = failed(
        find_path(
            graph,
            PathRequest(1, 4, bandwidth_mbps=10, zones=frozenset({"core"})),
            lambda u, v: free.get((u, v), 100.0),
        )
    )
    assert result.constraint == "zone"
    assert result.near_miss is not None and result.near_miss.path == (1, 3, 4)


def test_zones_are_blamed_before_bandwidth() -> None:
    graph = make_graph(SQUARE, node_zones={2: "dmz", 3: "dmz"})
    request = PathRequest(1, 4, bandwidth_mbps=500, max_latency_ms=0.1, zones=frozenset({"core"}))
    assert failed(find_path(graph, request)).constraint == "zone"


def test_bandwidth_is_blamed_before_latency() -> None:
    request = PathRequest(1, 4, bandwidth_mbps=500, max_latency_ms=0.1)
    assert failed(find_path(make_graph(SQUARE), request)).constraint == "bandwidth"


# ---- endpoints, connectivity, exclusions ------------------------------------------------------


def test_unknown_switch_is_an_endpoint_failure() -> None:
    result = failed(find_path(make_graph(SQUARE), PathRequest(1, 9)))
    assert result.constraint == "endpoint"
    assert result.reason == "destination switch 9 is not in the topology"


def test_endpoint_in_forbidden_zone_is_an_endpoint_failure() -> None:
    graph = make_graph(SQUARE, node_zones={1: "dmz"})
    result = failed(find_path(graph, PathRequest(1, 4, avoid_zones=frozenset({"dmz"}))))
    assert result.constraint == "endpoint"
    assert result.reason == "source switch 1 is in zone 'dmz', which the request forbids"


def test_disconnected_switches_blame_connectivity() -> None:
    graph = make_graph([(1, 2, 1.0, 100.0), (3, 4, 1.0, 100.0)])
    result = failed(find_path(graph, PathRequest(1, 4, bandwidth_mbps=1000)))
    assert result.constraint == "connectivity"
    assert result.near_miss is None


def test_excluded_edges_are_not_used() -> None:
    graph = make_graph(SQUARE)
    result = find_path(graph, PathRequest(1, 4), exclude_edges=frozenset({(2, 4)}))
    assert found(result).path == (1, 3, 4)
    result = find_path(graph, PathRequest(1, 4), exclude_edges=frozenset({(2, 4), (1, 3)}))
    assert failed(result).constraint == "connectivity"
    assert "excluded" in failed(result).reason


def test_one_way_link_serves_only_its_direction() -> None:
    graph = make_graph([(1, 2, 1.0, 100.0)], both_ways=False)
    assert found(find_path(graph, PathRequest(1, 2))).path == (1, 2)
    assert failed(find_path(graph, PathRequest(2, 1))).constraint == "connectivity"


# ---- bidirectional ----------------------------------------------------------------------------


def test_bidirectional_needs_free_bandwidth_in_reverse_too() -> None:
    free = {(4, 2): 10.0}
    free_mbps = lambda u, v: free.get((u, v), 100.0)  # noqa: E731
    request = PathRequest(1, 4, bandwidth_mbps=50)
    assert found(find_path(make_graph(SQUARE), request, free_mbps)).path == (1, 2, 4)
    result = found(find_bidirectional_path(make_graph(SQUARE), request, free_mbps))
    assert result.path == (1, 3, 4)


def test_bidirectional_bandwidth_failure_names_the_reverse_direction() -> None:
    free = {(4, 2): 10.0, (3, 1): 20.0}
    result = failed(
        find_bidirectional_path(
            make_graph(SQUARE),
            PathRequest(1, 4, bandwidth_mbps=50),
            lambda u, v: free.get((u, v), 100.0),
        )
    )
    assert result.constraint == "bandwidth"
    assert (
        result.reason
        == "no path from 1 to 4 with 50 Mbit/s free both ways: best has 20 Mbit/s free on 3->1"
    )


def test_bidirectional_needs_the_reverse_link_to_exist() -> None:
    graph = make_graph(SQUARE)
    graph.remove_edge(4, 2)
    assert found(find_bidirectional_path(graph, PathRequest(1, 4))).path == (1, 3, 4)


def test_bidirectional_needs_the_reverse_link_zone_allowed() -> None:
    graph = make_graph(SQUARE)
    graph.edges[4, 2]["zone"] = "leased"
    request = PathRequest(1, 4, avoid_zones=frozenset({"leased"}))
    assert found(find_path(graph, request)).path == (1, 2, 4)
    assert found(find_bidirectional_path(graph, request)).path == (1, 3, 4)


def test_bidirectional_latency_counts_the_slower_direction() -> None:
    graph = make_graph(SQUARE)
    graph.edges[4, 2]["latency_ms"] = 5.0
    result = found(find_bidirectional_path(graph, PathRequest(1, 4, max_latency_ms=4.0)))
    assert result.path == (1, 3, 4)
    assert result.latency_ms == pytest.approx(3.0)


# ---- misc -------------------------------------------------------------------------------------


def test_path_search_answers_many_requests_from_one_snapshot() -> None:
    search = PathSearch(make_graph(SQUARE))
    assert found(search.find(PathRequest(1, 4))).path == (1, 2, 4)
    assert found(search.find(PathRequest(4, 1))).path == (4, 2, 1)
    assert found(search.find(PathRequest(1, 4), bidirectional=True)).path == (1, 2, 4)


def test_path_link_ids_use_the_ntd_links_or_ports() -> None:
    graph = make_graph([(1, 2, 1.0, 100.0), (2, 3, 1.0, 100.0)], both_ways=False)
    graph.edges[1, 2]["link"] = Link(LinkId(1, 7, 2, 8), 100.0)
    graph.edges[2, 3].update(src_port=3, dst_port=4)
    assert path_link_ids(graph, (1, 2, 3)) == (LinkId(1, 7, 2, 8), LinkId(2, 3, 3, 4))


@pytest.mark.parametrize(
    "kwargs", [{"bandwidth_mbps": -1.0}, {"bandwidth_mbps": math.nan}, {"max_latency_ms": -0.5}]
)
def test_request_rejects_impossible_numbers(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PathRequest(1, 2, **kwargs)


def test_check_measures_a_given_path_as_find_would_and_refuses_a_bad_one() -> None:
    search = PathSearch(make_graph(SQUARE))
    request = PathRequest(1, 4, bandwidth_mbps=5)
    best = found(search.find(request))
    assert found(search.check(request, best.path)) == best
    other = found(search.check(request, (1, 3, 4)))
    assert other.cost > best.cost and other.latency_ms == pytest.approx(3.0)
    assert failed(search.check(request, (1, 4))).constraint == "connectivity"
    assert failed(search.check(request, (1, 2))).constraint == "endpoint"
    assert failed(search.check(request, (1, 2, 4), lambda u, v: 1.0)).constraint == "bandwidth"
    slow = PathRequest(1, 4, max_latency_ms=2.5)
    assert failed(search.check(slow, (1, 3, 4))).constraint == "latency"


def test_a_convex_utilisation_cost_tolerates_moderate_load_and_shuns_full_links() -> None:
    # The fast side (2 ms) carries load, the slow side (3 ms) is empty; a 10 Mbit/s request.
    request = PathRequest(1, 4, bandwidth_mbps=10)
    linear = CostWeights(utilisation_ms=2.0)
    cubic = CostWeights(utilisation_ms=2.0, utilisation_power=3.0)

    def choice(weights: CostWeights, free_on_fast_side: float) -> tuple[int, ...]:
        def free(u: int, v: int) -> float:
            return free_on_fast_side if (u, v) in {(1, 2), (2, 4)} else 100.0

        return found(PathSearch(make_graph(SQUARE), weights).find(request, free)).path

    # half full after the request: linear 2 x 1.0 ms extra > 1 ms slower; cubic 2 x 0.25 < 1
    assert choice(linear, 60.0) == (1, 3, 4)
    assert choice(cubic, 60.0) == (1, 2, 4)
    # 95 % full: both leave it
    assert choice(cubic, 15.0) == (1, 3, 4)
    with pytest.raises(ValueError, match="utilisation_power"):
        CostWeights(utilisation_power=0.5)
