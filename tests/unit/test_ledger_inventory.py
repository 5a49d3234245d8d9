"""Ledger capacities from the topology database, and the integer units behind every amount."""

from __future__ import annotations

import pytest

from topology.database import TopologyDatabase
from topology.model import Host, LinkId, Port
from vnstitch.resources import Ledger, NodeResource, ResourceKind
from vnstitch.resources.inventory import capacities_from_topology, sync_capacities
from vnstitch.resources.keys import host_capacities, to_units

S1_S2 = LinkId(1, 1, 2, 1)
S2_S1 = LinkId(2, 1, 1, 1)


def two_switches() -> TopologyDatabase:
    """s1 <-> s2 on 100 Mbit/s ports, plus inventory host h1 with 4 cores, 8 GB, 100 GB."""
    db = TopologyDatabase()
    for dpid in (1, 2):
        db.add_switch(dpid, [Port(1, speed_mbps=100.0), Port(2)], now=0.0)
    db.link_seen(S1_S2, now=0.0, mono=0.0)
    db.link_seen(S2_S1, now=0.0, mono=0.0)
    db.add_inventory_host(
        Host("h1", "00:00:00:00:00:01", cpu=4, memory_mb=8192, storage_gb=100), 0.0
    )
    return db


def test_capacities_cover_links_switch_tables_and_host_inventory() -> None:
    caps = capacities_from_topology(two_switches(), meters_per_switch=64, flows_per_switch=2000)
    assert caps[S1_S2] == 100.0
    assert caps[S2_S1] == 100.0
    assert caps[NodeResource(ResourceKind.METERS, 1)] == 64
    assert caps[NodeResource(ResourceKind.FLOWS, 2)] == 2000
    assert caps[NodeResource(ResourceKind.CPU, "h1")] == 4
    assert caps[NodeResource(ResourceKind.MEMORY_MB, "h1")] == 8192
    assert caps[NodeResource(ResourceKind.STORAGE_GB, "h1")] == 100


def test_host_without_inventory_figures_offers_nothing() -> None:
    assert host_capacities(Host("learned", "00:00:00:00:00:02")) == {}


def test_sync_removes_vanished_links_and_names_their_owners() -> None:
    db = two_switches()
    ledger: Ledger[int] = Ledger()
    assert sync_capacities(ledger, capacities_from_topology(db, 64, 2000)) == set()
    ledger.allocate(1, {S1_S2: 50, NodeResource(ResourceKind.CPU, "h1"): 2})
    ledger.allocate(2, {S2_S1: 10})
    db.set_port(1, Port(1, up=False), now=1.0)  # takes both directions down
    displaced = sync_capacities(ledger, capacities_from_topology(db, 64, 2000))
    assert displaced == {1, 2}
    assert ledger.capacity(S1_S2) == 0
    assert ledger.capacity(NodeResource(ResourceKind.CPU, "h1")) == 4
    assert ledger.violations() == []


def test_demands_round_up_and_capacities_round_down() -> None:
    assert to_units(0.0001, round_up=True) == 1
    assert to_units(0.0009, round_up=False) == 0
    assert to_units(0.1, round_up=True) == 100  # float noise is not rounded up
    assert to_units(0.3, round_up=False) == 300
    assert to_units(1e9, round_up=True) == 10**12
    assert to_units(1e9 + 0.0005, round_up=True) == 10**12 + 1


@pytest.mark.parametrize("bad", [True, "5", -0.001])
def test_non_numbers_and_negatives_are_value_errors(bad: object) -> None:
    with pytest.raises(ValueError):
        to_units(bad, round_up=True)  # type: ignore[arg-type]
