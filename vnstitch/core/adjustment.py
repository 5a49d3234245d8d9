"""Dynamic adjustment: reservations moved off congested links, back when worth it, grown on an
anomaly.

Every statistics round (``round``) reads the measured rate of each directed link (port
counters, ``Statistics.port_rate_mbps``). A link above ``congestion_threshold`` of its capacity
for ``congestion_rounds`` rounds in a row is *congested*: movable reservations crossing it
(``vnstitch.stitcher.rerouting``: predicted first) get target paths around it, and
``vnstitch.stitcher.moves.order_moves`` orders the make-before-break moves so that no state in
between over-books a link; with no safe order nothing moves (counted, logged). A congested link
below the threshold for as many rounds has *recovered*: that, or every
``reoptimise_interval_s``, re-optimises -- reservations move onto paths cheaper by at least
``reoptimise_min_gain_ms``, never across a congested link. One plan runs at a time, a stage
per round once the stage before is confirmed; after a plan, a link must be above the threshold
for ``congestion_rounds`` fresh rounds before the next one (no chasing stale measurements).

An anomaly from the predictor (a pair measured above its forecast interval) grows that pair's
predicted reservation at once to ``measured * (1 + anomaly_growth)``, or creates one; for
``anomaly_hold_s`` the forecasts neither shrink nor release it (the model has not seen the
surge yet), after that provisioning follows the forecasts again.

Every move and growth is a reservation history entry with its reason and counted in
``vnstitch_adjustment_moves_total``; a plan not made in ``vnstitch_adjustment_refused_total``.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from vnstitch.clock import Instant
from vnstitch.core.stitching import Stitching
from vnstitch.messages import Anomaly
from vnstitch.northbound.config import AdjustmentOptions
from vnstitch.northbound.metrics import ControllerMetrics
from vnstitch.stitcher.cost import balancing_weights
from vnstitch.stitcher.install_jobs import Job
from vnstitch.stitcher.moves import MoveOrder, NoSafeOrder, order_moves
from vnstitch.stitcher.rerouting import (
    Edge,
    PlannedMove,
    cheaper_moves,
    congestion_moves,
    link_loads,
)
from vnstitch.stitcher.reservation import Origin, Reservation, ReservationRequest, State
from vnstitch.stitcher.stitch_service import Refusal

LOG = logging.getLogger("vnstitch")


class Adjustment:
    """Congestion moves, re-optimisation and anomaly growth (see the module docstring)."""

    def __init__(
        self,
        options: AdjustmentOptions,
        stitching: Stitching,
        port_rate_mbps: dict[tuple[int, int], float],
        metrics: ControllerMetrics,
    ) -> None:
        self.options = options
        self.stitching = stitching
        self.port_rate_mbps = port_rate_mbps  # (dpid, port) -> measured Mbit/s, kept current
        self.metrics = metrics
        self.above: dict[Edge, int] = {}  # rounds in a row above the threshold
        self.below: dict[Edge, int] = {}  # congested links: rounds in a row below it
        self.congested: set[Edge] = set()
        self._plan: list[tuple[int, ...]] = []  # stages not started yet
        self._moving: tuple[int, ...] = ()  # the stage in flight
        self._targets: dict[int, PlannedMove] = {}
        self._reason = "congestion"  # of the plan in flight
        self._last_reoptimise: float | None = None
        self._reoptimise_due = False
        self._held_until: dict[int, float] = {}  # grown on an anomaly: wall time of release

    # ---- measurements ------------------------------------------------------------------------
    def measured(self) -> dict[Edge, float]:
        """Measured Mbit/s of every directed link with a reading."""
        out: dict[Edge, float] = {}
        for lid in self.stitching.stitcher.db.links:
            rate = self.port_rate_mbps.get((lid.src, lid.src_port))
            if rate is not None:
                out[lid.src, lid.dst] = rate
        return out

    def round(self, at: Instant) -> None:
        """One statistics round: update congestion, then advance or make a plan."""
        if not self.options.enabled:
            return
        excess = self._observe()
        interval = self.options.reoptimise_interval_s
        if self._last_reoptimise is None:
            self._last_reoptimise = at.mono
        elif interval > 0 and at.mono - self._last_reoptimise >= interval:
            self._reoptimise_due = True
        if self._plan or self._moving:
            self._advance(at)
            return
        if excess:
            self._start(self._congestion_plan(excess), "congestion", at)
        elif self._reoptimise_due:
            self._reoptimise_due = False
            self._last_reoptimise = at.mono
            self._start(self._reoptimise_plan(), "reoptimise", at)

    def _observe(self) -> dict[Edge, float]:
        """Count rounds above/below; returns the congested links' Mbit/s above the threshold."""
        threshold, rounds = self.options.congestion_threshold, self.options.congestion_rounds
        ledger = self.stitching.stitcher.ledger
        excess: dict[Edge, float] = {}
        for lid in self.stitching.stitcher.db.links:
            edge = (lid.src, lid.dst)
            rate = self.port_rate_mbps.get((lid.src, lid.src_port))
            capacity = ledger.capacity(lid)
            if rate is None or capacity <= 0:
                continue
            if rate > threshold * capacity:
                self.above[edge] = self.above.get(edge, 0) + 1
                self.below.pop(edge, None)
                if self.above[edge] >= rounds:
                    if edge not in self.congested:
                        LOG.warning(
                            "link %016x -> %016x congested: %.2f of %.2f Mbit/s for %d rounds",
                            *edge,
                            rate,
                            capacity,
                            rounds,
                        )
                    self.congested.add(edge)
                    excess[edge] = rate - threshold * capacity
            else:
                self.above.pop(edge, None)
                if edge in self.congested:
                    self.below[edge] = self.below.get(edge, 0) + 1
                    if self.below[edge] >= rounds:
                        LOG.info("link %016x -> %016x recovered", *edge)
                        self.congested.discard(edge)
                        self.below.pop(edge, None)
                        self._reoptimise_due = True
        return excess

    # ---- plans --------------------------------------------------------------------------------
    def _congestion_plan(self, excess: dict[Edge, float]) -> list[PlannedMove]:
        stitcher = self.stitching.stitcher
        loads = link_loads(stitcher, self.measured())
        weights = balancing_weights(self.options.congestion_utilisation_ms)
        moves, stuck = congestion_moves(stitcher, excess, loads, weights)
        if stuck:
            self.metrics.adjustment_refused.inc(len(stuck), reason="no_path")
        return moves

    def _reoptimise_plan(self) -> list[PlannedMove]:
        stitcher = self.stitching.stitcher
        loads = link_loads(stitcher, self.measured())
        weights = balancing_weights(self.options.reoptimise_utilisation_ms)
        return cheaper_moves(
            stitcher,
            loads,
            weights,
            self.options.reoptimise_min_gain_ms,
            self.congested,
            ceiling=self.options.congestion_threshold,  # never back into congestion
        )

    def _start(self, moves: list[PlannedMove], reason: str, at: Instant) -> None:
        if not moves:
            return
        loads = link_loads(self.stitching.stitcher, self.measured())
        order = order_moves(loads.capacity, loads.load, [m.move for m in moves])
        if isinstance(order, NoSafeOrder):
            LOG.warning("%s: not moving anything: %s", reason, order.reason)
            self.metrics.adjustment_refused.inc(reason="no_safe_order")
            return
        assert isinstance(order, MoveOrder)
        self._targets = {m.move.owner: m for m in moves}
        self._plan = list(order.stages)
        self.above.clear()  # rates measured before the moves say nothing of after them
        self._reason = reason
        LOG.info("%s: %d move(s) in %d stage(s)", reason, len(moves), len(order.stages))
        self._advance(at)

    def _advance(self, at: Instant) -> None:
        """Start the next stage once every move of the one in flight is confirmed (or gone)."""
        stitcher = self.stitching.stitcher
        for owner in self._moving:
            res = stitcher.reservations.get(owner)
            if res is not None and res.state is State.INSTALLING:
                return
        self._moving = ()
        if not self._plan:
            self._targets = {}
            return
        stage = self._plan.pop(0)
        started = []
        for owner in stage:
            planned = self._targets[owner]
            outcome = stitcher.move(owner, planned.path, at.wall, planned.why)
            if isinstance(outcome, Refusal):  # the state changed since: stop this plan
                LOG.info("move of reservation %d refused: %s", owner, outcome.reason)
                self.metrics.adjustment_refused.inc(reason="refused")
                self._plan = []
                break
            self.stitching.run(outcome, at)
            self.metrics.adjustment_moves.inc(reason=self._reason)
            LOG.info("reservation %d: %s", owner, planned.why)
            started.append(owner)
        self._moving = tuple(started)

    # ---- anomalies ----------------------------------------------------------------------------
    def anomaly(self, msg: Anomaly, at: Instant) -> None:
        """A pair above its forecast: grow (or create) its predicted reservation at once."""
        if not self.options.enabled or msg.direction != "above":
            return
        rate = msg.observed_mbps * (1.0 + self.options.anomaly_growth)
        why = (
            f"anomaly: {msg.observed_mbps:.2f} Mbit/s measured above the forecast's "
            f"{msg.upper_mbps:.2f}; grown to {rate:.2f} Mbit/s"
        )
        stitcher = self.stitching.stitcher
        for res in list(stitcher.live()):
            req = res.request
            if req.origin is not Origin.PREDICTED or (req.src, req.dst) != msg.pair:
                continue  # predicted reservations are one-way, one per direction
            if req.bandwidth_mbps >= rate:
                return
            outcome = stitcher.modify(res.id, replace(req, bandwidth_mbps=rate), at.wall, why)
            self._anomaly_outcome(res, outcome, msg, at)
            return
        request = ReservationRequest(
            msg.pair.src,
            msg.pair.dst,
            rate,
            bidirectional=False,
            origin=Origin.PREDICTED,
            origin_ref=why,
        )
        created, outcome = stitcher.submit_or_refuse(request, at.wall)
        self._anomaly_outcome(created, outcome, msg, at)

    def holds(self, res: Reservation, at: Instant) -> bool:
        """True while a reservation grown on an anomaly is kept out of forecast provisioning."""
        until = self._held_until.get(res.id)
        if until is None:
            return False
        if at.wall < until:
            return True
        del self._held_until[res.id]
        return False

    def _anomaly_outcome(
        self, res: Reservation | None, outcome: Job | Refusal, msg: Anomaly, at: Instant
    ) -> None:
        if isinstance(outcome, Refusal):
            LOG.info("anomaly of %s: no larger reservation: %s", msg.pair, outcome.reason)
            self.metrics.adjustment_refused.inc(reason="refused")
            return
        if isinstance(outcome, Job) and res is not None:
            self._held_until[res.id] = at.wall + self.options.anomaly_hold_s
            self.stitching.run(outcome, at)
            self.metrics.adjustment_moves.inc(reason="anomaly")
