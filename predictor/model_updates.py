"""Model updates the live predictor runs in the background: retraining and recalibration.

The engine decides when one is due and hands it out as data (a copy of recent history);
the publisher runs it in a worker thread and gives the resulting forecaster back to the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictor.models import Forecaster, TrainConfig
from predictor.training import train


@dataclass(frozen=True)
class TrainingJob:
    """A retraining on a copy of recent history; ``run`` may go to another thread."""

    rates: np.ndarray
    start: float
    step_seconds: float
    pair_names: list[str]
    config: TrainConfig
    trained_until: float

    def run(self) -> Forecaster:
        """Fit the forecaster (seconds to a minute)."""
        return train(self.rates, self.start, self.step_seconds, self.pair_names, self.config)


@dataclass(frozen=True)
class RecalibrationJob:
    """New per-pair calibration of the current model on the latest observed steps."""

    forecaster: Forecaster
    rates: np.ndarray
    start: float
    origins: np.ndarray
    pair_names: list[str]

    def run(self) -> Forecaster:
        """The recalibrated copy of the forecaster (well under a second per 100 pairs)."""
        return self.forecaster.recalibrated(self.rates, self.start, self.origins, self.pair_names)


ModelUpdate = TrainingJob | RecalibrationJob
"""Either update; ``run()`` returns the forecaster to install."""
