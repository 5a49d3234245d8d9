"""Ledger capacities from the topology database: link speeds, switch tables, host inventory."""

from __future__ import annotations

from collections.abc import Mapping

from topology.database import TopologyDatabase
from vnstitch.resources.admission import OwnerT
from vnstitch.resources.keys import ResourceKey, host_capacities, switch_capacities
from vnstitch.resources.ledger import Ledger


def capacities_from_topology(
    db: TopologyDatabase, meters_per_switch: int, flows_per_switch: int
) -> dict[ResourceKey, float]:
    """Every capacity the topology knows: link bandwidth, switch tables, host CPU/memory/storage."""
    capacities: dict[ResourceKey, float] = {}
    for link_id, link in db.links.items():
        capacities[link_id] = link.capacity_mbps
    for dpid in db.switches:
        capacities.update(switch_capacities(dpid, meters_per_switch, flows_per_switch))
    for host in db.hosts.values():
        capacities.update(host_capacities(host))
    return capacities


def sync_capacities(ledger: Ledger[OwnerT], capacities: Mapping[ResourceKey, float]) -> set[OwnerT]:
    """Make the ledger's capacities equal ``capacities``; returns the owners that must move."""
    displaced: set[OwnerT] = set()
    known = ledger.capacities()
    for key in known.keys() - capacities.keys():
        displaced |= ledger.remove_resource(key)
    for key, amount in capacities.items():
        if known.get(key) != amount:
            displaced |= ledger.set_capacity(key, amount)
    return displaced


__all__ = ["capacities_from_topology", "sync_capacities"]
