"""The predictor's core loop without sockets or clocks: messages in, messages out.

Observations are binned into model steps; each completed step is checked against the interval
forecast for it (anomalies) and triggers a forecast round for every pair that carried traffic
in the last week (``EngineConfig.idle_days``). Until a model is trained or loaded, a fallback
forecasts the last value with the last hour's peak as its upper bound. Retraining (daily) and
recalibration of the upper forecasts for the pairs actually seen (every few hours) are offered
as model updates that the publisher (:mod:`predictor.publisher`) runs in a worker thread.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace

import numpy as np

from predictor.anomaly import AnomalyDetector, Interval
from predictor.classes import Classifier
from predictor.features import FeatureSpec
from predictor.live import CompletedStep, RateHistory, StepAggregator
from predictor.model_kinds import DEFAULT_MODEL_KIND
from predictor.model_updates import ModelUpdate, RecalibrationJob, TrainingJob
from predictor.models import Forecaster, TrainConfig
from predictor.seeding import SeedHistory
from vnstitch.messages import (
    Anomaly,
    DropCounter,
    ForecastBatch,
    Message,
    Observations,
    PairForecast,
    PairId,
    PredictorStatus,
    ReservationChange,
    TopologyChange,
)

log = logging.getLogger(__name__)

FALLBACK_VERSION = "fallback-recent-peak"
UNEXPECTED = "unexpected_kind"
BEFORE_SEED = "before_seed"


@dataclass(frozen=True)
class EngineConfig:
    """Behaviour of the live predictor."""

    horizon: int = 3  # forecast steps per round
    step_seconds: float = 300.0  # model step while no model is loaded
    quantile: float = 0.95
    anomaly_steps: int = 3  # consecutive steps outside the interval before reporting
    anomaly_tolerance: float = 0.25  # interval widened by this share on both sides
    history_days: float = 8.0
    retrain: bool = True
    retrain_every_days: float = 1.0
    min_train_days: float = 2.0
    train_days: float = 7.0
    recalibrate_every_hours: float = 6.0
    calibration_days: float = 2.0
    model_kind: str = DEFAULT_MODEL_KIND  # a name in predictor.model_kinds.MODEL_KINDS
    threads: int = 1
    # stop forecasting pairs idle this long. A week: traffic recurs weekly, and on the Abilene
    # trace's training days 9-10 every pair that started after an hour's silence had carried
    # traffic in the 7 days before (95 % in the day before); a forecast pair can be given a
    # standing reservation (the controller's ``[predictor] floor_mbps``)
    idle_days: float = 7.0
    bytes_scale: float = 1.0  # observed bytes x this (a replay stamping compressed time)


@dataclass
class _PairInfo:
    rank: int


@dataclass
class PredictorEngine:
    """Turns controller messages into forecasts and anomaly events."""

    source: str
    config: EngineConfig = field(default_factory=EngineConfig)
    classifier: Classifier = field(default_factory=Classifier)
    forecaster: Forecaster | None = None
    model_version: str = FALLBACK_VERSION
    drops: DropCounter = field(default_factory=DropCounter)
    forecasts_sent: int = 0

    def __post_init__(self) -> None:
        step = self.forecaster.spec.step_seconds if self.forecaster else self.config.step_seconds
        self._start_timeline(step)
        self._seq = 0
        self._controller: str | None = None
        self._pairs: dict[PairId, _PairInfo] = {}
        self._zones: dict[str, str] = {}
        self.reservations: dict[str, ReservationChange] = {}
        self.detector = AnomalyDetector(self.config.anomaly_steps)
        self._busy = False
        self._since_training = 0
        self._since_calibration = 0
        self._model_tag = self.model_version
        self._recalibrations = 0
        self.seeded_until: float | None = None

    def _start_timeline(self, step_seconds: float) -> None:
        self.spec = FeatureSpec(step_seconds)
        self.aggregator = StepAggregator(step_seconds, max_gap_steps=self.spec.day)
        # when full, drop a day at a time: the idle window and the training days stay held
        # (halving an 8-day history left 4 days: pairs idle 4-7 days were no longer forecast)
        day = self.spec.day
        capacity = round(self.config.history_days * day)
        self.history = RateHistory(capacity, keep=capacity - day)
        self._pending: dict[PairId, list[Interval]] = {}

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq - 1

    def handle(self, msg: Message) -> list[Message]:
        """Process one decoded message; returns the messages to send to the controller."""
        if isinstance(msg, Observations):
            return self._observe(msg)
        if isinstance(msg, TopologyChange):
            self._zones = {e.ip: e.zone for e in msg.endpoints}
        elif isinstance(msg, ReservationChange):
            if msg.active:
                self.reservations[msg.reservation_id] = msg
            else:
                self.reservations.pop(msg.reservation_id, None)
        else:
            self.drops.count(UNEXPECTED)
        return []

    def seed(self, seed: SeedHistory) -> None:
        """Start from a past history (e.g. a replay's trace before its start).

        Observations that end at or before the seed's end are then dropped (counted as
        ``before_seed``), each answered with a forecast from the seeded history, so the
        controller holds forecasts for the first live step before it begins.
        """
        step = self.spec.step_seconds
        if not math.isclose(seed.step_seconds, step):
            raise ValueError(f"seed step {seed.step_seconds:.0f} s, model step {step:.0f} s")
        rows = seed.rates[-self.history.capacity :]
        first_start = seed.until - rows.shape[0] * step
        self.aggregator.reset()
        self.aggregator.phase = first_start % step
        first = round((first_start - self.aggregator.phase) / step)
        self.history.clear()
        for t, row in enumerate(rows):
            nonzero = np.flatnonzero(row > 0)
            self.history.append(first + t, {seed.pairs[k]: float(row[k]) for k in nonzero})
        self.aggregator.current = first + rows.shape[0]
        self.seeded_until = self.aggregator.step_start(self.aggregator.current)
        log.info("history seeded with %d steps until %.0f", rows.shape[0], self.seeded_until)

    def _scaled(self, obs: Observations) -> Observations:
        factor = self.config.bytes_scale
        if factor == 1.0:
            return obs
        samples = tuple(replace(s, bytes=round(s.bytes * factor)) for s in obs.samples)
        return replace(obs, samples=samples)

    def _observe(self, obs: Observations) -> list[Message]:
        if self.seeded_until is not None and obs.interval_end <= self.seeded_until:
            self.drops.count(BEFORE_SEED)
            batch = self._forecast_round() if self.history.rows else None
            return [] if batch is None else [batch]
        obs = self._scaled(obs)
        current = self.aggregator.current
        if obs.source != self._controller:
            restarted = current is not None and obs.interval_end <= self.aggregator.step_start(
                current
            )
            if restarted:
                log.info("observed timeline restarted by %s: history cleared", obs.source)
                self.aggregator.reset()
                self.history.clear()
            self._controller = obs.source
        for sample in obs.samples:
            rank = self.classifier.rank(sample)
            info = self._pairs.setdefault(sample.pair, _PairInfo(rank))
            info.rank = min(info.rank, rank)
        resets = self.aggregator.resets
        steps = self.aggregator.add(obs)
        if self.aggregator.resets != resets:
            self.history.clear()
        out: list[Message] = []
        for step in steps:
            out.extend(self._complete(step))
        if steps and self.history.rows:
            batch = self._forecast_round()
            if batch is not None:
                out.append(batch)
        return out

    def _complete(self, step: CompletedStep) -> list[Message]:
        found = []
        if not step.gap and self._pending:
            found = self.detector.check(self._pending, step.rates)
        self.history.append(step.index, None if step.gap else step.rates)
        self._since_training += 1
        self._since_calibration += 1
        end = self.aggregator.step_start(step.index + 1)
        events: list[Message] = []
        for ex in found:
            log.warning(
                "anomaly: %s at %.1f Mbit/s, %s [%.1f, %.1f] for %d steps",
                ex.pair,
                ex.observed_mbps,
                ex.direction,
                ex.interval.lower,
                ex.interval.upper,
                ex.steps,
            )
            events.append(
                Anomaly(
                    self.source,
                    self._next_seq(),
                    end,
                    ex.pair,
                    ex.observed_mbps,
                    ex.interval.lower,
                    ex.interval.upper,
                    ex.steps,
                    ex.direction,
                )
            )
        return events

    def _zone_of(self, pair: PairId) -> str:
        src, dst = self._zones.get(pair.src), self._zones.get(pair.dst)
        return src if src is not None and src == dst else "default"

    def _active_columns(self) -> np.ndarray:
        recent = self.history.array(round(self.config.idle_days * self.spec.day))
        return np.flatnonzero(recent.max(axis=0) > 0) if recent.size else np.array([], int)

    def _predict(
        self, window: np.ndarray, start: float, names: list[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(steps, pairs) central and upper forecasts for the steps after the window."""
        origin = np.array([window.shape[0] - 1])
        if self.forecaster is None:
            last = window[-1]
            peak = window[-self.spec.hour :].max(axis=0)
            steps = self.config.horizon
            return np.repeat(last[None], steps, 0), np.repeat(peak[None], steps, 0)
        horizons = [h for h in range(1, self.config.horizon + 1) if h in self.forecaster.models]
        central, upper = [], []
        for h in horizons:
            c, u = self.forecaster.predict(window, start, origin, h, names)
            central.append(c[0])
            upper.append(u[0])
        return np.array(central), np.array(upper)

    def _forecast_round(self) -> ForecastBatch | None:
        columns = self._active_columns()
        if not len(columns):
            return None
        rows = min(self.history.rows, self.spec.history_steps)
        window = self.history.array(rows)[:, columns]
        first = self.history.first_index + self.history.rows - rows
        step = self.spec.step_seconds
        pairs = [self.history.pairs[c] for c in columns]
        start = self.aggregator.step_start(first)
        central, upper = self._predict(window, start, [str(p) for p in pairs])
        valid_from = self.aggregator.step_start(first + rows)
        valid_until = valid_from + central.shape[0] * step
        forecasts = []
        self._pending = {}
        for k, pair in enumerate(pairs):
            info = self._pairs.get(pair, _PairInfo(len(self.classifier.classes)))
            cls = self.classifier.by_rank(info.rank)
            mean_k, upper_k = central[:, k].tolist(), upper[:, k].tolist()
            forecasts.append(
                PairForecast(
                    pair,
                    tuple(mean_k),
                    tuple(upper_k),
                    valid_from,
                    valid_until,
                    cls.name,
                    cls.latency_bound_ms,
                    cls.zone or self._zone_of(pair),
                )
            )
            if self.forecaster is not None:
                path = zip(mean_k, upper_k, strict=True)
                self._pending[pair] = [self._interval(m, u) for m, u in path]
        self.forecasts_sent += 1
        return ForecastBatch(
            self.source,
            self._next_seq(),
            self.model_version,
            self.config.quantile,
            valid_from,
            tuple(forecasts),
        )

    def _interval(self, mean: float, upper: float) -> Interval:
        """Anomaly interval of one step: symmetric around the mean, widened by the tolerance."""
        tolerance = self.config.anomaly_tolerance
        lower = max(0.0, 2 * mean - upper)
        return Interval(lower * (1 - tolerance), upper * (1 + tolerance))

    def status(self, now: float) -> PredictorStatus:
        """A heartbeat with the counters (``now`` is only informational)."""
        dropped = dict(self.drops.by_reason)
        if self.aggregator.late:
            dropped["late"] = self.aggregator.late
        return PredictorStatus(
            self.source,
            self._next_seq(),
            now,
            self.model_version,
            len(self.history.pairs),
            self.forecasts_sent,
            self.detector.reported,
            dropped,
        )

    def next_job(self) -> ModelUpdate | None:
        """Retraining when due (a day since the last), else recalibration (every few hours)."""
        if self._busy:
            return None
        job = self._training_job() or self._recalibration_job()
        self._busy = job is not None
        return job

    def _training_job(self) -> TrainingJob | None:
        day = self.spec.day
        due = (
            self.forecaster is None or self._since_training >= self.config.retrain_every_days * day
        )
        enough = self.history.rows >= self.config.min_train_days * day
        if not (self.config.retrain and due and enough):
            return None
        rows = min(self.history.rows, round(self.config.train_days * day))
        first = self.history.first_index + self.history.rows - rows
        config = TrainConfig(
            kind=self.config.model_kind,
            horizons=tuple(range(1, self.config.horizon + 1)),
            quantile=self.config.quantile,
            threads=self.config.threads,
        )
        self._since_training = 0
        names = [str(p) for p in self.history.pairs]
        rates = self.history.array(rows).copy()
        start, until = self.aggregator.step_start(first), self.aggregator.step_start(first + rows)
        return TrainingJob(rates, start, self.spec.step_seconds, names, config, until)

    def _recalibration_job(self) -> RecalibrationJob | None:
        due = self._since_calibration >= self.config.recalibrate_every_hours * self.spec.hour
        if self.forecaster is None or not due or self.history.rows < self.spec.day:
            return None
        origins = min(self.history.rows - 1, round(self.config.calibration_days * self.spec.day))
        rows = min(self.history.rows, origins + self.spec.history_steps)
        first = self.history.first_index + self.history.rows - rows
        self._since_calibration = 0
        names = [str(p) for p in self.history.pairs]
        return RecalibrationJob(
            self.forecaster,
            self.history.array(rows).copy(),
            self.aggregator.step_start(first),
            np.arange(rows - 1 - origins, rows - 1),
            names,
        )

    def install(self, forecaster: Forecaster | None, version: str) -> None:
        """Use a newly trained or loaded model (None: the job failed, keep the current one)."""
        self._busy = False
        if forecaster is None:
            return
        if forecaster.spec.step_seconds != self.spec.step_seconds:
            log.info("model step %.0f s differs: timeline restarted", forecaster.spec.step_seconds)
            self._start_timeline(forecaster.spec.step_seconds)
        self.forecaster, self.model_version, self._model_tag = forecaster, version, version
        self._since_calibration = self._recalibrations = 0
        log.info("now forecasting with model %s", version)

    def install_recalibration(self, forecaster: Forecaster) -> None:
        """Use the current model with a new calibration (version ``<tag>+cal<n>``)."""
        self._busy = False
        self._recalibrations += 1
        self.forecaster = forecaster
        self.model_version = f"{self._model_tag}+cal{self._recalibrations}"
