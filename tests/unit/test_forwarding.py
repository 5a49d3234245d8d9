"""Baseline forwarding on a looped topology, checked by tracing packets through planned rules.

The network is a ring of four switches with a chord 1-3. Host ``hN`` sits on port 1 of switch
N; ``h5`` on port 2 of switch 1. On switch S the port towards switch T is ``10 * S + T``.
"""

from __future__ import annotations

from collections import Counter

import pytest

from topology.database import TopologyDatabase
from topology.model import Attachment, Host, LinkId, Port
from vnstitch.forwarding.control import CONTROL_COOKIE, control_rules
from vnstitch.forwarding.spanning_tree import FloodDomain, cables, flood_rules, spanning_tree
from vnstitch.forwarding.unicast import plan_pair, shortest_path_rules, unicast_cookie
from vnstitch.rules.cookies import KIND_BASELINE, KIND_CONTROL, MASK_KIND_OWNER, Cookie
from vnstitch.rules.fake_table import FakeNetwork
from vnstitch.rules.model import (
    BROADCAST_MAC,
    ETH_TYPE_ARP,
    ETH_TYPE_IPV4,
    ETH_TYPE_IPV6,
    ETH_TYPE_LLDP,
)
from vnstitch.rules.priorities import TABLE_MISS

CABLES = [(1, 2), (2, 3), (3, 4), (4, 1), (1, 3)]
HOST_PORTS = {1: [1, 2], 2: [1], 3: [1], 4: [1]}


def cable(a: int, b: int) -> LinkId:
    return LinkId(a, 10 * a + b, b, 10 * b + a)


def ring_with_chord() -> TopologyDatabase:
    db = TopologyDatabase()
    for dpid, host_ports in HOST_PORTS.items():
        linked = [10 * dpid + b for a, b in CABLES if a == dpid]
        linked += [10 * dpid + a for a, b in CABLES if b == dpid]
        db.add_switch(dpid, [Port(p) for p in host_ports + linked], now=0.0)
    for a, b in CABLES:
        db.link_seen(cable(a, b), 0.0, 0.0)
        db.link_seen(cable(a, b).reverse(), 0.0, 0.0)
    for n, (dpid, port) in enumerate([(1, 1), (2, 1), (3, 1), (4, 1), (1, 2)], start=1):
        db.learn_host(mac(n), f"10.0.0.{n}", dpid, port, 0.0)
    return db


def mac(n: int) -> str:
    return f"00:00:00:00:00:{n:02x}"


def host(db: TopologyDatabase, n: int) -> Host:
    return db.hosts[mac(n)]


def att(db: TopologyDatabase, n: int) -> Attachment:
    where = host(db, n).attachment
    assert where is not None
    return where


def up_ports(db: TopologyDatabase) -> dict[int, list[int]]:
    return {d: [p.port_no for p in sw.ports.values() if p.up] for d, sw in db.switches.items()}


def network(db: TopologyDatabase) -> FakeNetwork:
    return FakeNetwork(db.links)


def ipv4(src: int, dst: int) -> dict[str, object]:
    return {"eth_type": ETH_TYPE_IPV4, "eth_src": mac(src), "eth_dst": mac(dst)}


def broadcast(src: int, eth_type: int = ETH_TYPE_IPV4) -> dict[str, object]:
    return {"eth_type": eth_type, "eth_src": mac(src), "eth_dst": BROADCAST_MAC}


def all_edge_ports(db: TopologyDatabase) -> list[tuple[int, int]]:
    return [(d, p) for d in sorted(db.switches) for p in db.edge_ports(d)]


# ---- spanning tree and flooding -----------------------------------------------------------
def test_tree_is_bfs_from_the_lowest_dpid_over_bidirectional_cables() -> None:
    db = ring_with_chord()
    assert spanning_tree(db.links) == {cable(1, 2), cable(1, 3), cable(1, 4)}


def test_one_way_link_is_not_a_cable_and_never_in_the_tree() -> None:
    links = [cable(1, 2), cable(1, 2).reverse(), cable(2, 3)]
    assert cables(links) == [cable(1, 2)]
    assert spanning_tree(links) == {cable(1, 2)}


def test_broadcast_from_every_edge_port_reaches_every_other_edge_port_once() -> None:
    db = ring_with_chord()
    net = network(db)
    net.apply([r for d in db.switches for r in control_rules(d)])
    net.apply(flood_rules(up_ports(db), list(db.links)))
    edges = all_edge_ports(db)
    assert len(edges) == 5
    for dpid, port in edges:
        result = net.trace(dpid, port, broadcast(1))
        assert Counter(result.exits) == Counter(e for e in edges if e != (dpid, port))
        assert not (result.loops or result.drops or result.to_controller or result.table_misses)


def test_flooding_every_cable_would_loop_which_the_trace_detects() -> None:
    db = ring_with_chord()
    net = network(db)
    net.apply(flood_rules(up_ports(db), list(db.links), tree=cables(db.links)))
    assert net.trace(1, 1, broadcast(1)).loops


def test_broadcast_arriving_on_a_non_tree_link_is_dropped() -> None:
    db = ring_with_chord()
    net = network(db)
    net.apply(flood_rules(up_ports(db), list(db.links)))
    result = net.trace(2, 23, broadcast(1))
    assert result.drops == [(2, 23)]
    assert not result.exits


def test_flood_rules_carry_the_baseline_kind() -> None:
    db = ring_with_chord()
    kinds = {Cookie.decode(r.cookie).kind for r in flood_rules(up_ports(db), list(db.links))}
    assert kinds == {KIND_BASELINE}


def test_controller_flood_targets_are_all_edge_ports_but_the_origin() -> None:
    db = ring_with_chord()
    domain = FloodDomain.build(up_ports(db), list(db.links))
    assert domain.edge_targets(exclude=(1, 1)) == [(1, 2), (2, 1), (3, 1), (4, 1)]
    assert domain.out_ports(1, None) == [1, 2, 12, 13, 14]
    assert domain.out_ports(2, 23) == []


# ---- control rules ------------------------------------------------------------------------
@pytest.mark.parametrize("eth_type", [ETH_TYPE_LLDP, ETH_TYPE_ARP])
def test_lldp_and_arp_go_to_the_controller_from_any_port(eth_type: int) -> None:
    db = ring_with_chord()
    net = network(db)
    net.apply([r for d in db.switches for r in control_rules(d)])
    net.apply(flood_rules(up_ports(db), list(db.links)))
    for dpid, port in [(1, 1), (2, 23), (3, 31)]:
        result = net.trace(dpid, port, broadcast(1, eth_type))
        assert result.to_controller == [(dpid, port)]
        assert not result.exits


def test_ipv6_is_dropped_and_unknown_ipv4_misses_to_the_controller() -> None:
    net = FakeNetwork()
    net.apply(control_rules(7))
    assert net.trace(7, 1, {**ipv4(1, 2), "eth_type": ETH_TYPE_IPV6}).drops == [(7, 1)]
    missed = net.trace(7, 1, ipv4(1, 2))
    assert missed.to_controller == [(7, 1)]
    assert missed.hops[0].rule is not None and missed.hops[0].rule.priority == TABLE_MISS
    assert all(Cookie.decode(r.cookie).kind == KIND_CONTROL for r in control_rules(7))
    assert {r.cookie for r in control_rules(7)} == {CONTROL_COOKIE}


# ---- reactive unicast ---------------------------------------------------------------------
def test_unicast_follows_the_shortest_path_with_ties_to_the_lower_dpid() -> None:
    db = ring_with_chord()
    net = network(db)
    rules = shortest_path_rules(db.graph, att(db, 2), att(db, 4), mac(2), mac(4))
    assert rules is not None
    net.apply(rules)
    result = net.trace(2, 1, ipv4(2, 4))
    assert result.delivered_only_to == (4, 1)
    assert result.switches == [2, 1, 4]  # 2-1-4 and 2-3-4 tie; 1 < 3


def test_unicast_uses_the_chord() -> None:
    db = ring_with_chord()
    net = network(db)
    net.apply(plan_pair(db.graph, att(db, 1), att(db, 3), mac(1), mac(3)) or [])
    assert net.trace(1, 1, ipv4(1, 3)).switches == [1, 3]
    back = net.trace(3, 1, ipv4(3, 1))
    assert back.delivered_only_to == (1, 1)
    assert back.switches == [3, 1]


def test_unicast_rules_match_only_their_pair() -> None:
    db = ring_with_chord()
    net = network(db)
    net.apply(plan_pair(db.graph, att(db, 2), att(db, 4), mac(2), mac(4)) or [])
    assert net.trace(1, 2, ipv4(5, 4)).table_misses == [(1, 2)]  # h5 was not planned
    assert net.trace(2, 1, ipv4(2, 3)).table_misses == [(2, 1)]  # nor was h2 -> h3
    assert net.trace(4, 1, ipv4(4, 2)).delivered_only_to == (2, 1)


def test_install_order_is_downstream_first_so_no_prefix_strands_a_packet() -> None:
    db = ring_with_chord()
    plan = plan_pair(db.graph, att(db, 2), att(db, 4), mac(2), mac(4))
    assert plan is not None and len(plan) == 6
    assert plan[-1].dpid == 2 and plan[-1].match.in_port == 1  # a -> b ingress last
    assert plan[2].dpid == 4 and plan[2].match.in_port == 1  # b -> a ingress ends its half
    net = network(db)
    for rule in plan:
        net.apply([rule])
        for src, dst, where in [(2, 4, (2, 1)), (4, 2, (4, 1))]:
            result = net.trace(*where, ipv4(src, dst))
            stranded = result.table_misses not in ([], [where])
            assert not stranded, f"after {rule}: {result}"
    assert net.trace(2, 1, ipv4(2, 4)).delivered_only_to == (4, 1)


def test_hosts_on_one_switch_get_one_rule_per_direction() -> None:
    db = ring_with_chord()
    plan = plan_pair(db.graph, att(db, 1), att(db, 5), mac(1), mac(5))
    assert plan is not None and {r.dpid for r in plan} == {1} and len(plan) == 2
    net = network(db)
    net.apply(plan)
    assert net.trace(1, 2, ipv4(5, 1)).delivered_only_to == (1, 1)


def test_no_path_means_no_plan() -> None:
    db = ring_with_chord()
    db.add_switch(9, [Port(1)], now=0.0)
    assert plan_pair(db.graph, att(db, 1), Attachment(9, 1), mac(1), mac(9)) is None


def test_baseline_bands_coexist_and_unicast_flushes_by_cookie() -> None:
    db = ring_with_chord()
    net = network(db)
    net.apply([r for d in db.switches for r in control_rules(d)])
    net.apply(flood_rules(up_ports(db), list(db.links)))
    net.apply(plan_pair(db.graph, att(db, 2), att(db, 4), mac(2), mac(4)) or [])
    assert net.trace(2, 1, ipv4(2, 4)).delivered_only_to == (4, 1)
    assert net.trace(2, 1, {**ipv4(2, 4), "eth_type": ETH_TYPE_IPV6}).drops == [(2, 1)]
    assert net.trace(2, 1, {**ipv4(2, 4), "eth_type": ETH_TYPE_ARP}).to_controller == [(2, 1)]
    flushed = net.delete(unicast_cookie(), MASK_KIND_OWNER)
    assert len(flushed) == 6
    assert net.trace(2, 1, ipv4(2, 4)).to_controller == [(2, 1)]
    assert len(net.trace(2, 1, broadcast(2)).exits) == 4
