"""What the resource manager (RM) counts: resource keys, demands, and their integer units.

A resource key is either a directed link (:class:`~topology.model.LinkId`, bandwidth in
Mbit/s) or a :class:`NodeResource` on a switch (meters, flow entries) or a host (CPU cores,
memory in MB, storage in GB).

Amounts are exchanged as floats in those units but counted as integers of 1/1000 of the unit
(kbit/s for bandwidth, milli-cores, kB, MB), so sums never drift and comparisons need no
epsilon. Demands are rounded *up* to the next thousandth and capacities *down*, so rounding can
only make the ledger more careful, never over-book.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import NamedTuple

from topology.model import Dpid, Host, LinkId

UNITS_PER_AMOUNT = 1000
# Float noise such as 0.1 * 1000 == 100.00000000000001 snaps to the integer it misses by a few
# ulps instead of being rounded up or down a whole thousandth.
_RELATIVE_NOISE = 1e-14
_ABSOLUTE_NOISE = 1e-6


class ResourceKind(StrEnum):
    """The kinds of node resources; bandwidth is keyed by ``LinkId`` instead."""

    METERS = "meters"
    FLOWS = "flows"
    CPU = "cpu"
    MEMORY_MB = "memory_mb"
    STORAGE_GB = "storage_gb"


class NodeResource(NamedTuple):
    """A countable resource of one node: a switch (by dpid) or a host (by name).

    A named tuple rather than a dataclass: it is hashed on every ledger lookup, and tuple
    hashing and equality run in C (about four times faster).
    """

    kind: ResourceKind
    node: Dpid | str

    def to_dict(self) -> dict[str, str | int]:
        """JSON form."""
        return {"kind": self.kind.value, "node": self.node}


ResourceKey = LinkId | NodeResource
Demands = Mapping[ResourceKey, float]


def to_units(amount: float, *, round_up: bool) -> int:
    """Convert a finite, non-negative amount to integer thousandths (ValueError otherwise)."""
    if type(amount) is not float:  # the common case skips the slower checks
        if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
            raise ValueError(f"amount must be a number, got {amount!r}")
        amount = float(amount)
    if not math.isfinite(amount) or amount < 0:
        raise ValueError(f"amount must be finite and non-negative, got {amount!r}")
    scaled = amount * UNITS_PER_AMOUNT
    nearest = round(scaled)
    if abs(scaled - nearest) <= max(_ABSOLUTE_NOISE, scaled * _RELATIVE_NOISE):
        return nearest
    return math.ceil(scaled) if round_up else math.floor(scaled)


def from_units(units: int) -> float:
    """Convert integer thousandths back to the public unit."""
    return units / UNITS_PER_AMOUNT


def link_bandwidth(links: Iterable[LinkId], mbps: float) -> dict[ResourceKey, float]:
    """Demands for ``mbps`` on every directed link of a path."""
    return dict.fromkeys(links, mbps)


def switch_capacities(dpid: Dpid, meters: int, flows: int) -> dict[ResourceKey, float]:
    """Capacities of one switch's meter table and flow table."""
    return {
        NodeResource(ResourceKind.METERS, dpid): float(meters),
        NodeResource(ResourceKind.FLOWS, dpid): float(flows),
    }


def host_capacities(host: Host) -> dict[ResourceKey, float]:
    """Capacities a host offers according to the inventory (kinds it has none of are left out)."""
    offered = {
        ResourceKind.CPU: host.cpu,
        ResourceKind.MEMORY_MB: host.memory_mb,
        ResourceKind.STORAGE_GB: host.storage_gb,
    }
    return {NodeResource(kind, host.name): amount for kind, amount in offered.items() if amount > 0}


__all__ = [
    "UNITS_PER_AMOUNT",
    "Demands",
    "NodeResource",
    "ResourceKey",
    "ResourceKind",
    "from_units",
    "host_capacities",
    "link_bandwidth",
    "switch_capacities",
    "to_units",
]
