"""The optimum a TE scheme is scored against: the least max link utilisation of a demand.

Splittable multi-commodity flow, as DOTE (NSDI'23) and FIGRET (SIGCOMM'24) score TE: minimise
``alpha`` such that every demand is routed and every directed link carries at most ``alpha``
times its capacity. Commodities are aggregated per source (edge-based formulation): one flow
variable per (source, link), conservation at every node for every source, one capacity row per
link — ``N * E + 1`` variables however many pairs there are. The constraint matrices are built
once (sparse) for the network; each demand only changes the right-hand side. Solved with
HiGHS through ``scipy.optimize.linprog``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog


class OptimalMlu:
    """The optimal max link utilisation of any demand matrix on one network."""

    def __init__(self, nodes: int, links: Sequence[tuple[int, int]], capacity_mbps: np.ndarray):
        capacity = np.asarray(capacity_mbps, dtype=np.float64)
        if len(links) != len(capacity) or (capacity <= 0).any():
            raise ValueError("one positive capacity per directed link is needed")
        self.nodes = nodes
        edges = len(links)
        self._variables = nodes * edges + 1  # flows (source-major), then alpha
        tails = np.array([u for u, _ in links], dtype=np.int64)
        heads = np.array([v for _, v in links], dtype=np.int64)
        source = np.repeat(np.arange(nodes), edges)  # per flow variable
        column = np.arange(nodes * edges)
        link = np.tile(np.arange(edges), nodes)
        # conservation: row (s, v) = out-flow of s's commodity at v minus its in-flow
        rows = np.concatenate([source * nodes + tails[link], source * nodes + heads[link]])
        values = np.concatenate([np.ones(nodes * edges), -np.ones(nodes * edges)])
        self._equality = sp.csr_array(
            (values, (rows, np.concatenate([column, column]))),
            shape=(nodes * nodes, self._variables),
        )
        # capacity: sum over sources of the flow on a link - alpha * capacity <= 0
        rows = np.concatenate([link, np.arange(edges)])
        cols = np.concatenate([column, np.full(edges, self._variables - 1)])
        values = np.concatenate([np.ones(nodes * edges), -capacity])
        self._capacity = sp.csr_array((values, (rows, cols)), shape=(edges, self._variables))
        self._cost = np.zeros(self._variables)
        self._cost[-1] = 1.0

    def solve(self, demand: np.ndarray) -> float:
        """The least max link utilisation routing ``demand`` ((N, N) Mbit/s, i -> j)."""
        demand = np.array(demand, dtype=np.float64)
        np.fill_diagonal(demand, 0.0)
        if demand.shape != (self.nodes, self.nodes) or (demand < 0).any():
            raise ValueError(f"demand must be a non-negative ({self.nodes}, {self.nodes}) matrix")
        if not demand.any():
            return 0.0
        supply = -demand
        supply[np.diag_indices(self.nodes)] = demand.sum(axis=1)
        result = linprog(
            self._cost,
            A_ub=self._capacity,
            b_ub=np.zeros(self._capacity.shape[0]),
            A_eq=self._equality,
            b_eq=supply.ravel(),
            bounds=(0, None),
            method="highs",
        )
        if result.status != 0:
            raise ValueError(f"the optimum LP failed: {result.message}")
        return float(result.x[-1])
