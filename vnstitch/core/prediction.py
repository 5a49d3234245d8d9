"""The predictor link, core side: observations out, forecasts in, predicted reservations made.

Forecast batches go into the :class:`~vnstitch.predictive.forecast_book.ForecastBook` (newest
per pair, out-of-order and restarted-predictor safe) and from there — nothing else keeps a copy
— into provisioning (``vnstitch.predictive.provisioning``), which creates, resizes or releases
the reservations of origin ``predicted``. Time on this link is traffic time: wall time, or a
time-compressed replay's (``time_scale``, ``time_origin`` at ``time_origin_wall`` or the start).

What is refused is counted, never acted on: frames that do not decode (by decode reason), a
batch valid beyond ``max_forecast_horizon_s`` (``horizon``), and connections the adapter's
CURVE handshake refused (:class:`~vnstitch.core.events.PredictorRejected`, logged at INFO at
most once a minute); ``/v1/stats`` (``queue``) and ``/metrics`` show the counts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from vnstitch.clock import Instant, rfc3339
from vnstitch.core.actions import Outbox, Publish
from vnstitch.core.discovery import Discovery
from vnstitch.core.events import FlowCounters
from vnstitch.core.stitching import Stitching
from vnstitch.messages import (
    Anomaly,
    DecodeError,
    DropCounter,
    Endpoint,
    ForecastBatch,
    Message,
    Observations,
    PairId,
    PredictorStatus,
    ReservationChange,
    TopologyChange,
    decode,
)
from vnstitch.northbound.config import PredictorOptions
from vnstitch.northbound.metrics import ControllerMetrics
from vnstitch.predictive.forecast_book import ForecastBook, beyond_horizon
from vnstitch.predictive.observation_rounds import CountedRound
from vnstitch.predictive.pair_counters import FlowSample
from vnstitch.predictive.provisioning import (
    CreateReservation,
    PredictedReservation,
    ProvisioningAction,
    ProvisioningPolicy,
    ReleaseReservation,
    ResizeReservation,
    plan_provisioning,
)
from vnstitch.predictive.restored_hold import RestoredHold
from vnstitch.predictive.step_alignment import AlignedRounds, next_boundary
from vnstitch.stitcher.reservation import Origin, Reservation, ReservationRequest
from vnstitch.stitcher.stitch_service import Refusal

LOG = logging.getLogger("vnstitch.predictor")
ORIGIN_ON_WIRE = {Origin.PREDICTED: "forecast", Origin.INTENT: "intent"}
HORIZON = "horizon"  # drop reason: a forecast valid further ahead than max_forecast_horizon_s
SPARSE_LOG_INTERVAL_S = 60.0
ROUND_LAG_S = 0.002  # a round starts this long after its step boundary (wall seconds)


class SparseLog:
    """INFO lines at most once per interval (monotonic time), saying how many were held back."""

    def __init__(self, interval_s: float = SPARSE_LOG_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._next = float("-inf")
        self._held = 0

    def info(self, at: Instant, text: str) -> bool:
        """Log ``text`` unless a line went out less than an interval ago; True if logged."""
        if at.mono < self._next:
            self._held += 1
            return False
        more = f" ({self._held} more since the last report)" if self._held else ""
        self._next, self._held = at.mono + self.interval_s, 0
        LOG.info("%s%s", text, more)
        return True


class Prediction:
    """Everything the controller does with the predictor."""

    def __init__(
        self,
        options: PredictorOptions,
        stats_interval_s: float,
        source: str,
        started: Instant,
        discovery: Discovery,
        stitching: Stitching,
        outbox: Outbox,
        metrics: ControllerMetrics,
    ) -> None:
        self.options = options
        self.stats_interval_s = stats_interval_s
        self.source = source
        self.started = started
        self.discovery = discovery
        self.stitching = stitching
        self.outbox = outbox
        self.metrics = metrics
        self.policy = ProvisioningPolicy(
            threshold_mbps=options.threshold_mbps,
            hysteresis=options.hysteresis,
            grow_hysteresis=options.grow_hysteresis,
            shrink_hysteresis=options.shrink_hysteresis,
            max_shrink=options.max_shrink,
            floor_mbps=options.floor_mbps,
        )
        self.book = ForecastBook()
        self.rounds = AlignedRounds(stats_interval_s * options.time_scale)
        # restored predicted reservations are kept until the first batch (restored_hold)
        self.restored_hold = RestoredHold.starting(self.traffic_time(started), self.rounds.step)
        self.last_rate: dict[PairId, float] = {}
        self.anomalies: list[Anomaly] = []
        self.status: PredictorStatus | None = None
        self.refusals = 0
        self._seq = 0
        self._traffic_class: dict[int, str] = {}
        self.drops = DropCounter()
        self.rejected = DropCounter()
        self._reject_log = SparseLog()
        self._horizon_log = SparseLog()
        self.received_count = 0
        self.published_count = 0
        stitching.on_reservation_change = self.reservation_changed
        self.on_anomaly: Callable[[Anomaly, Instant], None] = lambda _msg, _at: None
        # True while a predicted reservation is held out of provisioning (grown on an anomaly)
        self.holds: Callable[[Reservation, Instant], bool] = lambda _res, _at: False

    def traffic_time(self, at: Instant) -> float:
        """Time of the traffic: wall time, or a time-compressed replay's."""
        opts = self.options
        if opts.time_scale == 1.0 and opts.time_origin is None:
            return at.wall
        anchor = self.started.wall if opts.time_origin_wall is None else opts.time_origin_wall
        origin = opts.time_origin if opts.time_origin is not None else anchor
        return origin + (at.wall - anchor) * opts.time_scale

    def _publish(self, message: Message) -> None:
        self.published_count += 1
        self.outbox.add(Publish(message))

    def queue_status(self) -> dict[str, Any]:
        """Counters of the link for ``/v1/stats`` and ``/v1/forecasts``."""
        return {
            "observations_endpoint": self.options.observations_endpoint,
            "forecasts_endpoint": self.options.forecasts_endpoint,
            "curve": self.options.curve,
            "sent": self.published_count,
            "received": self.received_count,
            "dropped": dict(self.drops.by_reason),
            "rejected": dict(self.rejected.by_reason),
            "predictor": self._predictor_status(),
        }

    def _predictor_status(self) -> dict[str, Any] | None:
        """The last heartbeat of the predictor (None before the first)."""
        st = self.status
        if st is None:
            return None
        return {
            "source": st.source,
            "model_version": st.model_version,
            "pairs": st.pairs,
            "forecasts_sent": st.forecasts_sent,
            "time": rfc3339(st.time),
        }

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq - 1

    # ---- what comes in --------------------------------------------------------------------
    def _drop(self, reason: str) -> None:
        self.drops.count(reason)
        self.metrics.predictor_dropped.inc(reason=reason)

    def frames(self, frames: tuple[bytes, ...], at: Instant) -> None:
        """Raw frames from the socket: a malformed or wrong-version message is counted, dropped."""
        if len(frames) != 1:
            self._drop("garbage")
            return
        try:
            msg = decode(frames[0], self.options.max_message_bytes)
        except DecodeError as exc:
            self._drop(exc.reason)
            LOG.debug("dropped a message from the predictor: %s", exc)
            return
        self.received(msg, at)

    def rejected_connection(self, reason: str, detail: str, at: Instant) -> None:
        """The adapter refused a connection in the CURVE handshake: count it, log it sparingly."""
        self.rejected.count(reason)
        self.metrics.predictor_rejected.inc(reason=reason)
        self._reject_log.info(at, f"refused a predictor-queue connection ({reason}): {detail}")

    def received(self, msg: Message, at: Instant) -> None:
        """A decoded message from the predictor."""
        if isinstance(msg, ForecastBatch):
            latest = self.traffic_time(at) + self.options.max_forecast_horizon_s
            far = beyond_horizon(msg, latest)
            if far is not None:
                self._drop(HORIZON)
                self._horizon_log.info(
                    at,
                    f"dropped forecast batch {msg.source}#{msg.seq}: {far.pair} is valid until "
                    f"{far.valid_until!r}, more than {self.options.max_forecast_horizon_s:.0f} s "
                    "ahead ([predictor] max_forecast_horizon_s)",
                )
                return
        self.received_count += 1
        match msg:
            case ForecastBatch():
                taken = self.book.update(msg, self.traffic_time(at))
                self.restored_hold.batch_taken()
                LOG.debug(
                    "forecast round %d: %d pairs, %d newer", msg.seq, len(msg.forecasts), taken
                )
                self.provision(at, f"{msg.model_version}#{msg.seq}")
            case Anomaly():
                LOG.warning(
                    "anomaly: %s sends %.2f Mbit/s, %s its forecast interval [%.2f, %.2f] "
                    "for %d steps",
                    msg.pair,
                    msg.observed_mbps,
                    msg.direction,
                    msg.lower_mbps,
                    msg.upper_mbps,
                    msg.steps_outside,
                )
                self.anomalies.append(msg)
                del self.anomalies[:-100]
                self.metrics.anomalies.inc()
                self.on_anomaly(msg, at)
            case PredictorStatus():
                self.status = msg
            case _:
                LOG.debug("ignored %s from the predictor", type(msg).__name__)

    # ---- statistics rounds -----------------------------------------------------------------
    def begin_round(self, dpids: list[int], at: Instant) -> None:
        """A statistics round starts: note the requests' instant, expire forecasts (provisioning
        follows in the round's own :class:`vnstitch.core.events.RoundWork`)."""
        traffic = self.traffic_time(at)
        # the counters a switch reports are as old as its last sweep of them
        self.rounds.requested(dpids, traffic - self.options.counter_lag_s * self.options.time_scale)
        self.book.prune(traffic)

    def next_round_wall(self, wall: float) -> float:
        """Wall time of the next statistics round: just after the next step boundary (and
        after the switches' counters have caught up with it: ``counter_lag_s``)."""
        traffic = self.traffic_time(Instant(wall, 0.0))
        lag = self.options.counter_lag_s + ROUND_LAG_S
        boundary = next_boundary(traffic - lag * self.options.time_scale, self.rounds.step)
        return wall + (boundary - traffic) / self.options.time_scale + lag

    def flow_stats(self, dpid: int, flows: tuple[FlowCounters, ...], at: Instant) -> None:
        """A switch's flow counters, read when they were requested."""
        samples = [
            FlowSample(dpid, f.priority, f.cookie, f.match, f.byte_count, f.duration_s)
            for f in flows
        ]
        for counted in self.rounds.flow_stats(
            dpid,
            samples,
            self.discovery.is_host_port,
            self.discovery.ip_of_mac,
            self.stats_interval_s,
            self.traffic_time(at),
        ):
            self._publish_round(counted)

    def forget_switch(self, dpid: int) -> None:
        """A switch went away."""
        self.rounds.forget_switch(dpid)

    def _publish_round(self, counted: CountedRound) -> None:
        self._score(counted)
        self._publish(
            Observations(self.source, self._next_seq(), counted.start, counted.end, counted.samples)
        )

    def _score(self, counted: CountedRound) -> None:
        """Measured rate of every forecast pair over the round, and the forecast's error."""
        if counted.end <= counted.start:
            return
        measured = counted.rates_mbps()
        for pair, entry in self.book.entries.items():
            rate = measured.get(pair, 0.0)
            self.last_rate[pair] = rate
            mean = entry.forecast.mean_at(counted.start)
            if mean is not None and entry.forecast.valid_from <= counted.start:
                self.metrics.forecast_abs_error_mbps.observe(abs(rate - mean))

    # ---- what goes out ------------------------------------------------------------------------
    def publish_topology(self, at: Instant) -> None:
        """The endpoints the controller knows."""
        db = self.discovery.db
        endpoints = tuple(Endpoint(h.ip, h.name, h.zone) for h in db.hosts.values() if h.ip)
        self._publish(
            TopologyChange(
                self.source, self._next_seq(), self.traffic_time(at), db.version, endpoints
            )
        )

    def reservation_changed(self, res: Reservation, active: bool, at: Instant) -> None:
        """Tell the predictor a reservation was made, resized or released."""
        db = self.discovery.db
        src, dst = db.find_host(res.request.src), db.find_host(res.request.dst)
        if src is None or dst is None or not src.ip or not dst.ip:
            return
        rate = res.plan.meter_rate_mbps if res.plan else 0.0
        self._publish(
            ReservationChange(
                self.source,
                self._next_seq(),
                self.traffic_time(at),
                str(res.id),
                PairId(src.ip, dst.ip),
                rate,
                ORIGIN_ON_WIRE.get(res.request.origin, "request"),
                active,
            )
        )
        if not active:
            self._traffic_class.pop(res.id, None)

    # ---- provisioning ---------------------------------------------------------------------------
    def provision(self, at: Instant, source: str | None = None) -> None:
        """Create, resize or release predicted reservations to follow the forecasts.

        Each direction of a pair has its own forecast and its own one-way reservation (own
        rules, cookie and meter), sized by that direction's forecast alone.
        """
        stitcher = self.stitching.stitcher
        db = self.discovery.db
        # Look one statistics round ahead, so a step's rules are in place when it begins.
        step = self.stats_interval_s * self.options.time_scale
        present = self.traffic_time(at)
        if self.restored_hold.holds(present):
            return  # no batch since the start yet: restored ones stay as they are
        ahead = present + step
        held: dict[PairId, PredictedReservation] = {}
        by_pair: dict[PairId, Reservation] = {}
        protected: set[PairId] = set()
        for res in stitcher.live():
            req = res.request
            if req.origin is Origin.PREDICTED and req.bidirectional:
                self.stitching.withdraw(res.id, at)  # one both ways, from before directions
                continue
            if req.origin is Origin.PREDICTED and not self.holds(res, at):
                pair = PairId(req.src, req.dst)
                zone = next(iter(req.zones), "default") if req.zones else "default"
                held[pair] = PredictedReservation(
                    pair,
                    req.bandwidth_mbps,
                    req.max_latency_ms,
                    zone,
                    self._traffic_class.get(res.id, "default"),
                )
                by_pair[pair] = res
            else:
                src, dst = db.find_host(req.src), db.find_host(req.dst)
                if src is not None and dst is not None and src.ip and dst.ip:
                    protected.add(PairId(src.ip, dst.ip))
                    if req.bidirectional:
                        protected.add(PairId(dst.ip, src.ip))
        actions = plan_provisioning(
            self.book.forecasts, held, ahead, self.policy, protected, lead_s=step, present=present
        )
        if not actions:
            return
        stitcher.sync_capacities()
        # one commit for the round (predicted reservations are stored); nothing reaches a
        # switch before it: the core's actions go out after this returns
        with self.stitching.durable.store.atomic():
            for action in actions:
                self._apply(action, by_pair, source, at)

    def _apply(
        self,
        action: ProvisioningAction,
        by_pair: dict[PairId, Reservation],
        source: str | None,
        at: Instant,
    ) -> None:
        match action:
            case ReleaseReservation():
                LOG.info("releasing forecast reservation %s: %s", action.pair, action.reason)
                self.stitching.withdraw(by_pair[action.pair].id, at)
            case ResizeReservation():
                res = by_pair[action.pair]
                request = replace(res.request, bandwidth_mbps=action.rate_mbps)
                outcome = self.stitching.stitcher.modify(res.id, request, at.wall)
                if isinstance(outcome, Refusal):
                    LOG.info("forecast resize of %s refused: %s", action.pair, outcome.reason)
                else:
                    self.stitching.run(outcome, at)
            case CreateReservation():
                self._create(action, source, at)

    def _create(self, action: CreateReservation, source: str | None, at: Instant) -> None:
        zones = None if action.zone == "default" else frozenset({action.zone})
        request = ReservationRequest(
            action.pair.src,
            action.pair.dst,
            action.rate_mbps,
            action.latency_bound_ms,
            zones,
            bidirectional=False,
            origin=Origin.PREDICTED,
            origin_ref=f"forecast {source or '?'} until {action.valid_until:.0f}",
        )
        res, outcome = self.stitching.stitcher.submit_or_refuse(request, at.wall)
        if isinstance(outcome, Refusal) or res is None:
            self.refusals += 1
            LOG.info("no reservation for forecast %s: %s", action.pair, outcome)
            return
        self._traffic_class[res.id] = action.traffic_class
        LOG.info(
            "pre-provisioning %s at %.2f Mbit/s (%s)", action.pair, action.rate_mbps, action.reason
        )
        self.stitching.run(outcome, at)

    # ---- reports ---------------------------------------------------------------------------------
    def anomaly_report(self) -> list[dict[str, Any]]:
        """``GET /v1/forecasts`` ``anomalies``: the latest the predictor sent, oldest first."""
        return [
            {
                "pair": [a.pair.src, a.pair.dst],
                "time": rfc3339(a.time),
                "observed_mbps": a.observed_mbps,
                "lower_mbps": a.lower_mbps,
                "upper_mbps": a.upper_mbps,
                "steps_outside": a.steps_outside,
                "direction": a.direction,
            }
            for a in self.anomalies
        ]

    def report(self, at: Instant) -> list[dict[str, Any]]:
        """``GET /v1/forecasts``: the latest forecast of every pair, its age and model."""
        now = self.traffic_time(at)
        out = []
        for pair, entry in sorted(self.book.entries.items()):
            fc = entry.forecast
            out.append(
                {
                    "pair": [pair.src, pair.dst],
                    "mean_mbps": fc.mean_at(now),
                    "upper_mbps": fc.upper_at(now),
                    "quantile": entry.quantile,
                    "valid_from": rfc3339(fc.valid_from),
                    "valid_until": rfc3339(fc.valid_until),
                    "age_s": round(now - entry.received_at, 3),
                    "model": entry.model_version,
                    "traffic_class": fc.traffic_class,
                    "latency_bound_ms": fc.latency_bound_ms,
                    "zone": fc.zone,
                    "seq": entry.seq,
                    "measured_mbps": self.last_rate.get(pair),
                }
            )
        return out
