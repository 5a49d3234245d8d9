"""The fake flow table follows OpenFlow 1.3 semantics closely enough to trust traces."""

from __future__ import annotations

import pytest

from topology.model import LinkId
from vnstitch.rules.fake_table import AmbiguousMatch, FakeNetwork, UnknownMeter
from vnstitch.rules.model import PORT_CONTROLLER, PORT_IN_PORT, FlowRule, Match, MeterSpec, Output

PKT = {"eth_type": 0x0800, "eth_src": "00:00:00:00:00:01", "eth_dst": "00:00:00:00:00:02"}
A_TO_B = LinkId(1, 10, 2, 20)


def two_switches() -> FakeNetwork:
    return FakeNetwork([A_TO_B, A_TO_B.reverse()])


def out(dpid: int, port: int, priority: int = 100, cookie: int = 0, **match: object) -> FlowRule:
    return FlowRule(dpid, priority, Match(**match), (Output(port),), cookie)  # type: ignore[arg-type]


def test_output_on_linked_port_continues_at_the_peer_and_exits_elsewhere() -> None:
    net = two_switches()
    net.apply([out(1, 10, in_port=1), out(2, 2, in_port=20)])
    result = net.trace(1, 1, PKT)
    assert result.exits == [(2, 2)]
    assert result.switches == [1, 2]
    assert result.delivered_only_to == (2, 2)


def test_highest_priority_wins() -> None:
    net = two_switches()
    net.apply([out(1, 5, priority=10), out(1, 6, priority=20, eth_src=PKT["eth_src"])])
    assert net.trace(1, 1, PKT).exits == [(1, 6)]
    assert net.trace(1, 1, {**PKT, "eth_src": "00:00:00:00:00:09"}).exits == [(1, 5)]


def test_same_key_replaces_the_entry() -> None:
    net = two_switches()
    net.apply([out(1, 5, eth_dst=PKT["eth_dst"]), out(1, 6, eth_dst=PKT["eth_dst"])])
    assert len(net.rules(1)) == 1
    assert net.trace(1, 1, PKT).exits == [(1, 6)]


def test_overlapping_equal_priority_rules_with_different_actions_are_an_error() -> None:
    net = two_switches()
    net.apply([out(1, 5, eth_src=PKT["eth_src"]), out(1, 6, eth_dst=PKT["eth_dst"])])
    with pytest.raises(AmbiguousMatch):
        net.trace(1, 1, PKT)


def test_overlapping_equal_priority_rules_with_the_same_effect_are_fine() -> None:
    net = two_switches()
    net.apply([out(1, 5, eth_src=PKT["eth_src"]), out(1, 5, eth_dst=PKT["eth_dst"])])
    assert net.trace(1, 1, PKT).exits == [(1, 5)]


def test_miss_drop_and_controller_are_distinct_outcomes() -> None:
    net = two_switches()
    assert net.trace(1, 1, PKT).table_misses == [(1, 1)]
    net.apply([FlowRule(1, 100, Match(in_port=1), ())])
    dropped = net.trace(1, 1, PKT)
    assert dropped.drops == [(1, 1)] and not dropped.exits and not dropped.table_misses
    net.apply([out(1, PORT_CONTROLLER, priority=200)])
    assert net.trace(1, 1, PKT).to_controller == [(1, 1)]


def test_in_port_needs_the_in_port_action_to_hairpin() -> None:
    net = two_switches()
    net.apply([out(1, 1, in_port=1)])
    assert net.trace(1, 1, PKT).exits == []
    net.apply([out(1, PORT_IN_PORT, in_port=1)])
    assert net.trace(1, 1, PKT).exits == [(1, 1)]


def test_loops_are_reported_and_stopped() -> None:
    triangle = [LinkId(1, 10, 2, 20), LinkId(2, 21, 3, 30), LinkId(3, 31, 1, 11)]
    net = FakeNetwork(triangle + [lk.reverse() for lk in triangle])
    net.apply([out(1, 10), out(2, 21), out(3, 31)])
    result = net.trace(1, 1, PKT)
    assert result.loops == [(2, 20)]
    assert result.switches == [1, 2, 3, 1]
    assert result.delivered_only_to is None


def test_delete_by_cookie_mask_removes_only_matching_owners() -> None:
    net = two_switches()
    net.apply([out(1, 5, cookie=0x0101, in_port=1), out(1, 6, cookie=0x0102, in_port=2)])
    net.apply([out(2, 7, cookie=0x0201, in_port=1)])
    gone = net.delete(0x0100, 0xFF00)
    assert sorted(r.cookie for r in gone) == [0x0101, 0x0102]
    assert [r.cookie for r in net.rules()] == [0x0201]


def test_meters_must_exist_and_are_reported_on_the_trace() -> None:
    net = two_switches()
    metered = FlowRule(1, 100, Match(), (Output(10),), meter_id=7)
    with pytest.raises(UnknownMeter):
        net.apply([metered])
    net.apply_meters([MeterSpec(1, 7, rate_kbps=1000, burst_kb=100)])
    net.apply([metered, out(2, 2)])
    assert net.trace(1, 1, PKT).meters == [(1, 7)]


def test_deleting_a_meter_removes_its_flows() -> None:
    net = two_switches()
    net.apply_meters([MeterSpec(1, 7, rate_kbps=1000, burst_kb=100)])
    net.apply([FlowRule(1, 100, Match(), (Output(3),), meter_id=7)])
    assert len(net.delete_meter(1, 7)) == 1
    assert net.trace(1, 1, PKT).table_misses == [(1, 1)]


def test_removed_link_makes_the_port_an_exit() -> None:
    net = two_switches()
    net.apply([out(1, 10)])
    net.remove_link(A_TO_B)
    assert net.trace(1, 1, PKT).exits == [(1, 10)]
