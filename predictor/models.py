"""Learned forecasters: one model per horizon on scaled features, plus calibrated upper bounds.

The central model predicts the scaled change with absolute-error loss, weighted by each pair's
scale, which is exactly the MAE in Mbit/s. The tree model also fits an upper-quantile model;
its output (or the central forecast, for the linear model) is then calibrated per pair.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor  # type: ignore[import-untyped]
from sklearn.linear_model import Ridge  # type: ignore[import-untyped]
from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from predictor.calibration import Calibration, calibrate
from predictor.features import FeatureSpec, build_features, rates_from_change, scaled_change

log = logging.getLogger(__name__)

MODEL_KINDS = ("hgb", "ridge")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainConfig:
    """What to fit and how."""

    kind: str = "hgb"
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
    threads: int = 1
    seed: int = 0


@dataclass
class HorizonModel:
    """The fitted estimators of one horizon."""

    horizon: int
    central: Any
    upper: Any | None = None
    calibration: Calibration = field(default_factory=lambda: Calibration(0.0))


@dataclass(frozen=True)
class RawForecast:
    """Uncalibrated forecasts of many origins (origins, pairs), with the pairs' scales."""

    central: np.ndarray
    upper: np.ndarray
    scale: np.ndarray


@dataclass
class Forecaster:
    """A fitted forecaster: per-horizon models on a feature spec, and its calibration."""

    kind: str
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
        self, rates: np.ndarray, start: float, origins: np.ndarray, horizon: int, threads: int = 1
    ) -> RawForecast:
        """Central and uncalibrated upper forecasts in Mbit/s."""
        model = self.models[horizon]
        block = build_features(rates, start, self.spec, origins, horizon)
        flat = block.x.reshape(-1, block.x.shape[-1])
        shape = block.level.shape
        with threadpool_limits(threads):  # OpenMP start-up costs more than small predictions
            central = _predict(self.kind, model.central, flat).reshape(shape)
            raw = None if model.upper is None else _predict(self.kind, model.upper, flat)
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
        threads: int = 1,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Central and calibrated upper forecasts (origins, pairs) in Mbit/s, never negative."""
        raw = self.predict_raw(rates, start, origins, horizon, threads)
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


def _predict(kind: str, estimator: Any, x: np.ndarray) -> np.ndarray:
    if kind == "ridge":
        x = np.nan_to_num(x)
    return np.asarray(estimator.predict(x))


def _estimator(kind: str, config: TrainConfig, quantile: float | None) -> Any:
    if kind == "ridge":
        return make_pipeline(StandardScaler(), Ridge(alpha=10.0))
    return HistGradientBoostingRegressor(
        loss="absolute_error" if quantile is None else "quantile",
        quantile=quantile,
        max_iter=config.max_iter,
        learning_rate=config.learning_rate,
        max_leaf_nodes=31,
        min_samples_leaf=50,
        early_stopping=False,
        random_state=config.seed,
    )


def _rows(rates: np.ndarray, start: float, spec: FeatureSpec, origins: np.ndarray, h: int) -> Any:
    """Training rows (features, target, weight) for cells with a known level and target."""
    block = build_features(rates, start, spec, origins, h)
    target = scaled_change(rates, block, origins + h)
    keep = np.isfinite(block.level) & np.isfinite(target)
    x = block.x[keep]
    empty = np.isnan(x).all(axis=0)  # e.g. two-day lags on a short history
    x[:, empty] = 0.0  # a constant column the trees ignore (all-NaN columns break binning)
    return x, target[keep], block.scale[keep]


def _fit(estimator: Any, kind: str, x: np.ndarray, target: np.ndarray, weight: np.ndarray) -> Any:
    if kind == "ridge":
        return estimator.fit(np.nan_to_num(x), target, ridge__sample_weight=weight)
    return estimator.fit(x, target, sample_weight=weight)


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
    if config.kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {config.kind!r}; choose from {MODEL_KINDS}")
    steps = rates.shape[0]
    warmup = min(spec.day, steps // 4)
    calibration_start = steps - calibration_steps(steps, spec, config)
    upper_horizons = config.horizons if config.upper_horizons is None else config.upper_horizons
    models: dict[int, HorizonModel] = {}
    with threadpool_limits(config.threads):
        for h in config.horizons:
            fit_origins = np.arange(warmup, calibration_start - h)
            if len(fit_origins) < 2:
                raise ValueError(f"not enough history to train horizon {h}")
            x, target, weight = _rows(rates, start, spec, fit_origins, h)
            models[h] = HorizonModel(
                h, _fit(_estimator(config.kind, config, None), config.kind, x, target, weight)
            )
            if config.kind == "hgb" and h in upper_horizons:
                upper = _estimator(config.kind, config, config.upper_model_quantile)
                models[h].upper = _fit(upper, config.kind, x, target, weight)
            if progress is not None:
                progress(f"{config.kind}: horizon {h} fitted on {len(target)} rows")
    target_miss = (1.0 - config.quantile) * config.calibration_margin
    forecaster = Forecaster(
        config.kind, spec, config.quantile, models, target_miss, config.min_pair_level
    )
    # calibrate on origins whose targets the models never saw
    cal_origins = np.arange(calibration_start - min(config.horizons), steps)
    return forecaster.recalibrated(rates, start, cal_origins, pair_names)
