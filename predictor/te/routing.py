"""Where one step's actual traffic goes: on its reservation up to the reserved rate, the rest
(and every pair without a reservation) on the controller's baseline path.

The baseline path is the one the controller's reactive forwarding installs
(``vnstitch.forwarding.unicast.shortest_path``: fewest hops, ties to the smaller dpid) on the
same NTD the stitcher planned on.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from predictor.te.network import Pair, TeNetwork
from topology.database import TopologyDatabase
from vnstitch.forwarding.unicast import shortest_path


@dataclass(frozen=True)
class Routed:
    """Link loads of one step and how much of the traffic its reservations carried."""

    load_mbps: np.ndarray  # per directed link
    covered_mbps: float  # traffic inside a reservation
    total_mbps: float


class Routing:
    """Routes actual traffic on placements and baseline paths of one network."""

    def __init__(self, network: TeNetwork, db: TopologyDatabase | None = None) -> None:
        self.network = network
        self._link = network.link_index()
        graph = (db or network.database()).graph
        self.baseline: dict[Pair, tuple[int, ...]] = {}
        for s in set(network.trace_nodes):
            for t in set(network.trace_nodes):
                if s != t:
                    path = shortest_path(graph, s + 1, t + 1)
                    if path is None:
                        raise ValueError(f"no path {network.nodes[s]} -> {network.nodes[t]}")
                    self.baseline[s, t] = tuple(d - 1 for d in path)
        self._links_of: dict[tuple[int, ...], list[int]] = {}

    def links_of(self, path: tuple[int, ...]) -> list[int]:
        """Indices of the directed links along a node path."""
        found = self._links_of.get(path)
        if found is None:
            found = [self._link[u, v] for u, v in itertools.pairwise(path)]
            self._links_of[path] = found
        return found

    def route(
        self,
        actual: Mapping[Pair, float],
        reserved: Mapping[Pair, float],
        paths: Mapping[Pair, tuple[int, ...]],
    ) -> Routed:
        """Loads when each pair sends ``actual`` with ``reserved`` on ``paths`` (placed ones)."""
        load = np.zeros(len(self.network.links))
        covered = total = 0.0
        for pair, mbps in actual.items():
            if mbps <= 0:
                continue
            total += mbps
            path = paths.get(pair)
            inside = min(mbps, reserved.get(pair, 0.0)) if path is not None else 0.0
            if inside > 0 and path is not None:
                load[self.links_of(path)] += inside
                covered += inside
            if mbps > inside:
                load[self.links_of(self.baseline[pair])] += mbps - inside
        return Routed(load, covered, total)

    def utilisation(self, routed: Routed) -> float:
        """Max link utilisation of a routed step."""
        return float((routed.load_mbps / self.network.capacity_mbps).max(initial=0.0))

    def pairs(self) -> Iterable[Pair]:
        """Every (source, destination) pair of trace nodes."""
        return self.baseline.keys()
