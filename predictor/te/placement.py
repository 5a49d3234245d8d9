"""Placing one step's reservations with the real stitcher, under the lowest utilisation budget.

The controller's :class:`~vnstitch.stitcher.stitch_service.StitchService` picks each path
(latency, utilisation and hops, see ``vnstitch.stitcher.cost``) among those whose links the
:class:`~vnstitch.resources.ledger.Ledger` still admits it on. The ledger books at most
``1 - link_headroom`` of every link; here that share is the *budget*. Reservations are submitted
largest first; the budget is the lowest (within ``tolerance``) at which every one of them is
admitted, found by search upwards from the splittable optimum of the booked demand (no single
path per pair can do better than that) and then bisection. A tight budget is what makes the
stitcher spread load: with a loose one it takes the lowest-latency path for everything. If not
all fit even with the whole capacity, the ones refused stay unplaced (their traffic rides the
baseline path).

Each trial starts from an empty ledger, as a TE recomputation every step does; nothing is sent
to a switch (the service returns install jobs, which are dropped).

The path cost's weights (``vnstitch.stitcher.cost.CostWeights``) decide which of the admitted
paths a reservation takes. The controller's are latency-first (a full link costs 1 ms); with
``weights`` given (e.g. ``vnstitch.stitcher.cost.balancing_weights``: hundreds of ms per full
link, which picks the least-loaded admitted path and leaves latency as the tie-break) the stitch
service is built with those instead: the same planner, ledger and plans, another cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from predictor.te.network import Pair, TeNetwork
from predictor.te.optimum import OptimalMlu
from vnstitch.resources.ledger import Ledger
from vnstitch.rules.meters import meter_rate_mbps
from vnstitch.stitcher.cost import CostWeights
from vnstitch.stitcher.reservation import Origin, ReservationRequest
from vnstitch.stitcher.stitch_service import Refusal, StitchService

GROWTH = (1.02, 1.08, 1.2, 1.5, 2.0, 3.0)  # budgets tried above the optimum, then doubling


@dataclass(frozen=True)
class Placement:
    """Where each reservation goes, and the budget that placed them."""

    paths: dict[Pair, tuple[int, ...]]  # network node path of every placed reservation
    budget: float  # share of each link's capacity the ledger booked at most
    refused: frozenset[Pair]  # reservations that did not fit even at budget 1
    trials: int


class StitcherPlacement:
    """Places sets of reservations on one network with the stitcher (see the module doc)."""

    def __init__(
        self,
        network: TeNetwork,
        optimum: OptimalMlu,
        tolerance: float = 0.005,
        weights: CostWeights | None = None,
    ) -> None:
        self.network = network
        self.db = network.database()
        self.optimum = optimum
        self.tolerance = tolerance
        self.weights = weights

    def service(self, ledger: Ledger[int]) -> StitchService:
        """A stitch service on this network's NTD and ``ledger``, with the chosen weights."""
        if self.weights is None:
            return StitchService(self.db, ledger)
        return StitchService(self.db, ledger, self.weights)

    def _trial(
        self, order: list[tuple[Pair, float]], budget: float, keep_refused: bool
    ) -> tuple[dict[Pair, tuple[int, ...]], set[Pair]] | None:
        ledger: Ledger[int] = Ledger(link_headroom=max(0.0, 1.0 - budget))
        service = self.service(ledger)
        service.sync_capacities()
        host = self.network.host_name
        paths: dict[Pair, tuple[int, ...]] = {}
        refused: set[Pair] = set()
        for (s, t), mbps in order:
            request = ReservationRequest(
                host(s), host(t), mbps, bidirectional=False, origin=Origin.PREDICTED
            )
            res, outcome = service.submit_or_refuse(request, 0.0)
            if isinstance(outcome, Refusal) or res is None or res.plan is None:
                if not keep_refused:
                    return None
                refused.add((s, t))
                continue
            paths[s, t] = tuple(d - 1 for d in res.plan.path)
        return paths, refused

    def lower_bound(self, sizes: Mapping[Pair, float]) -> float:
        """The splittable optimum of what the ledger would book: no budget below it can fit."""
        booked = np.zeros((self.network.size, self.network.size))
        for (s, t), mbps in sizes.items():
            booked[s, t] = meter_rate_mbps(mbps)
        return self.optimum.solve(booked)

    def place(self, sizes: Mapping[Pair, float]) -> Placement:
        """Every reservation of ``sizes`` (Mbit/s per pair) placed under the lowest budget."""
        order = sorted(((p, m) for p, m in sizes.items() if m > 0), key=lambda x: (-x[1], x[0]))
        if not order:
            return Placement({}, 0.0, frozenset(), 0)
        bound = self.lower_bound(dict(order))
        low = high = bound
        trials = 0
        best: dict[Pair, tuple[int, ...]] | None = None
        for factor in (*GROWTH, *(2.0**k for k in range(2, 12))):
            high = min(1.0, bound * factor)
            trials += 1
            found = self._trial(order, high, keep_refused=False)
            if found is not None:
                best = found[0]
                break
            if high >= 1.0:
                break
            low = high
        if best is None:  # not even the whole capacity holds them all
            paths, refused = self._trial(order, 1.0, keep_refused=True) or ({}, set())
            return Placement(paths, 1.0, frozenset(refused), trials + 1)
        while high > low * (1.0 + self.tolerance):
            middle = (low + high) / 2
            trials += 1
            found = self._trial(order, middle, keep_refused=False)
            if found is None:
                low = middle
            else:
                high, best = middle, found[0]
        return Placement(best, high, frozenset(), trials)
