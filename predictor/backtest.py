"""Backtest: train on the first days of a trace, forecast the rest in strict time order.

Report layout (stable; keys are only ever added)::

    {"chosen_model": NAME, "horizons": [1, 3, 6, 12],
     "forecasters": {NAME: {"mae": [...], "rmse": [...], "nmae": [...]}, ...},
     "provisioning": {POLICY: {"reserved_over_actual": x, "under_provisioned_share": y}, ...},
     "validation": {"chosen": CANDIDATE, "mae": {CANDIDATE: [...]}, "dropped": [...], ...}}

Learned models see only the training window; at test time every forecaster reads the rates up
to its origin. The model and its hyper-parameters are chosen on the training window alone
(:mod:`predictor.selection`: its last days are the validation split), never on the test steps;
each kind is reported with its best hyper-parameters on validation, fitted again on the whole
training window. ``chosen_model`` is ``last_value`` when no candidate beat last value on
validation. Provisioning is evaluated for reservations made one step ahead; upper forecasts
are recalibrated every 6 hours on the 2 days before, as the live predictor does (only targets
already observed at the time are used).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np

from predictor import baselines
from predictor.calibration import rolling_upper
from predictor.features import FeatureSpec, build_features
from predictor.models import Forecaster, Progress, TrainConfig
from predictor.selection import (
    LAST_VALUE,
    Candidate,
    candidates,
    fit_chosen,
    validate,
    validation_steps,
)
from predictor.trace import Trace

HORIZONS = (1, 3, 6, 12)


class BacktestReport(TypedDict):
    """The JSON report (layout in the module docstring)."""

    chosen_model: str
    horizons: list[int]
    forecasters: dict[str, dict[str, list[float]]]  # name -> metric -> one value per horizon
    provisioning: dict[str, dict[str, float]]  # policy -> figure -> value
    validation: dict[str, object]  # predictor.selection.Selection.to_dict()


@dataclass
class BacktestResult:
    """The JSON report plus the arrays the plots need."""

    report: BacktestReport
    test_start: int
    actual: np.ndarray  # (T, P) rates
    one_step: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (test steps, P)
    reservations: dict[str, np.ndarray] = field(default_factory=dict)  # policy -> (test, P)
    pair_names: list[str] = field(default_factory=list)


def _metrics(prediction: np.ndarray, actual: np.ndarray) -> tuple[float, float, float]:
    """MAE, RMSE and NMAE over the cells where both are known."""
    known = np.isfinite(prediction) & np.isfinite(actual)
    error = prediction[known] - actual[known]
    mae = float(np.abs(error).mean())
    rmse = float(np.sqrt((error**2).mean()))
    return mae, rmse, float(np.abs(error).sum() / max(actual[known].sum(), 1e-12))


def _provisioning(reserved: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    active = np.nansum(actual, axis=0) > 0
    reserved, actual = reserved[:, active], actual[:, active]
    return {
        "reserved_over_actual": float(reserved.sum() / actual.sum()),
        "under_provisioned_share": float((actual > reserved).mean()),
    }


def _baseline_forecasts(
    rates: np.ndarray, train_steps: int, day: int
) -> dict[str, Callable[[np.ndarray, int], np.ndarray]]:
    alpha = baselines.fit_ewma_alpha(rates[:train_steps])
    smooth = baselines.ewma_series(rates, alpha)
    return {
        "last_value": lambda o, h: baselines.last_value(rates, o),
        "seasonal_naive": lambda o, h: baselines.seasonal_naive(rates, o, h, day),
        "ewma": lambda o, h: smooth[o],
    }


def one_step_forecasts(
    trace: Trace,
    rates: np.ndarray,
    first_target: int,
    model: Forecaster | None,
    quantile: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Central and calibrated upper forecasts of rows ``first_target:``, each one step ahead.

    ``model`` None forecasts last value. The upper is recalibrated every 6 hours on the 2 days
    of forecasts before (so ``first_target`` must be more than 2 days in).
    """
    spec = FeatureSpec(trace.step_seconds)
    window, every = 2 * spec.day, 6 * spec.hour
    origins = np.arange(first_target - 1 - window, rates.shape[0] - 1)
    if origins[0] < 0:
        raise ValueError("calibration needs two days of history before the first target")
    scale = build_features(rates, trace.start, spec, origins, 1).scale
    target = (1 - quantile) * TrainConfig().calibration_margin
    if model is None:
        upper = central = rates[origins]
    else:
        raw = model.predict_raw(rates, trace.start, origins, 1)
        upper, central = raw.upper, raw.central
    calibrated = rolling_upper(
        rates[origins + 1], upper, scale, central, trace.pair_names(), window, window, every, target
    )
    return central[window:], calibrated


def _provisioning_uppers(
    trace: Trace, rates: np.ndarray, train_steps: int, learned: dict[str, Forecaster], q: float
) -> dict[str, np.ndarray]:
    """One-step-ahead reservations (test steps, pairs) of every forecast-driven policy."""
    models: dict[str, Forecaster | None] = {"last_value": None, **learned}
    suffix = f"_p{round(q * 100)}"
    return {
        name + suffix: one_step_forecasts(trace, rates, train_steps, model, q)[1]
        for name, model in models.items()
    }


def _score(
    predict: Callable[[np.ndarray, int], np.ndarray],
    rates: np.ndarray,
    train_steps: int,
    horizons: tuple[int, ...],
) -> tuple[dict[str, list[float]], np.ndarray]:
    """MAE, RMSE and NMAE per horizon over the test steps, and the one-step forecasts."""
    scores: dict[str, list[float]] = {"mae": [], "rmse": [], "nmae": []}
    one_step = np.empty(0)
    for h in horizons:
        origins = np.arange(train_steps - h, rates.shape[0] - h)
        forecast = predict(origins, h)
        if h == 1:
            one_step = forecast
        for key, value in zip(scores, _metrics(forecast, rates[origins + h]), strict=True):
            scores[key].append(value)
    return scores, one_step


def run_backtest(
    trace: Trace,
    train_days: float = 10.0,
    horizons: tuple[int, ...] = HORIZONS,
    quantile: float = 0.95,
    threads: int = 1,
    progress: Progress | None = None,
    pool: Sequence[Candidate] | None = None,
) -> BacktestResult:
    """Choose and fit forecasters on the training days and score them on the remaining steps.

    ``pool`` is the candidates validation chooses from (default: the grid of every kind).
    """
    say = progress or (lambda _msg: None)
    rates, spec, names = trace.series(), FeatureSpec(trace.step_seconds), trace.pair_names()
    train_steps = round(train_days * spec.day)
    if not spec.day < train_steps < rates.shape[0] - max(horizons):
        raise ValueError("training must leave a day before it and test steps after it")
    base = TrainConfig(horizons=horizons, upper_horizons=(1,), quantile=quantile, threads=threads)
    pool = candidates(base) if pool is None else pool
    held_out = validation_steps(train_steps, spec)
    say(f"validation: fit on {train_steps - held_out} steps, validate on the last {held_out}")
    selection = validate(
        rates[:train_steps], trace.start, spec, names, pool, horizons, held_out, say
    )
    predictors = _baseline_forecasts(rates, train_steps, spec.day)
    learned: dict[str, Forecaster] = {}
    for kind in dict.fromkeys(c.config.kind for c in pool):
        best = selection.best_of_kind(kind)
        say(f"training {best} on {train_steps} steps x {len(names)} pairs")
        model = fit_chosen(selection, rates[:train_steps], trace.start, spec, names, base, best)
        assert model is not None
        learned[kind] = model
        predictors[kind] = _learned(model, rates, trace.start, names)

    forecasters: dict[str, dict[str, list[float]]] = {}
    one_step: dict[str, np.ndarray] = {}
    for name, predict in predictors.items():
        forecasters[name], one_step[name] = _score(predict, rates, train_steps, horizons)
        say(f"{name}: MAE by horizon {np.round(forecasters[name]['mae'], 3).tolist()}")

    chosen = selection.chosen
    chosen = chosen if chosen == LAST_VALUE else selection.configs[chosen].kind
    actual = rates[train_steps:]
    peak = np.nanmax(rates[:train_steps], axis=0)
    reservations = {"static_peak": np.repeat(peak[None], len(actual), axis=0)}
    reservations.update(_provisioning_uppers(trace, rates, train_steps, learned, quantile))
    report = BacktestReport(
        chosen_model=chosen,
        horizons=list(horizons),
        forecasters=forecasters,
        provisioning={k: _provisioning(v, actual) for k, v in reservations.items()},
        validation=selection.to_dict(),
    )
    return BacktestResult(report, train_steps, rates, one_step, reservations, names)


def _learned(
    model: Forecaster, rates: np.ndarray, start: float, names: list[str]
) -> Callable[[np.ndarray, int], np.ndarray]:
    return lambda origins, h: model.predict(rates, start, origins, h, names)[0]
