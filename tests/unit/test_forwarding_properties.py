"""Flooding and unicast hold on many random looped topologies, parallel cables included."""

from __future__ import annotations

from collections import Counter

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from topology.model import Attachment, LinkId
from vnstitch.forwarding.spanning_tree import flood_rules, spanning_tree
from vnstitch.forwarding.unicast import shortest_path_rules
from vnstitch.rules.fake_table import FakeNetwork
from vnstitch.rules.model import BROADCAST_MAC, ETH_TYPE_IPV4

HOST_PORT = 1


@st.composite
def looped_networks(draw: st.DrawFn) -> list[LinkId]:
    """Both directions of every cable of a random connected multigraph on 2..7 switches."""
    n = draw(st.integers(2, 7))
    pairs = [(draw(st.integers(1, i - 1)), i) for i in range(2, n + 1)]  # a random tree
    extra = st.tuples(st.integers(1, n), st.integers(1, n)).filter(lambda p: p[0] != p[1])
    pairs += draw(st.lists(extra, max_size=8))
    next_port = dict.fromkeys(range(1, n + 1), 10)
    links: list[LinkId] = []
    for a, b in pairs:
        link = LinkId(a, next_port[a], b, next_port[b])
        next_port[a] += 1
        next_port[b] += 1
        links += [link, link.reverse()]
    return links


def switch_ports(links: list[LinkId]) -> dict[int, list[int]]:
    ports: dict[int, list[int]] = {}
    for lk in links:
        ports.setdefault(lk.src, [HOST_PORT]).append(lk.src_port)
    return ports


@settings(max_examples=40, deadline=None)
@given(looped_networks())
def test_broadcast_reaches_every_other_host_once(links: list[LinkId]) -> None:
    ports = switch_ports(links)
    assert len(spanning_tree(links)) == len(ports) - 1
    net = FakeNetwork(links)
    net.apply(flood_rules(ports, links))
    packet = {"eth_type": ETH_TYPE_IPV4, "eth_src": "00:00:00:00:00:01", "eth_dst": BROADCAST_MAC}
    for origin in ports:
        result = net.trace(origin, HOST_PORT, packet)
        assert Counter(result.exits) == Counter((d, HOST_PORT) for d in ports if d != origin)
        assert not result.loops


@settings(max_examples=40, deadline=None)
@given(looped_networks(), st.data())
def test_unicast_takes_a_shortest_path_and_delivers_once(
    links: list[LinkId], data: st.DataObject
) -> None:
    graph = nx.DiGraph()
    for lk in links:
        graph.add_edge(lk.src, lk.dst, src_port=lk.src_port, dst_port=lk.dst_port)
    src = data.draw(st.sampled_from(sorted(graph)))
    dst = data.draw(st.sampled_from(sorted(set(graph) - {src})))
    rules = shortest_path_rules(
        graph, Attachment(src, HOST_PORT), Attachment(dst, HOST_PORT), "a", "b"
    )
    assert rules is not None
    net = FakeNetwork(links)
    net.apply(rules)
    result = net.trace(src, HOST_PORT, {"eth_type": ETH_TYPE_IPV4, "eth_src": "a", "eth_dst": "b"})
    assert result.delivered_only_to == (dst, HOST_PORT)
    assert len(result.hops) == nx.shortest_path_length(graph, src, dst) + 1
