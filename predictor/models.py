"""Learned forecasters: one model per horizon on scaled features, plus calibrated upper bounds.

The central model predicts the scaled change with absolute-error loss, weighted by each pair's
scale, which is exactly the MAE in Mbit/s. The tree model also fits an upper-quantile model;
its output (or the central forecast, for the linear model) is then calibrated per pair.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor  # type: ignore[import-untyped]
from sklearn.linear_model import Ridge  # type: ignore[import-untyped]
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
    calibration_margin: float = 0.8  # calibrate to a miss rate of (1 - quantile) * margin
    calibration_fraction: float = 0.2  # latest share of the training window kept for it
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


@dataclass
class Forecaster:
    """A fitted forecaster: per-horizon models on a feature spec, and its calibration."""

    kind: str
    spec: FeatureSpec
    quantile: float
    models: dict[int, HorizonModel]

    @property
    def horizons(self) -> list[int]:
        """Horizons (in steps) this forecaster can predict."""
        return sorted(self.models)

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
        model = self.models[horizon]
        block = build_features(rates, start, self.spec, origins, horizon)
        flat = block.x.reshape(-1, block.x.shape[-1])
        shape = block.level.shape
        with threadpool_limits(threads):  # OpenMP start-up costs more than small predictions
            central = _predict(self.kind, model.central, flat).reshape(shape)
            raw = None if model.upper is None else _predict(self.kind, model.upper, flat)
        central = rates_from_change(central, block)
        if raw is None:
            raw = central
        else:
            raw = np.maximum(rates_from_change(raw.reshape(shape), block), central)
        offsets = model.calibration.offsets_for(pair_names)
        upper = raw + offsets[None, :] * block.scale
        return np.maximum(central, 0.0), np.maximum(upper, 0.0)


def _predict(kind: str, estimator: Any, x: np.ndarray) -> np.ndarray:
    if kind == "ridge":
        x = np.nan_to_num(x)
    return np.asarray(estimator.predict(x))


def _estimator(kind: str, config: TrainConfig, quantile: float | None) -> Any:
    if kind == "ridge":
        return Ridge(alpha=1.0)
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
    calibration_start = steps - max(int(steps * config.calibration_fraction), 1)
    target_miss = (1.0 - config.quantile) * config.calibration_margin
    upper_horizons = config.horizons if config.upper_horizons is None else config.upper_horizons
    models: dict[int, HorizonModel] = {}
    with threadpool_limits(config.threads):
        for h in config.horizons:
            fit_origins = np.arange(warmup, calibration_start - h)
            if len(fit_origins) < 2:
                raise ValueError(f"not enough history to train horizon {h}")
            x, target, weight = _rows(rates, start, spec, fit_origins, h)
            if config.kind == "ridge":
                x = np.nan_to_num(x)
            model = HorizonModel(h, _estimator(config.kind, config, None).fit(x, target, weight))
            if config.kind == "hgb" and h in upper_horizons:
                upper = _estimator(config.kind, config, config.upper_model_quantile)
                model.upper = upper.fit(x, target, weight)
            models[h] = model
            forecaster = Forecaster(config.kind, spec, config.quantile, {h: model})
            cal_origins = np.arange(calibration_start - h, steps - h)
            _, raw_upper = forecaster.predict(
                rates, start, cal_origins, h, pair_names, config.threads
            )
            block = build_features(rates, start, spec, cal_origins, h)
            model.calibration = calibrate(
                rates[cal_origins + h], raw_upper, block.scale, pair_names, target_miss
            )
            if progress is not None:
                progress(f"{config.kind}: horizon {h} fitted on {len(target)} rows")
    return Forecaster(config.kind, spec, config.quantile, models)
