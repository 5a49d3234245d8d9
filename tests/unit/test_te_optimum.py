"""The TE oracle: the optimal max link utilisation on tiny graphs whose optimum is known."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predictor.te.optimum import OptimalMlu


def both_ways(cables: list[tuple[int, int, float]]) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Directed links (both directions of every cable) and their capacities."""
    links = [(u, v) for u, v, _ in cables] + [(v, u) for u, v, _ in cables]
    capacity = [c for _, _, c in cables] * 2
    return links, np.array(capacity, dtype=float)


def demand(n: int, *entries: tuple[int, int, float]) -> np.ndarray:
    out = np.zeros((n, n))
    for s, t, mbps in entries:
        out[s, t] = mbps
    return out


def test_one_link_carries_the_demand_alone() -> None:
    links, capacity = both_ways([(0, 1, 10.0)])
    assert OptimalMlu(2, links, capacity).solve(demand(2, (0, 1, 5.0))) == pytest.approx(0.5)


def test_a_triangle_splits_a_demand_between_the_direct_and_the_two_hop_path() -> None:
    links, capacity = both_ways([(0, 1, 10.0), (1, 2, 10.0), (0, 2, 10.0)])
    # 5 direct and 5 via node 2: every link used at most half
    assert OptimalMlu(3, links, capacity).solve(demand(3, (0, 1, 10.0))) == pytest.approx(0.5)


def test_unequal_paths_are_loaded_in_proportion_to_their_capacity() -> None:
    links, capacity = both_ways([(0, 1, 10.0), (0, 2, 30.0), (2, 1, 30.0)])
    # x / 10 = (40 - x) / 30 at x = 10: utilisation 1 everywhere on the way
    assert OptimalMlu(3, links, capacity).solve(demand(3, (0, 1, 40.0))) == pytest.approx(1.0)


def test_commodities_of_different_sources_compete_for_a_shared_link() -> None:
    # a line 0 - 1 - 2: 0->2 and 1->2 both need link 1->2 (capacity 10)
    links, capacity = both_ways([(0, 1, 100.0), (1, 2, 10.0)])
    optimum = OptimalMlu(3, links, capacity)
    assert optimum.solve(demand(3, (0, 2, 4.0), (1, 2, 4.0))) == pytest.approx(0.8)
    # opposite directions do not compete
    assert optimum.solve(demand(3, (0, 2, 4.0), (2, 1, 4.0))) == pytest.approx(0.4)


def test_no_demand_needs_no_capacity_and_bad_input_is_refused() -> None:
    links, capacity = both_ways([(0, 1, 10.0)])
    optimum = OptimalMlu(2, links, capacity)
    assert optimum.solve(np.zeros((2, 2))) == 0.0
    with pytest.raises(ValueError):
        optimum.solve(np.zeros((3, 3)))
    with pytest.raises(ValueError):
        optimum.solve(demand(2, (0, 1, -1.0)))
    with pytest.raises(ValueError):
        OptimalMlu(2, links, np.array([10.0, 0.0]))


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=4, max_value=7))
def test_one_commodity_optimum_is_its_demand_over_the_max_flow(seed: int, n: int) -> None:
    """With one demand the least MLU is demand / max flow (capacities in one unit)."""
    rng = np.random.default_rng(seed)
    graph = nx.connected_watts_strogatz_graph(n, 2, 0.5, seed=seed)
    cables = [(u, v, float(rng.integers(1, 20))) for u, v in graph.edges]
    links, capacity = both_ways(cables)
    flow_graph = nx.DiGraph()
    for (u, v), c in zip(links, capacity, strict=True):
        flow_graph.add_edge(u, v, capacity=c)
    s, t = 0, n - 1
    expected = 7.0 / nx.maximum_flow_value(flow_graph, s, t)
    assert OptimalMlu(n, links, capacity).solve(demand(n, (s, t, 7.0))) == pytest.approx(expected)
