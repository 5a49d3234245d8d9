"""Best-effort policing: every edge ingress is metered so reservations keep their rate."""

from __future__ import annotations

import pytest

from topology.database import TopologyDatabase
from topology.model import Attachment, Host, LinkId, Port
from vnstitch.forwarding.baseline import BaselineForwarding
from vnstitch.forwarding.policing import best_effort_rate_mbps
from vnstitch.rules.fake_table import FakeNetwork
from vnstitch.rules.meters import best_effort_meter_id
from vnstitch.rules.model import BROADCAST_MAC, ETH_TYPE_IPV4

AB = LinkId(1, 10, 2, 10)


def _two_switches() -> TopologyDatabase:
    db = TopologyDatabase(default_capacity_mbps=20.0)
    db.add_switch(1, [Port(1), Port(2), Port(10)], 0.0)
    db.add_switch(2, [Port(1), Port(2), Port(10)], 0.0)
    db.link_seen(AB, 0.0, 0.0)
    db.link_seen(AB.reverse(), 0.0, 0.0)
    return db


def test_rate_keeps_every_link_within_capacity() -> None:
    cap = {AB: 20.0, AB.reverse(): 20.0}
    rate = best_effort_rate_mbps(cap, {AB: 11.2}, edge_ports=4)
    assert rate == pytest.approx(2.2)
    assert rate * 4 + 11.2 <= 20.0
    assert best_effort_rate_mbps(cap, {AB: 25.0}, 4) == 0.0  # cut link: nothing spare
    assert best_effort_rate_mbps(cap, {AB: 25.0}, 4, floor_mbps=0.5) == 0.5


def test_edge_ingress_rules_carry_the_port_meter_and_meters_exist_first() -> None:
    db = _two_switches()
    baseline = BaselineForwarding()
    _, adds = baseline.flood_update(db)
    meters = baseline.meter_update({AB: 20.0, AB.reverse(): 20.0}, {})
    assert {(m.dpid, m.meter_id) for m, new in meters if new} == {
        (d, best_effort_meter_id(p)) for d in (1, 2) for p in (1, 2)
    }
    net = FakeNetwork(db.links)
    net.apply_meters(m for m, _ in meters)
    net.apply(adds)  # would raise UnknownMeter if a flood rule used a missing meter
    h1 = Host("h1", "00:00:00:00:00:01", "10.0.0.1", Attachment(1, 1))
    h3 = Host("h3", "00:00:00:00:00:03", "10.0.0.3", Attachment(2, 1))
    net.apply(baseline.unicast_rules(db, h1, h3))
    pkt = {"eth_type": ETH_TYPE_IPV4, "eth_src": h1.mac, "eth_dst": h3.mac}
    trace = net.trace(1, 1, pkt)
    assert trace.exits == [(2, 1)] and trace.meters == [(1, best_effort_meter_id(1))]
    bcast = net.trace(1, 2, {**pkt, "eth_dst": BROADCAST_MAC})
    assert bcast.meters == [(1, best_effort_meter_id(2))]


def test_rate_change_modifies_existing_meters_only() -> None:
    db = _two_switches()
    baseline = BaselineForwarding()
    baseline.flood_update(db)
    cap = {AB: 20.0, AB.reverse(): 20.0}
    first = baseline.meter_update(cap, {})
    assert all(new for _, new in first)
    assert baseline.meter_update(cap, {}) == []  # nothing changed
    again = baseline.meter_update(cap, {AB: 11.2})
    assert again and not any(new for _, new in again)
    assert {m.rate_kbps for m, _ in again} == {2200}


def test_policing_can_be_switched_off() -> None:
    db = _two_switches()
    baseline = BaselineForwarding(police_best_effort=False)
    _, adds = baseline.flood_update(db)
    assert all(r.meter_id is None for r in adds)
    assert baseline.meter_update({AB: 20.0}, {}) == []
