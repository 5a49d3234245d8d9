"""Choosing the forecaster on the training days alone: a time-ordered train/validation split.

The last steps of the training window are held out as validation. Every candidate — a model
kind with hyper-parameters — is fitted on the steps before them and scored there against last
value at the horizons that matter. A candidate that is not below last value at every one of
those horizons is dropped: a model that does not beat the naive forecast on days it never saw
is not trusted on later ones (ridge fitted on two days once had 8x last value's error). Of the
rest, the lowest mean error relative to last value wins; with none left, the forecast is last
value. The caller then fits the winner again on the whole training window.

Nothing after the training window is read, so the days a backtest reports on are never used
to pick a model or its hyper-parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from predictor.features import FeatureSpec
from predictor.model_kinds import MODEL_KINDS
from predictor.models import Forecaster, Progress, TrainConfig, fit_forecaster

LAST_VALUE = "last_value"

# Hyper-parameters tried per kind (the first of each is the kind's default configuration).
GRID: dict[str, tuple[Mapping[str, Any], ...]] = {
    "hgb": (
        {},
        {"max_iter": 100, "learning_rate": 0.1, "min_samples_leaf": 200},
        {"max_iter": 150, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 400},
    ),
    "ridge": ({}, {"ridge_alpha": 300.0, "clip_quantile": 0.05}),
}


@dataclass(frozen=True)
class Candidate:
    """One model kind with its hyper-parameters."""

    name: str
    config: TrainConfig


def candidates(
    base: TrainConfig, kinds: Sequence[str] | None = None, quick: bool = False
) -> list[Candidate]:
    """The grid's candidates of ``kinds`` (all registered kinds by default) on ``base``.

    ``quick``: only the first of each kind (its default hyper-parameters).
    """
    out = []
    for kind in kinds or list(MODEL_KINDS):
        grid = GRID.get(kind, ({},))
        for overrides in grid[:1] if quick else grid:
            settings = ",".join(f"{k}={v:g}" for k, v in overrides.items())
            name = f"{kind}[{settings}]" if settings else kind
            out.append(Candidate(name, replace(base, kind=kind, **overrides)))
    return out


@dataclass
class Selection:
    """Validation errors of every candidate and of last value, and the choice made."""

    chosen: str  # a candidate's name, or LAST_VALUE
    horizons: tuple[int, ...]
    fit_steps: int
    validation_steps: int
    mae: dict[str, list[float]] = field(default_factory=dict)  # name -> MAE per horizon
    dropped: list[str] = field(default_factory=list)  # not below last value at every horizon
    configs: dict[str, TrainConfig] = field(default_factory=dict)

    def relative(self, name: str) -> float:
        """Mean over the horizons of the candidate's MAE divided by last value's."""
        return float(np.mean(np.divide(self.mae[name], self.mae[LAST_VALUE])))

    def best_of_kind(self, kind: str) -> str:
        """The candidate of ``kind`` with the lowest relative error (dropped or not)."""
        names = [n for n, c in self.configs.items() if c.kind == kind]
        return min(names, key=self.relative)

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "chosen": self.chosen,
            "horizons": list(self.horizons),
            "fit_steps": self.fit_steps,
            "validation_steps": self.validation_steps,
            "mae": self.mae,
            "dropped": self.dropped,
        }


def _mae(prediction: np.ndarray, actual: np.ndarray) -> float:
    known = np.isfinite(prediction) & np.isfinite(actual)
    return float(np.abs(prediction[known] - actual[known]).mean())


def validate(
    rates: np.ndarray,
    start: float,
    spec: FeatureSpec,
    names: list[str],
    pool: Sequence[Candidate],
    horizons: tuple[int, ...],
    validation_steps: int,
    progress: Progress | None = None,
) -> Selection:
    """Fit every candidate before the last ``validation_steps`` of ``rates``, score it on them."""
    say = progress or (lambda _msg: None)
    steps = rates.shape[0]
    fit_steps = steps - validation_steps
    if validation_steps < max(horizons) or fit_steps < spec.day:
        raise ValueError("the training window is too short for a validation split")
    selection = Selection(LAST_VALUE, horizons, fit_steps, validation_steps)
    origins = {h: np.arange(fit_steps - h, steps - h) for h in horizons}
    selection.mae[LAST_VALUE] = [_mae(rates[o], rates[o + h]) for h, o in origins.items()]
    for candidate in pool:
        config = replace(candidate.config, horizons=horizons, upper_horizons=())
        model = fit_forecaster(rates[:fit_steps], start, spec, names, config)
        selection.mae[candidate.name] = [
            _mae(model.predict(rates, start, o, h, names)[0], rates[o + h])
            for h, o in origins.items()
        ]
        selection.configs[candidate.name] = candidate.config
        ratio = np.divide(selection.mae[candidate.name], selection.mae[LAST_VALUE])
        say(f"validation: {candidate.name} MAE / last value by horizon {np.round(ratio, 3)}")
        if not (ratio < 1.0).all():
            selection.dropped.append(candidate.name)
    eligible = [n for n in selection.configs if n not in selection.dropped]
    if eligible:
        selection.chosen = min(eligible, key=selection.relative)
    say(f"validation chose {selection.chosen} (dropped: {', '.join(selection.dropped) or 'none'})")
    return selection


def validation_steps(train_steps: int, spec: FeatureSpec, days: float = 2.0) -> int:
    """Steps held out for validation: ``days``, at most a fifth of the training window."""
    return max(1, min(round(days * spec.day), train_steps // 5))


def fit_chosen(
    selection: Selection,
    rates: np.ndarray,
    start: float,
    spec: FeatureSpec,
    names: list[str],
    config: TrainConfig,
    name: str | None = None,
    progress: Progress | None = None,
) -> Forecaster | None:
    """The chosen (or the named) candidate fitted on all of ``rates``; None for last value.

    ``config`` gives what the caller needs of the model (horizons, quantile, threads); the
    candidate gives the kind and hyper-parameters.
    """
    name = name or selection.chosen
    if name == LAST_VALUE:
        return None
    chosen = selection.configs[name]
    settings = {
        key: getattr(chosen, key)
        for key in (
            "kind",
            "max_iter",
            "learning_rate",
            "max_leaf_nodes",
            "min_samples_leaf",
            "ridge_alpha",
            "clip_quantile",
        )
    }
    return fit_forecaster(rates, start, spec, names, replace(config, **settings), progress)
