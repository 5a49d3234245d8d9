"""The registry of forecast model kinds: the one place that says which estimators exist.

Every user of a kind (training, backtests, the CLI's ``--model`` choices, the live engine's
config) goes through :data:`MODEL_KINDS` or :func:`model_kind`; adding a kind means adding one
:class:`ModelKind` here. scikit-learn is imported only when an estimator is built: it takes a
second to import, and the ``vnstitch`` CLI reads this registry to build its parser.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Self

if TYPE_CHECKING:
    import numpy as np

    from predictor.models import TrainConfig


class Estimator(Protocol):
    """What the forecasters need of a (scikit-learn) regressor."""

    def fit(self, x: np.ndarray, y: np.ndarray, **weights: np.ndarray) -> Self:
        """Fit on rows ``x`` and targets ``y``; ``weights`` holds the per-row weights."""
        ...

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted targets of rows ``x``."""
        ...


EstimatorFactory = Callable[["TrainConfig"], Estimator]


@dataclass(frozen=True)
class ModelKind:
    """How one kind of forecaster builds and feeds its estimators."""

    name: str
    summary: str  # one line for the CLI's help
    central: EstimatorFactory  # predicts the scaled change of each pair's rate
    upper: EstimatorFactory | None = None  # an upper-quantile model; None: the central's upper
    finite_inputs: bool = False  # missing (NaN) features become 0: the estimator rejects NaN
    weight_keyword: str = "sample_weight"  # the fit() keyword that takes the per-row weights
    # Extrapolates: features are clipped to their training range (``TrainConfig.clip_quantile``)
    # and its predicted change to the training targets' range, so one input far outside what
    # it was fitted on (a short history, a pair rising far above its past) cannot blow it up.
    clipped: bool = False


def _boosted_trees(config: TrainConfig, quantile: float | None) -> Estimator:
    from sklearn.ensemble import HistGradientBoostingRegressor

    estimator: Estimator = HistGradientBoostingRegressor(
        loss="absolute_error" if quantile is None else "quantile",
        quantile=quantile,
        max_iter=config.max_iter,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        min_samples_leaf=config.min_samples_leaf,
        early_stopping=False,
        random_state=config.seed,
    )
    return estimator


def _trees_central(config: TrainConfig) -> Estimator:
    return _boosted_trees(config, None)


def _trees_upper(config: TrainConfig) -> Estimator:
    return _boosted_trees(config, config.upper_model_quantile)


def _ridge(config: TrainConfig) -> Estimator:
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    estimator: Estimator = make_pipeline(StandardScaler(), Ridge(alpha=config.ridge_alpha))
    return estimator


HGB = ModelKind(
    "hgb",
    "gradient-boosted trees with an upper-quantile model",
    central=_trees_central,
    upper=_trees_upper,
)
RIDGE = ModelKind(
    "ridge",
    "linear ridge regression (upper: its central forecast, calibrated)",
    central=_ridge,
    finite_inputs=True,
    weight_keyword="ridge__sample_weight",  # the pipeline's step named by make_pipeline
    clipped=True,
)

MODEL_KINDS: dict[str, ModelKind] = {kind.name: kind for kind in (HGB, RIDGE)}
DEFAULT_MODEL_KIND = HGB.name


def model_kind(name: str) -> ModelKind:
    """The registered kind called ``name``; raises ValueError naming the known kinds."""
    try:
        return MODEL_KINDS[name]
    except KeyError:
        known = ", ".join(MODEL_KINDS)
        raise ValueError(f"unknown model kind {name!r}; known kinds: {known}") from None
