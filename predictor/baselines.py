"""Baseline forecasters the learned models must beat: last value, seasonal naive, EWMA."""

from __future__ import annotations

import numpy as np

EWMA_ALPHAS = (0.1, 0.2, 0.3, 0.5, 0.7, 0.9)


def last_value(rates: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """Forecast = the rate at the origin (for every horizon)."""
    return np.asarray(rates[origins])


def seasonal_naive(
    rates: np.ndarray, origins: np.ndarray, horizon: int, steps_per_day: int
) -> np.ndarray:
    """Forecast = the rate one day before the target (NaN if that is before the data)."""
    index = origins + horizon - steps_per_day
    out = np.full((len(origins), rates.shape[1]), np.nan)
    ok = index >= 0
    out[ok] = rates[index[ok]]
    return out


def ewma_series(rates: np.ndarray, alpha: float) -> np.ndarray:
    """Exponentially weighted mean of each column up to and including each row."""
    out = np.empty_like(rates, dtype=np.float64)
    state = np.asarray(rates[0], dtype=np.float64).copy()
    for t in range(rates.shape[0]):
        row = rates[t]
        state = np.where(np.isnan(state), row, state)
        state = np.where(np.isnan(row), state, alpha * row + (1 - alpha) * state)
        out[t] = state
    return out


def fit_ewma_alpha(rates: np.ndarray) -> float:
    """The alpha (from EWMA_ALPHAS) with the lowest one-step MAE on ``rates``."""
    errors = []
    for alpha in EWMA_ALPHAS:
        smooth = ewma_series(rates, alpha)
        errors.append(np.nanmean(np.abs(smooth[:-1] - rates[1:])))
    return EWMA_ALPHAS[int(np.argmin(errors))]
