"""Baseline orchestration: flood diffs keep every switch on the current tree after changes."""

from __future__ import annotations

from collections import Counter

from topology.database import TopologyDatabase
from topology.model import LinkId, Port
from vnstitch.forwarding.baseline import BaselineForwarding
from vnstitch.rules.fake_table import FakeNetwork
from vnstitch.rules.model import BROADCAST_MAC, ETH_TYPE_IPV4, FlowRule

BCAST = {"eth_type": ETH_TYPE_IPV4, "eth_src": "00:00:00:00:00:01", "eth_dst": BROADCAST_MAC}
CABLES = [(1, 2), (2, 3), (3, 1)]


def cable(a: int, b: int) -> LinkId:
    return LinkId(a, 10 * a + b, b, 10 * b + a)


def triangle() -> TopologyDatabase:
    db = TopologyDatabase()
    for d in (1, 2, 3):
        db.add_switch(d, [Port(1)] + [Port(10 * d + o) for o in (1, 2, 3) if o != d], now=0.0)
    for a, b in CABLES:
        db.link_seen(cable(a, b), 0.0, 0.0)
        db.link_seen(cable(a, b).reverse(), 0.0, 0.0)
    return db


def sync(net: FakeNetwork, update: tuple[list[FlowRule], list[FlowRule]]) -> None:
    deletes, adds = update
    net.remove(deletes)
    net.apply(adds)


def assert_floods_once(net: FakeNetwork) -> None:
    for origin in (1, 2, 3):
        result = net.trace(origin, 1, BCAST)
        assert Counter(result.exits) == Counter((d, 1) for d in (1, 2, 3) if d != origin)
        assert not result.loops


def test_flood_update_moves_the_tree_when_a_tree_link_fails() -> None:
    db = triangle()
    baseline = BaselineForwarding(police_best_effort=False)
    net = FakeNetwork(db.links)
    sync(net, baseline.flood_update(db))
    assert_floods_once(net)
    db.set_port(1, Port(12, up=False), now=1.0)  # cable 1-2 (in the tree) is pulled:
    db.set_port(2, Port(21, up=False), now=1.0)  # both ends report port down
    net.remove_link(cable(1, 2))
    net.remove_link(cable(1, 2).reverse())
    deletes, adds = baseline.flood_update(db)
    assert deletes and adds
    sync(net, (deletes, adds))
    assert_floods_once(net)


def test_unchanged_topology_sends_nothing_and_reconnect_resends_one_switch() -> None:
    db = triangle()
    baseline = BaselineForwarding(police_best_effort=False)
    first = baseline.flood_update(db)[1]
    assert baseline.flood_update(db) == ([], [])
    baseline.forget_switch(2)
    deletes, adds = baseline.flood_update(db)
    assert deletes == [] and adds == [r for r in first if r.dpid == 2]
