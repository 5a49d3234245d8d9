"""Message value types exchanged between the controller and the predictor (schema v1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

SCHEMA_VERSION = 1

DEFAULT_OBSERVATIONS_ENDPOINT = "tcp://127.0.0.1:5561"
DEFAULT_FORECASTS_ENDPOINT = "tcp://127.0.0.1:5562"

ORIGIN_REQUEST = "request"
ORIGIN_INTENT = "intent"
ORIGIN_FORECAST = "forecast"
ORIGINS = (ORIGIN_REQUEST, ORIGIN_INTENT, ORIGIN_FORECAST)

ABOVE = "above"
BELOW = "below"


class PairId(NamedTuple):
    """A directed endpoint pair, named by the endpoints' IP addresses."""

    src: str
    dst: str

    def __str__(self) -> str:
        return f"{self.src}>{self.dst}"


@dataclass(frozen=True)
class PairSample:
    """Bytes one pair sent during an interval, with the L4 port / DSCP seen if known."""

    pair: PairId
    bytes: int
    dscp: int | None = None
    l4_port: int | None = None


@dataclass(frozen=True)
class Observations:
    """Controller -> predictor: traffic of every active pair over [interval_start, interval_end).

    Times are seconds since the epoch on the controller's (or a replay's) clock.
    A pair left out carried no traffic in the interval.
    """

    source: str
    seq: int
    interval_start: float
    interval_end: float
    samples: tuple[PairSample, ...] = ()

    @property
    def duration(self) -> float:
        """Length of the covered interval in seconds."""
        return self.interval_end - self.interval_start


@dataclass(frozen=True)
class Endpoint:
    """A known end host: its IP, name and security zone."""

    ip: str
    name: str = ""
    zone: str = "default"


@dataclass(frozen=True)
class TopologyChange:
    """Controller -> predictor: full snapshot of known endpoints after a topology change."""

    source: str
    seq: int
    time: float
    topology_version: int
    endpoints: tuple[Endpoint, ...] = ()


@dataclass(frozen=True)
class ReservationChange:
    """Controller -> predictor: a reservation was made, resized or released."""

    source: str
    seq: int
    time: float
    reservation_id: str
    pair: PairId
    rate_mbps: float
    origin: str
    active: bool


@dataclass(frozen=True)
class PairForecast:
    """Forecast bandwidth of one pair, one value per step of the validity window.

    Step ``i`` covers ``[valid_from + i*step, valid_from + (i+1)*step)`` with
    ``step = (valid_until - valid_from) / len(mean_mbps)``.
    """

    pair: PairId
    mean_mbps: tuple[float, ...]
    upper_mbps: tuple[float, ...]
    valid_from: float
    valid_until: float
    traffic_class: str = "default"
    latency_bound_ms: float | None = None
    zone: str = "default"

    @property
    def step_seconds(self) -> float:
        """Length of one forecast step in seconds."""
        return (self.valid_until - self.valid_from) / len(self.mean_mbps)

    def step_index(self, now: float) -> int | None:
        """Index of the step covering ``now``; the first step before validity, None after it."""
        if now >= self.valid_until:
            return None
        if now < self.valid_from:
            return 0
        index = int((now - self.valid_from) // self.step_seconds)
        return min(index, len(self.mean_mbps) - 1)

    def upper_at(self, now: float) -> float | None:
        """Upper-quantile bandwidth for the step covering ``now``; None once expired."""
        index = self.step_index(now)
        return None if index is None else self.upper_mbps[index]

    def mean_at(self, now: float) -> float | None:
        """Central bandwidth forecast for the step covering ``now``; None once expired."""
        index = self.step_index(now)
        return None if index is None else self.mean_mbps[index]


@dataclass(frozen=True)
class ForecastBatch:
    """Predictor -> controller: one forecast round for every tracked pair."""

    source: str
    seq: int
    model_version: str
    quantile: float
    issued_at: float
    forecasts: tuple[PairForecast, ...] = ()


@dataclass(frozen=True)
class Anomaly:
    """Predictor -> controller: a pair's traffic stayed outside its forecast interval."""

    source: str
    seq: int
    time: float
    pair: PairId
    observed_mbps: float
    lower_mbps: float
    upper_mbps: float
    steps_outside: int
    direction: str


@dataclass(frozen=True)
class PredictorStatus:
    """Predictor -> controller: periodic heartbeat with counters."""

    source: str
    seq: int
    time: float
    model_version: str
    pairs: int
    forecasts_sent: int
    anomalies: int
    dropped: dict[str, int] = field(default_factory=dict)


Message = (
    Observations | TopologyChange | ReservationChange | ForecastBatch | Anomaly | PredictorStatus
)
