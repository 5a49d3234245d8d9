"""Model choice on a time-ordered validation split, and models that survive short training."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import pytest

from predictor.backtest import run_backtest
from predictor.features import FeatureSpec
from predictor.generator import GeneratorConfig, generate
from predictor.model_kinds import MODEL_KINDS, ModelKind
from predictor.models import Bounds, TrainConfig, fit_forecaster, unseen_columns
from predictor.selection import (
    LAST_VALUE,
    Candidate,
    candidates,
    fit_chosen,
    validate,
    validation_steps,
)
from predictor.trace import Trace

TRACE = generate(GeneratorConfig(nodes=4, days=4, step_minutes=60, seed=3))
SPEC = FeatureSpec(TRACE.step_seconds)


@dataclass
class Constant:
    """An estimator that always predicts the same scaled change (a model worse than naive)."""

    value: float

    def fit(self, x: np.ndarray, y: np.ndarray, **weights: np.ndarray) -> Self:
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), self.value)


@pytest.fixture
def bad_kind(monkeypatch: pytest.MonkeyPatch) -> str:
    kind = ModelKind("bad", "always +3 scales", central=lambda _config: Constant(3.0))
    monkeypatch.setitem(MODEL_KINDS, kind.name, kind)
    return kind.name


def _mae_over_last_value(model_kind: str, train_days: float) -> float:
    rates, names = TRACE.series(), TRACE.pair_names()
    train = round(train_days * SPEC.day)
    config = TrainConfig(kind=model_kind, horizons=(1,), upper_horizons=())
    model = fit_forecaster(rates[:train], TRACE.start, SPEC, names, config)
    origins = np.arange(train - 1, rates.shape[0] - 1)
    central, _ = model.predict(rates, TRACE.start, origins, 1, names)
    actual = rates[origins + 1]
    return float(np.abs(central - actual).mean() / np.abs(rates[origins] - actual).mean())


def test_ridge_trained_on_two_days_does_not_diverge() -> None:
    # before features were clipped and the unseen weekday columns held at 0: 26x last value
    assert _mae_over_last_value("ridge", 2.0) < 1.0


def test_weekday_columns_are_held_at_zero_until_a_whole_week_is_seen() -> None:
    names = SPEC.names()
    dropped = unseen_columns(SPEC, 6 * SPEC.day)
    assert [names[k] for k in dropped] == ["dow_sin", "dow_cos"]
    assert unseen_columns(SPEC, 7 * SPEC.day) == ()
    model = fit_forecaster(
        TRACE.series()[: 2 * SPEC.day],
        TRACE.start,
        SPEC,
        TRACE.pair_names(),
        TrainConfig(kind="ridge", horizons=(1,), upper_horizons=()),
    )
    assert model.models[1].dropped == dropped


def test_clipped_kinds_keep_inputs_and_outputs_in_their_training_range() -> None:
    x = np.array([[0.0, 1.0], [1.0, 2.0], [2.0, np.nan], [3.0, 4.0]])
    bounds = Bounds.of(x, np.array([-1.0, 0.0, 1.0, 2.0]), quantile=0.0)
    clipped = bounds.inputs(np.array([[-50.0, 9.0], [1.5, np.nan]]))
    assert clipped[0].tolist() == [0.0, 4.0] and clipped[1, 0] == 1.5 and np.isnan(clipped[1, 1])
    assert bounds.outputs(np.array([-7.0, 0.5, 7.0])).tolist() == [-1.0, 0.5, 2.0]
    config = TrainConfig(horizons=(1,), upper_horizons=(), max_iter=5)
    rates, names = TRACE.series(), TRACE.pair_names()
    ridge = fit_forecaster(
        rates, TRACE.start, SPEC, names, TrainConfig(kind="ridge", horizons=(1,))
    )
    trees = fit_forecaster(rates, TRACE.start, SPEC, names, config)
    assert ridge.models[1].bounds is not None and trees.models[1].bounds is None


def test_a_candidate_worse_than_last_value_on_validation_is_dropped(bad_kind: str) -> None:
    rates, names = TRACE.series()[: 3 * SPEC.day], TRACE.pair_names()
    pool = [Candidate("bad", TrainConfig(kind=bad_kind)), Candidate("ridge", TrainConfig("ridge"))]
    selection = validate(rates, TRACE.start, SPEC, names, pool, (1, 2), SPEC.day // 2)
    assert selection.dropped[0] == "bad" and selection.chosen != "bad"
    assert selection.mae["bad"][0] > selection.mae[LAST_VALUE][0]
    assert selection.fit_steps == 3 * SPEC.day - SPEC.day // 2


def test_with_no_candidate_better_than_last_value_the_forecast_is_last_value(
    bad_kind: str,
) -> None:
    rates, names = TRACE.series()[: 3 * SPEC.day], TRACE.pair_names()
    pool = [Candidate("bad", TrainConfig(kind=bad_kind))]
    selection = validate(rates, TRACE.start, SPEC, names, pool, (1,), SPEC.day // 2)
    assert selection.chosen == LAST_VALUE
    assert fit_chosen(selection, rates, TRACE.start, SPEC, names, TrainConfig()) is None


def test_the_grid_names_its_candidates_and_quick_keeps_the_defaults() -> None:
    grid = candidates(TrainConfig())
    assert [c.name for c in candidates(TrainConfig(), quick=True)] == list(MODEL_KINDS)
    assert len({c.name for c in grid}) == len(grid) > len(MODEL_KINDS)
    tuned = next(c for c in grid if c.name.startswith("hgb["))
    assert tuned.config.kind == "hgb" and tuned.config.max_iter != TrainConfig().max_iter
    assert validation_steps(10 * SPEC.day, SPEC) == 2 * SPEC.day  # two days, or a fifth
    assert validation_steps(5 * SPEC.day, SPEC) == SPEC.day


def test_the_test_days_never_influence_the_choice() -> None:
    """Changing every step after the training days leaves the validation figures alone."""
    pool = [
        Candidate("ridge", TrainConfig(kind="ridge")),
        Candidate("ridge-stiff", TrainConfig("ridge", ridge_alpha=1e6)),
    ]
    other = TRACE.tm.copy()
    other[3 * SPEC.day :] *= 5.0
    changed = Trace(other, TRACE.nodes, TRACE.start, TRACE.step_seconds)
    first = run_backtest(TRACE, train_days=3, horizons=(1,), pool=pool).report["validation"]
    second = run_backtest(changed, train_days=3, horizons=(1,), pool=pool).report["validation"]
    assert first == second
