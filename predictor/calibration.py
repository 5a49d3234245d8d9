"""Per-pair calibration of upper forecasts to a network-wide under-provisioning target.

Each pair gets an offset (in units of its scale) added to the raw upper forecast. Offsets are
chosen on a calibration window the model did not train on, by minimising the total reserved
bandwidth plus ``lambda`` times the number of under-provisioned (pair, step) cells; ``lambda``
is bisected so that the mean miss rate over active pairs meets the target. Small pairs get
generous offsets (cheap), big pairs tight ones: that is what keeps reserved/actual low. No pair
is sacrificed: its offset is at least its own ``min_level`` residual quantile (without that
floor the cheapest answer gives up on a big, volatile pair altogether).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

# candidate per-pair residual quantiles
LEVELS = np.concatenate(
    [np.linspace(0.0, 0.9, 10), [0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 1.0]]
)


@dataclass
class Calibration:
    """Offsets (scale units) per pair name, and one for pairs never calibrated."""

    default_offset: float
    pair_offsets: dict[str, float] = field(default_factory=dict)

    def offsets_for(self, pair_names: list[str]) -> np.ndarray:
        """Offsets for the given pairs, in order."""
        return np.array([self.pair_offsets.get(p, self.default_offset) for p in pair_names])


def _choose(cost: np.ndarray, miss: np.ndarray, active: np.ndarray, target: float) -> np.ndarray:
    """Index of the chosen level per pair for the smallest lambda meeting ``target``."""
    columns = np.arange(cost.shape[1])
    lo, hi = -6.0, 14.0  # log10 lambda
    for _ in range(50):
        mid = (lo + hi) / 2
        choice = np.argmin(cost + 10.0**mid * miss, axis=0)
        if miss[choice, columns][active].mean() > target:
            lo = mid
        else:
            hi = mid
    result: np.ndarray = np.argmin(cost + 10.0**hi * miss, axis=0)
    return result


def calibrate(
    actual: np.ndarray,
    upper_raw: np.ndarray,
    scale: np.ndarray,
    pair_names: list[str],
    target_miss: float,
    min_level: float = 0.8,
) -> Calibration:
    """Offsets so that ``upper_raw + offset * scale`` misses at most ``target_miss`` of cells.

    All arrays are (steps, pairs); NaN cells in ``actual`` are ignored.
    """
    known = np.isfinite(actual) & np.isfinite(upper_raw)
    residual = np.where(known, (actual - upper_raw) / scale, np.nan)
    active = np.nansum(np.where(known, actual, 0.0), axis=0) > 0
    if not active.any():
        return Calibration(0.0)
    default = float(np.nanquantile(residual[:, active], 1.0 - target_miss))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pairs with no known cell
        levels = [level for level in LEVELS if level >= min_level]
        quantiles = np.nanquantile(residual, levels, axis=0)  # (levels, pairs)
    quantiles = np.where(np.isfinite(quantiles), quantiles, default)
    upper = np.maximum(upper_raw[None] + quantiles[:, None, :] * scale[None], 0.0)
    actual_known = np.where(known, actual, 0.0)
    miss = ((actual_known[None] > upper) & known[None]).sum(axis=1) / np.maximum(
        known.sum(axis=0), 1
    )
    cost = np.where(known[None], upper, 0.0).sum(axis=1)
    choice = _choose(cost, miss, active, target_miss)
    offsets = quantiles[choice, np.arange(len(pair_names))]
    pairs = {name: float(o) for name, o, a in zip(pair_names, offsets, active, strict=True) if a}
    return Calibration(default, pairs)


def rolling_upper(
    actual: np.ndarray,
    raw_upper: np.ndarray,
    scale: np.ndarray,
    floor: np.ndarray,
    pair_names: list[str],
    first: int,
    window: int,
    every: int,
    target_miss: float,
) -> np.ndarray:
    """Calibrated upper for rows ``first:``, recalibrated every ``every`` rows.

    Rows are consecutive one-step-ahead forecast origins; row ``r``'s actual is known once
    row ``r + 1`` is issued, so the calibration for rows ``c:c+every`` uses rows
    ``c-window:c`` only. ``floor`` (the central forecast) bounds the result from below.
    """
    chunks = []
    for c in range(first, actual.shape[0], every):
        lo, hi = max(c - window, 0), min(c + every, actual.shape[0])
        calibration = calibrate(actual[lo:c], raw_upper[lo:c], scale[lo:c], pair_names, target_miss)
        upper = raw_upper[c:hi] + calibration.offsets_for(pair_names)[None, :] * scale[c:hi]
        chunks.append(np.maximum(upper, floor[c:hi]))
    return np.concatenate(chunks)
