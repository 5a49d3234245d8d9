"""Training a forecaster on a history of rates and saving it under a version tag."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from predictor.features import FeatureSpec
from predictor.models import Forecaster, Progress, TrainConfig, fit_forecaster
from predictor.store import ModelInfo, save_model
from predictor.trace import Trace

log = logging.getLogger(__name__)


def train(
    rates: np.ndarray,
    start: float,
    step_seconds: float,
    pair_names: list[str],
    config: TrainConfig,
    progress: Progress | None = None,
) -> Forecaster:
    """Fit a forecaster on (T, P) rates whose row 0 starts at ``start``."""
    spec = FeatureSpec(step_seconds)
    began = time.perf_counter()
    forecaster = fit_forecaster(rates, start, spec, pair_names, config, progress)
    log.info("trained %s on %d steps x %d pairs", config.kind, rates.shape[0], rates.shape[1])
    if progress is not None:
        progress(f"training took {time.perf_counter() - began:.1f} s")
    return forecaster


def train_on_trace(
    trace: Trace,
    config: TrainConfig,
    model_dir: Path,
    last_days: float | None = None,
    progress: Progress | None = None,
) -> ModelInfo:
    """Train on a trace (its last ``last_days`` if given) and save the model as the latest."""
    if last_days is not None:
        steps = min(trace.steps, round(last_days * trace.steps_per_day))
        trace = trace.slice(trace.steps - steps, trace.steps)
    names = trace.pair_names()
    forecaster = train(trace.series(), trace.start, trace.step_seconds, names, config, progress)
    trained_until = trace.start + trace.steps * trace.step_seconds
    return save_model(forecaster, model_dir, trained_until, trace.steps, len(names))
