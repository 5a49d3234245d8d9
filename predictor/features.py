"""Features of each pair's history at a forecast origin: lags, rolling statistics, calendar.

Every value is divided by the pair's mean over the last day (its *scale*), so the features and
the targets are unit-free: a model trained on Abilene applies to a scaled-down replay. Lags and
rolling windows are expressed relative to the last value, and the target is the change of the
scaled rate over the horizon. A feature at origin ``t`` reads rates at ``t`` and before only.

A spec with an input ``window`` (e.g. 12 steps, the Flow-by-Flow protocol's) reads only rows
``t - window + 1 .. t``: the scale and the rolling statistics span the window, and the columns
that need older rows (day lags, the longer hourly lags and means) are left missing (NaN).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

FEATURE_VERSION = 1
SCALE_FLOOR_MBPS = 0.01
RECENT_LAGS = 5
HOURLY_LAGS = 6


@dataclass(frozen=True)
class FeatureSpec:
    """Feature geometry for one sampling step (lags and windows are counted in steps)."""

    step_seconds: float
    version: int = FEATURE_VERSION
    window: int | None = None  # rows of history a feature may read (None: two days and more)

    def reaches(self, rows_back: int) -> bool:
        """True if a feature may read the row ``rows_back`` before the origin."""
        return self.window is None or rows_back <= self.window - 1

    @property
    def span(self) -> int:
        """Rows of the scale's and the daily statistics' windows."""
        return self.day if self.window is None else self.window

    @property
    def hour(self) -> int:
        """Steps per hour (at least 1)."""
        return max(1, round(3600 / self.step_seconds))

    @property
    def day(self) -> int:
        """Steps per day."""
        return max(4, round(86400 / self.step_seconds))

    @property
    def max_horizon(self) -> int:
        """Longest horizon whose features still read only the past."""
        return self.day - 2

    @property
    def history_steps(self) -> int:
        """Rows of history the features of one origin can reach back to."""
        return 2 * self.day + 3

    def names(self) -> list[str]:
        """Feature names in column order."""
        names = ["level"] + [f"lag{k}" for k in range(1, RECENT_LAGS + 1)]
        names += ["mean3", "mean_hour", "mean_3hours", "std_hour"]
        names += [f"hour_lag{k}" for k in range(1, HOURLY_LAGS + 1)]
        names += ["hour_lag_median", "hour_lag_mean", "day_lag", "two_day_lag", "day_lag_mean5"]
        names += ["day_change", "tod_sin", "tod_cos", "dow_sin", "dow_cos", "network_total"]
        names += ["rough_step", "rough_horizon", "rough_hour", "rough_day"]
        return names


@dataclass(frozen=True)
class FeatureBlock:
    """Features of many origins: ``x`` (origins, pairs, features), with scale and last value."""

    x: np.ndarray
    scale: np.ndarray  # (origins, pairs) Mbit/s
    level: np.ndarray  # (origins, pairs) the last rate, Mbit/s


class _History:
    """Cumulative sums of a (T, P) rate array for NaN-aware windows ending at an origin."""

    def __init__(self, rates: np.ndarray) -> None:
        self.rates = rates
        self._sums: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def at(self, index: np.ndarray) -> np.ndarray:
        """Rates at the given rows; NaN where the row is before the start."""
        out = np.full((len(index), self.rates.shape[1]), np.nan)
        ok = index >= 0
        out[ok] = self.rates[index[ok]]
        return out

    def window_mean(self, values: np.ndarray, key: str, ends: np.ndarray, width: int) -> np.ndarray:
        """Mean of the finite ``values`` (cached as ``key``) in rows ``end-width < row <= end``."""
        if key not in self._sums:
            valid = np.isfinite(values)
            zero = np.zeros((1, values.shape[1]))
            total = np.concatenate([zero, np.cumsum(np.where(valid, values, 0.0), axis=0)])
            count = np.concatenate([zero, np.cumsum(valid, axis=0)])
            self._sums[key] = (total, count)
        total, count = self._sums[key]
        hi = np.clip(ends + 1, 0, None)
        lo = np.clip(hi - width, 0, None)
        n = count[hi] - count[lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, (total[hi] - total[lo]) / n, np.nan)


def _absolute_change(rates: np.ndarray, lag: int) -> np.ndarray:
    out = np.full_like(rates, np.nan)
    out[lag:] = np.abs(rates[lag:] - rates[:-lag])
    return out


def _calendar(target_times: np.ndarray, pairs: int) -> list[np.ndarray]:
    day = (target_times % 86400) / 86400
    week = (((target_times // 86400) + 3) % 7 + day) / 7  # epoch day 0 was a Thursday
    columns = [np.sin(2 * np.pi * day), np.cos(2 * np.pi * day)]
    columns += [np.sin(2 * np.pi * week), np.cos(2 * np.pi * week)]
    return [np.repeat(c[:, None], pairs, axis=1) for c in columns]


def build_features(
    rates: np.ndarray, start: float, spec: FeatureSpec, origins: np.ndarray, horizon: int
) -> FeatureBlock:
    """Features for forecasting ``rates[t + horizon]`` at each origin ``t``, from rows <= t.

    ``rates`` is (T, P) in Mbit/s with NaN for unknown history; row t starts at
    ``start + t * spec.step_seconds`` (epoch seconds).
    """
    if not 1 <= horizon <= spec.max_horizon:
        raise ValueError(f"horizon must be within 1..{spec.max_horizon} steps")
    origins = np.asarray(origins, dtype=np.int64)
    history = _History(np.asarray(rates, dtype=np.float64))
    y = history.rates
    hour, day, span = spec.hour, spec.day, spec.span
    scale = np.maximum(np.nan_to_num(history.window_mean(y, "rates", origins, span)), 0.0)
    scale += SCALE_FLOOR_MBPS
    level = history.at(origins)
    base = level / scale
    missing: np.ndarray = np.full_like(base, np.nan)

    def rel(values: np.ndarray) -> np.ndarray:
        return np.asarray(values / scale - base)

    def back(rows: int) -> np.ndarray:
        """Rates ``rows`` before the origins, if the spec may read that far."""
        return history.at(origins - rows) if spec.reaches(rows) else missing

    def mean_back(width: int, rows: int = 0) -> np.ndarray:
        """Mean over the ``width`` rows ending ``rows`` before the origins, if readable."""
        if not spec.reaches(rows + width - 1):
            return missing
        return np.asarray(history.window_mean(y, "rates", origins - rows, width))

    cols = [base] + [rel(back(k)) for k in range(1, RECENT_LAGS + 1)]
    cols += [rel(mean_back(w)) for w in (3, hour, 3 * hour)]
    if spec.reaches(hour - 1):
        mean_sq = history.window_mean(y**2, "squares", origins, hour)
        variance = mean_sq - history.window_mean(y, "rates", origins, hour) ** 2
        cols.append(np.sqrt(np.maximum(variance, 0.0)) / scale)
    else:
        cols.append(missing)

    hourly = np.full((HOURLY_LAGS, len(origins), y.shape[1]), np.nan)
    for k in range(1, HOURLY_LAGS + 1):
        if k * hour >= horizon:  # the same minute k hours before the target, if already seen
            hourly[k - 1] = back(k * hour - horizon)
    cols += [rel(h) for h in hourly]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN, as wanted
        cols += [rel(np.nanmedian(hourly, axis=0)), rel(np.nanmean(hourly, axis=0))]
    cols += [rel(back(day - horizon)), rel(back(2 * day - horizon))]
    cols.append(rel(mean_back(5, day - horizon - 2)))
    cols.append((level - back(day)) / scale)

    target_times = start + (origins + horizon) * spec.step_seconds
    cols += _calendar(target_times, y.shape[1])
    known = np.isfinite(y).any(axis=1, keepdims=True)
    total = np.where(known, np.nansum(y, axis=1, keepdims=True), np.nan)
    daily_total = np.maximum(history.window_mean(total, "total", origins, span), SCALE_FLOOR_MBPS)
    cols.append(np.repeat(total[origins] / daily_total, y.shape[1], axis=1))

    for lag in (1, horizon, hour, day):
        width = span if spec.window is None else span - lag  # both ends of every change inside
        if width < 1:
            cols.append(missing)
            continue
        change = _absolute_change(y, lag)
        cols.append(history.window_mean(change, f"change{lag}", origins, width) / scale)
    x = np.stack(cols, axis=-1).astype(np.float32)
    return FeatureBlock(x, scale, level)


def scaled_change(rates: np.ndarray, block: FeatureBlock, targets: np.ndarray) -> np.ndarray:
    """Training target: the change of the scaled rate from the origin to the target rows."""
    return np.asarray(rates[targets] / block.scale - block.level / block.scale)


def rates_from_change(change: np.ndarray, block: FeatureBlock) -> np.ndarray:
    """Invert :func:`scaled_change`: Mbit/s from a predicted scaled change."""
    return np.asarray((change + block.level / block.scale) * block.scale)
