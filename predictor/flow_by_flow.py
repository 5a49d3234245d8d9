"""The backtest in the Flow-by-Flow protocol, to set our figures beside its published ones.

The protocol (Computer Communications 2022): the series split in time order into 70 % training,
10 % validation and 20 % test; a model reads a 12-step input window; each pair's MAE over the
test part is divided by that pair's maximum **in the training part**, and these normalised MAEs
are averaged over the pairs (pairs silent throughout the training part are left out). Scored
at 1 and 3 steps.

Forecasters: last value; EWMA (its alpha fitted on the training part); ``window12`` — our
models reading only the 12-step window (``FeatureSpec(window=12)``; the calendar of the
target step is still known); ``full`` — our models with all their features (lags up to two
days: more history than the protocol's window). For both, the kind and hyper-parameters are
chosen on the validation part (:mod:`predictor.selection`) and the model is fitted on the
training part only.

The published Abilene figures (LSTM 1.40e-2 at 1 step, CRNN 1.54e-2 at 3 steps) take each
pair's maximum over the whole series and come from another segment of the Abilene data, so
they are not the same measurement: they are reported beside ours, not compared as equals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypedDict

import numpy as np

from predictor import baselines
from predictor.features import FeatureSpec
from predictor.models import Forecaster, Progress, TrainConfig
from predictor.selection import Candidate, candidates, fit_chosen, validate
from predictor.trace import Trace

SPLIT = (0.7, 0.1, 0.2)
WINDOW = 12
HORIZONS = (1, 3)
PUBLISHED = {"lstm (published, Abilene)": {1: 1.40e-2}, "crnn (published, Abilene)": {3: 1.54e-2}}
NOTE = (
    "published figures: max over the whole series, another segment of the Abilene data; "
    "ours: max over the training part of this trace"
)


class FlowByFlowReport(TypedDict):
    """The JSON report (``flow_by_flow.json``)."""

    split_steps: dict[str, int]  # train, validation, test
    window: int
    horizons: list[int]
    normalised_mae: dict[str, list[float | None]]  # forecaster -> per horizon
    mae_mbps: dict[str, list[float]]
    chosen: dict[str, str]  # window12 / full -> the candidate validation chose
    note: str


def normalised_mae(prediction: np.ndarray, actual: np.ndarray, train_max: np.ndarray) -> float:
    """Mean over pairs of (the pair's MAE / its training maximum); silent pairs left out."""
    live = train_max > 0
    error = np.nanmean(np.abs(prediction - actual), axis=0)
    return float(np.mean(error[live] / train_max[live]))


def _split(steps: int) -> tuple[int, int]:
    train = round(SPLIT[0] * steps)
    return train, train + round(SPLIT[1] * steps)


def _model(
    trace: Trace,
    rates: np.ndarray,
    spec: FeatureSpec,
    pool: Sequence[Candidate],
    bounds: tuple[int, int],
    say: Progress,
) -> tuple[str, Forecaster | None]:
    """The candidate chosen on the validation part, fitted on the training part."""
    train, validation_end = bounds
    names = trace.pair_names()
    config = TrainConfig(horizons=HORIZONS, upper_horizons=())
    selection = validate(
        rates[:validation_end],
        trace.start,
        spec,
        names,
        pool,
        HORIZONS,
        validation_end - train,
        say,
    )
    return selection.chosen, fit_chosen(selection, rates[:train], trace.start, spec, names, config)


def run_flow_by_flow(
    trace: Trace,
    threads: int = 1,
    progress: Progress | None = None,
    pool: Sequence[Candidate] | None = None,
) -> FlowByFlowReport:
    """Score last value, EWMA and our models in the protocol (see the module docstring)."""
    say = progress or (lambda _msg: None)
    rates, names = trace.series(), trace.pair_names()
    train, validation_end = _split(rates.shape[0])
    if train < 3 * max(HORIZONS) or rates.shape[0] - validation_end <= max(HORIZONS):
        raise ValueError("the trace is too short for a 70/10/20 split")
    say(
        f"split: train {train}, validation {validation_end - train}, "
        f"test {rates.shape[0] - validation_end} steps"
    )
    pool = candidates(TrainConfig(threads=threads)) if pool is None else pool
    alpha = baselines.fit_ewma_alpha(rates[:train])
    smooth = baselines.ewma_series(rates, alpha)
    predictors: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
        "last_value": lambda o, h: rates[o],
        "ewma": lambda o, h: smooth[o],
    }
    chosen: dict[str, str] = {}
    for label, window in ((f"window{WINDOW}", WINDOW), ("full", None)):
        spec = FeatureSpec(trace.step_seconds, window=window)
        chosen[label], model = _model(trace, rates, spec, pool, (train, validation_end), say)
        say(f"{label}: validation chose {chosen[label]}")
        predictors[label] = _predictor(model, rates, trace.start, names)
    train_max = np.nanmax(rates[:train], axis=0)
    scores: dict[str, list[float | None]] = {}
    mae: dict[str, list[float]] = {}
    for name, predict in predictors.items():
        scores[name], mae[name] = [], []
        for h in HORIZONS:
            origins = np.arange(validation_end - h, rates.shape[0] - h)
            forecast, actual = predict(origins, h), rates[origins + h]
            scores[name].append(normalised_mae(forecast, actual, train_max))
            mae[name].append(float(np.nanmean(np.abs(forecast - actual))))
    for name, figures in PUBLISHED.items():
        scores[name] = [figures.get(h) for h in HORIZONS]
    return FlowByFlowReport(
        split_steps={
            "train": train,
            "validation": validation_end - train,
            "test": rates.shape[0] - validation_end,
        },
        window=WINDOW,
        horizons=list(HORIZONS),
        normalised_mae=scores,
        mae_mbps=mae,
        chosen=chosen,
        note=NOTE,
    )


def _predictor(
    model: Forecaster | None, rates: np.ndarray, start: float, names: list[str]
) -> Callable[[np.ndarray, int], np.ndarray]:
    if model is None:
        return lambda o, h: rates[o]
    return lambda o, h: model.predict(rates, start, o, h, names)[0]


def summary(report: FlowByFlowReport) -> str:
    """The table of normalised MAEs (and Mbit/s MAEs where ours)."""
    horizons = report["horizons"]
    lines = [
        f"Flow-by-Flow protocol: split {report['split_steps']}, {report['window']}-step window; "
        f"chosen {report['chosen']}",
        f"{'forecaster':<28}"
        + "".join(f"{f'{h} step nMAE':>14}" for h in horizons)
        + "".join(f"{f'{h} step Mbit/s':>15}" for h in horizons),
    ]
    for name, values in report["normalised_mae"].items():
        shown = "".join(f"{v:>14.3e}" if v is not None else f"{'-':>14}" for v in values)
        mbps = report["mae_mbps"].get(name)
        shown += "".join(f"{v:>15.3f}" for v in mbps) if mbps else ""
        lines.append(f"{name:<28}{shown}")
    lines.append(f"note: {report['note']}")
    return "\n".join(lines)
