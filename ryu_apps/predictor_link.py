"""What the controller tells the predictor and keeps of what it answers.

Each statistics round asks every switch for its flow counters; when all have answered, the bytes
each endpoint pair sent (counted at its ingress, ``vnstitch.predictive.pair_counters``) go out
as one ``Observations`` message stamped with the round's interval on the controller's clock.
Forecasts that come back are kept per pair until their validity ends.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ryu_apps.queue_bridge import QueueBridge
from vnstitch.messages import (
    Anomaly,
    Endpoint,
    ForecastBatch,
    Message,
    Observations,
    PairForecast,
    PairId,
    PairSample,
    PredictorStatus,
    ReservationChange,
    TopologyChange,
)
from vnstitch.predictive.pair_counters import FlowSample, PairCounters

LOG = logging.getLogger("vnstitch.predictor")


@dataclass
class KeptForecast:
    """The latest forecast of one pair and the batch it came in."""

    forecast: PairForecast
    model_version: str
    quantile: float
    received_at: float
    seq: int


class PredictorLink:
    """Observations out, forecasts in, for one controller instance."""

    def __init__(
        self,
        observations_endpoint: str,
        forecasts_endpoint: str,
        on_forecasts: Callable[[ForecastBatch], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = f"controller-{uuid.uuid4().hex[:8]}"
        self.bridge = QueueBridge(observations_endpoint, forecasts_endpoint, self._received)
        self._on_forecasts = on_forecasts
        self._seq = 0
        self._counters = PairCounters()
        self._round_start: float | None = None
        self._round_time: float | None = None
        self._pending: set[int] = set()
        self._bytes: dict[tuple[str, str], int] = {}
        self.forecasts: dict[PairId, KeptForecast] = {}
        self.anomalies: list[Anomaly] = []
        self.status: PredictorStatus | None = None
        self.clock = clock  # the observations' time base (wall time, or a replay's)
        self.on_error: Callable[[float], None] = lambda _err: None
        self.on_anomaly: Callable[[Anomaly], None] = lambda _a: None
        self.last_rate: dict[PairId, float] = {}

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq - 1

    # ---- observations -------------------------------------------------------------------
    def begin_round(self, wall: float, dpids: list[int]) -> None:
        """A statistics round starts: flow stats were requested from ``dpids``."""
        if self._pending:
            self._publish_round()  # a switch did not answer: publish what we have
        self._round_start, self._round_time = self._round_time, wall
        self._pending = set(dpids)

    def flow_stats(
        self,
        dpid: int,
        body: list[Any],
        is_host_port: Callable[[int, int], bool],
        ip_of_mac: Callable[[str], str | None],
        interval_s: float,
    ) -> None:
        """A switch's complete flow-stats reply for this round."""
        samples = [
            FlowSample(
                dpid,
                stat.priority,
                stat.cookie,
                dict(stat.match.items()),
                stat.byte_count,
                stat.duration_sec + stat.duration_nsec / 1e9,
            )
            for stat in body
        ]
        for pair, count in self._counters.update(
            samples, is_host_port, ip_of_mac, interval_s
        ).items():
            self._bytes[pair] = self._bytes.get(pair, 0) + count
        self._pending.discard(dpid)
        if not self._pending:
            self._publish_round()

    def _publish_round(self) -> None:
        self._pending = set()
        if self._round_start is None or self._round_time is None:
            self._bytes = {}
            return  # the first round only sets the counters' baseline
        samples = tuple(
            PairSample(PairId(src, dst), count) for (src, dst), count in sorted(self._bytes.items())
        )
        self._bytes = {}
        self._score(samples, self._round_start, self._round_time)
        self.bridge.publish(
            Observations(
                self.source, self._next_seq(), self._round_start, self._round_time, samples
            )
        )

    def _score(self, samples: tuple[PairSample, ...], start: float, end: float) -> None:
        """Measured rate of every forecast pair over the round, and the forecast's error."""
        seconds = end - start
        if seconds <= 0:
            return
        measured = {s.pair: s.bytes * 8 / seconds / 1e6 for s in samples}
        for pair, kept in self.forecasts.items():
            rate = measured.get(pair, 0.0)
            self.last_rate[pair] = rate
            mean = kept.forecast.mean_at(start)
            if mean is not None and kept.forecast.valid_from <= start:
                self.on_error(abs(rate - mean))

    def publish_topology(
        self, wall: float, version: int, hosts: list[tuple[str, str, str]]
    ) -> None:
        """The endpoints the controller knows: (ip, name, zone)."""
        endpoints = tuple(Endpoint(ip, name, zone) for ip, name, zone in hosts)
        self.bridge.publish(TopologyChange(self.source, self._next_seq(), wall, version, endpoints))

    def publish_reservation(
        self, wall: float, res_id: int, pair: PairId, rate: float, origin: str, active: bool
    ) -> None:
        """A reservation was made, resized or released."""
        self.bridge.publish(
            ReservationChange(
                self.source, self._next_seq(), wall, str(res_id), pair, rate, origin, active
            )
        )

    def forget_switch(self, dpid: int) -> None:
        """A switch went away."""
        self._counters.forget_switch(dpid)
        self._pending.discard(dpid)

    # ---- what comes back ------------------------------------------------------------------
    def _received(self, msg: Message) -> None:
        if isinstance(msg, ForecastBatch):
            for fc in msg.forecasts:
                self.forecasts[fc.pair] = KeptForecast(
                    fc, msg.model_version, msg.quantile, self.clock(), msg.seq
                )
            self._on_forecasts(msg)
        elif isinstance(msg, Anomaly):
            LOG.warning(
                "anomaly: %s sends %.2f Mbit/s, %s its forecast interval [%.2f, %.2f] for %d steps",
                msg.pair,
                msg.observed_mbps,
                msg.direction,
                msg.lower_mbps,
                msg.upper_mbps,
                msg.steps_outside,
            )
            self.anomalies.append(msg)
            del self.anomalies[:-100]
            self.on_anomaly(msg)
        elif isinstance(msg, PredictorStatus):
            self.status = msg

    def expire(self, wall: float) -> None:
        """Forget forecasts whose validity has ended."""
        for pair in [p for p, k in self.forecasts.items() if k.forecast.valid_until <= wall]:
            del self.forecasts[pair]

    def forecasts_report(self, wall: float) -> list[dict[str, Any]]:
        """``GET /v1/forecasts``: the latest forecast of every pair, its age and model."""
        out = []
        for pair, kept in sorted(self.forecasts.items()):
            fc = kept.forecast
            out.append(
                {
                    "pair": [pair.src, pair.dst],
                    "mean_mbps": fc.mean_at(wall),
                    "upper_mbps": fc.upper_at(wall),
                    "quantile": kept.quantile,
                    "valid_from": fc.valid_from,
                    "valid_until": fc.valid_until,
                    "age_s": round(wall - kept.received_at, 3),
                    "model": kept.model_version,
                    "traffic_class": fc.traffic_class,
                    "latency_bound_ms": fc.latency_bound_ms,
                    "zone": fc.zone,
                    "seq": kept.seq,
                    "measured_mbps": self.last_rate.get(pair),
                }
            )
        return out
