"""The predictor link: forecasts in, pre-provisioned reservations out.

A mixin of :class:`ryu_apps.vnstitch.VnstitchApp`: it uses the app's services and state.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from ryu.lib import hub

from ryu_apps.predictor_link import PredictorLink
from vnstitch.messages import PairId
from vnstitch.predictive.provisioning import (
    PredictedReservation,
    ReleaseReservation,
    ResizeReservation,
    merge_directions,
    plan_provisioning,
    unordered,
)
from vnstitch.stitcher.reservation import Origin, ReservationRequest
from vnstitch.stitcher.stitch_service import Refusal

LOG = logging.getLogger("vnstitch")


class PredictorMixin:
    """The predictor link: forecasts in, pre-provisioned reservations out."""

    def _start_predictor_link(self) -> None:
        opts = self.config.predictor
        if not opts.enabled:
            return
        try:
            self.predictor = PredictorLink(
                opts.observations_endpoint,
                opts.forecasts_endpoint,
                self._on_forecasts,
                self._traffic_clock,
            )
        except Exception as exc:  # a taken port must not stop the controller
            LOG.error(
                "cannot bind the predictor queue (%s, %s): %s; running without forecasts "
                "(set [predictor] endpoints, or enabled = false)",
                opts.observations_endpoint,
                opts.forecasts_endpoint,
                exc,
            )
            return
        self.predictor.on_error = self.metrics.forecast_abs_error_mbps.observe
        self.predictor.on_anomaly = lambda _msg: self.metrics.anomalies.inc()
        self.threads.append(hub.spawn(self.predictor.bridge.receive_forever))
        LOG.info("predictor queue bound: %s, %s", *self.predictor.bridge.endpoints)

    def _traffic_clock(self) -> float:
        """Time of the traffic: wall time, or a time-compressed replay's (``time_scale``)."""
        opts = self.config.predictor
        if opts.time_scale == 1.0 and opts.time_origin is None:
            return time.time()
        origin = opts.time_origin if opts.time_origin is not None else self._clock_start
        return origin + (time.time() - self._clock_start) * opts.time_scale

    def _on_forecasts(self, batch: Any) -> None:
        """A forecast round arrived: bring the predicted reservations in line with it."""
        LOG.debug("forecast round %d: %d pairs", batch.seq, len(batch.forecasts))
        self._provision(f"{batch.model_version}#{batch.seq}")

    def _provision(self, source: str | None = None) -> None:
        """Create, resize or release predicted reservations (``vnstitch.predictive``)."""
        if self.predictor is None:
            return
        # Look one statistics round ahead, so a step's rules are in place when it begins.
        lookahead = self.config.controller.stats_interval_s * self.config.predictor.time_scale
        wall, now = self._traffic_clock() + lookahead, self._now()
        forecasts = merge_directions(
            {pair: kept.forecast for pair, kept in self.predictor.forecasts.items()}, wall
        )
        held, by_pair, protected = {}, {}, set()
        for res in self.stitcher.live():
            pair = unordered(PairId(res.request.src, res.request.dst))
            if res.request.origin is Origin.PREDICTED:
                zone = next(iter(res.request.zones), "default") if res.request.zones else "default"
                held[pair] = PredictedReservation(
                    pair,
                    res.request.bandwidth_mbps,
                    res.request.max_latency_ms,
                    zone,
                    self._predicted_class.get(res.id, "default"),
                )
                by_pair[pair] = res
            else:
                src, dst = self.db.find_host(res.request.src), self.db.find_host(res.request.dst)
                if src is not None and dst is not None and src.ip and dst.ip:
                    protected.add(unordered(PairId(src.ip, dst.ip)))
        actions = plan_provisioning(forecasts, held, wall, self.provisioning_policy, protected)
        if actions:
            self.stitcher.sync_capacities()
        for action in actions:
            if isinstance(action, ReleaseReservation):
                self.withdraw(by_pair[action.pair].id)
            elif isinstance(action, ResizeReservation):
                res = by_pair[action.pair]
                request = replace(res.request, bandwidth_mbps=action.rate_mbps)
                outcome = self.stitcher.modify(res.id, request, now)
                if isinstance(outcome, Refusal):
                    LOG.info("forecast resize of %s refused: %s", action.pair, outcome.reason)
                else:
                    self.runner.run(outcome)
            else:
                self._create_predicted(action, source, now)

    def _create_predicted(self, action: Any, source: str | None, now: float) -> None:
        zones = None if action.zone == "default" else frozenset({action.zone})
        request = ReservationRequest(
            action.pair.src,
            action.pair.dst,
            action.rate_mbps,
            action.latency_bound_ms,
            zones,
            origin=Origin.PREDICTED,
            origin_ref=f"forecast {source or '?'} until {action.valid_until:.0f}",
        )
        res, outcome = self.stitcher.submit_or_refuse(request, now)
        if isinstance(outcome, Refusal) or res is None:
            self.forecast_refusals += 1
            LOG.info("no reservation for forecast %s: %s", action.pair, outcome)
            return
        self._predicted_class[res.id] = action.traffic_class
        LOG.info(
            "pre-provisioning %s at %.2f Mbit/s (%s)", action.pair, action.rate_mbps, action.reason
        )
        self.runner.run(outcome)
