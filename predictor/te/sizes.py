"""Reservation sizes per step, as the controller's provisioning policy would hold them.

Every step, each pair's one-step-ahead forecast (central and upper) goes through
:func:`vnstitch.predictive.provisioning.plan_provisioning` with the reservations held after
the previous step, exactly as the controller does when a forecast batch arrives: threshold,
(asymmetric) hysteresis, release level. Reservations are directional here, one per ordered
pair, each sized by its own forecast.
"""

from __future__ import annotations

import numpy as np

from vnstitch.messages import PairForecast, PairId
from vnstitch.predictive.provisioning import (
    CreateReservation,
    PredictedReservation,
    ProvisioningPolicy,
    ReleaseReservation,
    ResizeReservation,
    plan_provisioning,
)


def provisioned_sizes(
    central: np.ndarray,
    upper: np.ndarray,
    step_starts: np.ndarray,
    step_seconds: float,
    policy: ProvisioningPolicy,
) -> np.ndarray:
    """Reserved Mbit/s (steps, pairs) from forecasts (steps, pairs) for each step's traffic."""
    pairs = [PairId(str(k), "dst") for k in range(upper.shape[1])]
    column = {pair: k for k, pair in enumerate(pairs)}
    held: dict[PairId, PredictedReservation] = {}
    out = np.zeros(upper.shape)
    for row, start in enumerate(step_starts.tolist()):
        forecasts = {
            pair: PairForecast(
                pair,
                (float(central[row, k]),),
                (float(upper[row, k]),),
                start,
                start + step_seconds,
            )
            for k, pair in enumerate(pairs)
            if np.isfinite(upper[row, k])
        }
        for action in plan_provisioning(forecasts, held, start, policy):
            match action:
                case ReleaseReservation():
                    del held[action.pair]
                case ResizeReservation():
                    old = held[action.pair]
                    held[action.pair] = PredictedReservation(old.pair, action.rate_mbps)
                case CreateReservation():
                    held[action.pair] = PredictedReservation(action.pair, action.rate_mbps)
        for pair, reservation in held.items():
            out[row, column[pair]] = reservation.rate_mbps
    return out


def oracle_sizes(actual: np.ndarray, policy: ProvisioningPolicy) -> np.ndarray:
    """Each pair above the threshold reserved at exactly the rate it will send."""
    return np.where(actual > policy.threshold_mbps, actual, 0.0)
