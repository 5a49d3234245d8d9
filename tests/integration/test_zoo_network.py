"""A real network from the Topology Zoo (Abilene, 11 switches) under the controller."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest

from testbed.stack import Stack
from topology.loaders import largest_component, load_graphml

pytestmark = pytest.mark.integration

ABILENE = Path(__file__).parent.parent / "fixtures" / "zoo" / "Abilene.graphml"


@pytest.fixture(scope="module")
def stack(testbed_host: None) -> Iterator[Stack]:
    topo = largest_component(load_graphml(ABILENE))
    graph = nx.convert_node_labels_to_integers(topo.graph, first_label=1, ordering="sorted")
    with Stack(graph) as s:
        yield s


def test_abilene_pingall_and_topology(stack: Stack) -> None:
    assert stack.net is not None
    assert len(stack.net.switch_name) >= 10
    assert stack.net.pingall() == 0.0
    topo = stack.get("/v1/topology")
    assert len(topo["switches"]) == stack.graph.number_of_nodes()
    assert len(topo["links"]) == 2 * stack.graph.number_of_edges()
    assert len(topo["hosts"]) == stack.graph.number_of_nodes()
