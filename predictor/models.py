"""Learned forecasters: one model per horizon on scaled features, plus calibrated upper bounds.

The central model predicts the scaled change, weighted by each pair's scale (with the trees'
absolute-error loss that is exactly the MAE in Mbit/s). A kind may also fit an upper-quantile
model; its output (or the central forecast, for kinds without one) is then calibrated per pair.
Which estimators a kind uses is registered in :mod:`predictor.model_kinds`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from threadpoolctl import threadpool_limits

from predictor.calibration import Calibration, calibrate
from predictor.features import FeatureSpec, build_features, rates_from_change, scaled_change
from predictor.model_kinds import DEFAULT_MODEL_KIND, Estimator, ModelKind, model_kind

Progress = Callable[[str], None]
WEEK_DAYS = 7
WEEKLY_FEATURES = ("dow_sin", "dow_cos")


@dataclass(frozen=True)
class TrainConfig:
    """What to fit and how."""

    kind: str = DEFAULT_MODEL_KIND  # a name in predictor.model_kinds.MODEL_KINDS
    horizons: tuple[int, ...] = (1, 2, 3)
    upper_horizons: tuple[int, ...] | None = None  # None: every horizon
    quantile: float = 0.95  # network-wide coverage level of the calibrated upper forecast
    calibration_margin: float = 0.9  # calibrate to a miss rate of (1 - quantile) * margin
    min_pair_level: float = 0.8  # every pair's upper covers at least this share of its steps
    calibration_fraction: float = 0.2  # latest share of the training window kept for it
    max_calibration_days: float = 2.0
    upper_model_quantile: float = 0.9
    max_iter: int = 50
    learning_rate: float = 0.2
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 50
    ridge_alpha: float = 10.0
    clip_quantile: float = 0.01  # clipped kinds: inputs and targets kept within these quantiles
    threads: int = 1
    seed: int = 0


@dataclass(frozen=True)
class Bounds:
    """Training range of each feature column and of the target (clipped kinds only)."""

    low: np.ndarray
    high: np.ndarray
    target_low: float
    target_high: float

    @classmethod
    def of(cls, x: np.ndarray, target: np.ndarray, quantile: float) -> Bounds:
        """The ``quantile`` .. ``1 - quantile`` range of every column and of the target."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: unbounded
            low, high = np.nanquantile(x, [quantile, 1.0 - quantile], axis=0)
        low = np.where(np.isfinite(low), low, -np.inf)
        high = np.where(np.isfinite(high), high, np.inf)
        t_low, t_high = np.quantile(target, [quantile, 1.0 - quantile])
        return cls(low, high, float(t_low), float(t_high))

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """Features clipped to the training range (NaN stays NaN)."""
        return np.asarray(np.clip(x, self.low, self.high))

    def outputs(self, y: np.ndarray) -> np.ndarray:
        """Predicted changes clipped to the training targets' range."""
        return np.asarray(np.clip(y, self.target_low, self.target_high))


@dataclass
class HorizonModel:
    """The fitted estimators of one horizon."""

    horizon: int
    central: Estimator
    upper: Estimator | None = None
    calibration: Calibration = field(default_factory=lambda: Calibration(0.0))
    bounds: Bounds | None = None  # a plain default: models pickled before it load as None
    dropped: tuple[int, ...] = ()  # feature columns held at 0 (see :func:`unseen_columns`)


@dataclass(frozen=True)
class RawForecast:
    """Uncalibrated forecasts of many origins (origins, pairs), with the pairs' scales."""

    central: np.ndarray
    upper: np.ndarray
    scale: np.ndarray


@dataclass
class Forecaster:
    """A fitted forecaster: per-horizon models on a feature spec, and its calibration."""

    kind: str  # the name of its ModelKind (names keep saved models loadable)
    spec: FeatureSpec
    quantile: float
    models: dict[int, HorizonModel]
    target_miss: float = 0.045  # calibration target for the share of under-forecast cells
    min_pair_level: float = 0.8

    @property
    def horizons(self) -> list[int]:
        """Horizons (in steps) this forecaster can predict."""
        return sorted(self.models)

    def predict_raw(
        self, rates: np.ndarray, start: float, origins: np.ndarray, horizon: int
    ) -> RawForecast:
        """Central and uncalibrated upper forecasts in Mbit/s."""
        kind = model_kind(self.kind)
        model = self.models[horizon]
        block = build_features(rates, start, self.spec, origins, horizon)
        flat = block.x.reshape(-1, block.x.shape[-1])
        shape = block.level.shape
        bounds = model.bounds
        if model.dropped:
            flat = flat.copy()
            flat[:, list(model.dropped)] = 0.0
        if bounds is not None:
            flat = bounds.inputs(flat)
        with threadpool_limits(1):  # OpenMP start-up costs more than small predictions
            central = _predict(kind, model.central, flat).reshape(shape)
            raw = None if model.upper is None else _predict(kind, model.upper, flat)
        if bounds is not None:
            central = bounds.outputs(central)
            raw = None if raw is None else bounds.outputs(raw)
        central = np.maximum(rates_from_change(central, block), 0.0)
        upper = central if raw is None else rates_from_change(raw.reshape(shape), block)
        return RawForecast(central, np.maximum(upper, central), block.scale)

    def predict(
        self,
        rates: np.ndarray,
        start: float,
        origins: np.ndarray,
        horizon: int,
        pair_names: list[str],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Central and calibrated upper forecasts (origins, pairs) in Mbit/s, never negative."""
        raw = self.predict_raw(rates, start, origins, horizon)
        offsets = self.models[horizon].calibration.offsets_for(pair_names)
        return raw.central, np.maximum(raw.upper + offsets[None, :] * raw.scale, raw.central)

    def recalibrated(
        self, rates: np.ndarray, start: float, origins: np.ndarray, pair_names: list[str]
    ) -> Forecaster:
        """A copy calibrated on the given origins (their targets must be inside ``rates``)."""
        models = {}
        for h, model in self.models.items():
            usable = origins[origins + h < rates.shape[0]]
            raw = self.predict_raw(rates, start, usable, h)
            calibration = calibrate(
                rates[usable + h],
                raw.upper,
                raw.scale,
                pair_names,
                self.target_miss,
                self.min_pair_level,
            )
            models[h] = replace(model, calibration=calibration)
        return replace(self, models=models)


def _inputs(kind: ModelKind, x: np.ndarray) -> np.ndarray:
    return np.nan_to_num(x) if kind.finite_inputs else x


def _predict(kind: ModelKind, estimator: Estimator, x: np.ndarray) -> np.ndarray:
    return np.asarray(estimator.predict(_inputs(kind, x)))


def _rows(
    rates: np.ndarray, start: float, spec: FeatureSpec, origins: np.ndarray, h: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training rows (features, target, weight) for cells with a known level and target."""
    block = build_features(rates, start, spec, origins, h)
    target = scaled_change(rates, block, origins + h)
    keep = np.isfinite(block.level) & np.isfinite(target)
    x = block.x[keep]
    empty = np.isnan(x).all(axis=0)  # e.g. two-day lags on a short history
    x[:, empty] = 0.0  # a constant column the trees ignore (all-NaN columns break binning)
    return x, target[keep], block.scale[keep]


def _fit(
    kind: ModelKind, estimator: Estimator, x: np.ndarray, target: np.ndarray, weight: np.ndarray
) -> Estimator:
    return estimator.fit(_inputs(kind, x), target, **{kind.weight_keyword: weight})


def unseen_columns(spec: FeatureSpec, steps: int) -> tuple[int, ...]:
    """Feature columns a training window of ``steps`` cannot teach: held at 0 in the model.

    The day-of-week columns need every weekday in the window; on a shorter one they only tell
    the fitted days apart, and a linear model extrapolates them into a constant offset for
    every pair on the days it never saw (ridge on 2 days: MAE several times last value's).
    """
    if steps >= WEEK_DAYS * spec.day:
        return ()
    names = spec.names()
    return tuple(names.index(name) for name in WEEKLY_FEATURES)


def calibration_steps(steps: int, spec: FeatureSpec, config: TrainConfig) -> int:
    """How many of the latest steps of a training window calibrate the upper forecast."""
    share = int(steps * config.calibration_fraction)
    return max(min(share, round(config.max_calibration_days * spec.day)), 1)


def fit_forecaster(
    rates: np.ndarray,
    start: float,
    spec: FeatureSpec,
    pair_names: list[str],
    config: TrainConfig,
    progress: Progress | None = None,
) -> Forecaster:
    """Fit one model per horizon on ``rates`` (T, P); the latest part calibrates the upper."""
    kind = model_kind(config.kind)
    steps = rates.shape[0]
    warmup = min(spec.day, steps // 4)
    calibration_start = steps - calibration_steps(steps, spec, config)
    upper_horizons = config.horizons if config.upper_horizons is None else config.upper_horizons
    dropped = unseen_columns(spec, calibration_start)
    models: dict[int, HorizonModel] = {}
    with threadpool_limits(config.threads):
        for h in config.horizons:
            fit_origins = np.arange(warmup, calibration_start - h)
            if len(fit_origins) < 2:
                raise ValueError(f"not enough history to train horizon {h}")
            x, target, weight = _rows(rates, start, spec, fit_origins, h)
            x[:, list(dropped)] = 0.0
            bounds = Bounds.of(x, target, config.clip_quantile) if kind.clipped else None
            if bounds is not None:
                x, target = bounds.inputs(x), bounds.outputs(target)
            central = _fit(kind, kind.central(config), x, target, weight)
            models[h] = HorizonModel(h, central, bounds=bounds, dropped=dropped)
            if kind.upper is not None and h in upper_horizons:
                models[h].upper = _fit(kind, kind.upper(config), x, target, weight)
            if progress is not None:
                progress(f"{kind.name}: horizon {h} fitted on {len(target)} rows")
    target_miss = (1.0 - config.quantile) * config.calibration_margin
    forecaster = Forecaster(
        kind.name, spec, config.quantile, models, target_miss, config.min_pair_level
    )
    # calibrate on origins whose targets the models never saw
    cal_origins = np.arange(calibration_start - min(config.horizons), steps)
    return forecaster.recalibrated(rates, start, cal_origins, pair_names)
