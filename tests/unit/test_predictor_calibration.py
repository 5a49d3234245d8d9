"""Per-pair calibration of upper forecasts."""

from __future__ import annotations

import numpy as np

from predictor.calibration import calibrate


def noisy_pairs(seed: int, steps: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two small pairs and one big pair: forecast = truth's mean, truth = mean + noise."""
    rng = np.random.default_rng(seed)
    mean = np.array([1.0, 2.0, 100.0])
    actual = mean * (1 + 0.3 * rng.standard_normal((steps, 3)))
    forecast = np.repeat(mean[None], steps, axis=0)
    return np.maximum(actual, 0), forecast, forecast.copy()


def test_calibrated_upper_meets_the_miss_target_on_its_window() -> None:
    actual, forecast, scale = noisy_pairs(1)
    calibration = calibrate(actual, forecast, scale, ["a", "b", "c"], target_miss=0.05)
    upper = forecast + calibration.offsets_for(["a", "b", "c"]) * scale
    assert (actual > upper).mean() <= 0.05


def test_small_pairs_get_more_coverage_than_the_big_one() -> None:
    actual, forecast, scale = noisy_pairs(2)
    calibration = calibrate(actual, forecast, scale, ["a", "b", "c"], target_miss=0.05)
    upper = forecast + calibration.offsets_for(["a", "b", "c"]) * scale
    miss = (actual > upper).mean(axis=0)
    assert miss[2] > miss[0] and miss[2] > miss[1]
    uniform = forecast + np.quantile((actual - forecast) / scale, 0.95) * scale
    assert upper.sum() < uniform.sum()  # cheaper than one offset for everyone


def test_unknown_and_idle_pairs_get_the_default_offset() -> None:
    actual, forecast, scale = noisy_pairs(3)
    actual[:, 0] = 0.0
    calibration = calibrate(actual, forecast, scale, ["idle", "b", "c"], target_miss=0.05)
    assert "idle" not in calibration.pair_offsets
    offsets = calibration.offsets_for(["idle", "never-seen"])
    assert offsets.tolist() == [calibration.default_offset] * 2


def test_no_pair_is_given_up_to_save_bandwidth() -> None:
    rng = np.random.default_rng(4)
    steps = 400
    mean = np.array([1.0] * 20 + [1000.0])  # twenty small pairs and one huge, volatile one
    actual = mean * np.exp(rng.normal(0, [0.05] * 20 + [0.5], (steps, 21)))
    forecast = np.repeat(mean[None], steps, axis=0)
    names = [f"p{i}" for i in range(21)]

    def misses(min_level: float) -> np.ndarray:
        calibration = calibrate(actual, forecast, forecast, names, 0.05, min_level)
        upper = forecast + calibration.offsets_for(names) * forecast
        return np.asarray((actual > upper).mean(axis=0))

    assert misses(0.0)[-1] > 0.9  # unconstrained, the big pair's misses are the cheapest
    assert misses(0.8)[-1] <= 0.2
