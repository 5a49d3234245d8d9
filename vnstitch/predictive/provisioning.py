"""Provisioning decisions from forecasts: which predicted reservations to create, resize, release.

A pure function of (current forecasts, current predicted reservations, now, policy). It only
ever touches reservations it made itself (origin ``forecast``): pairs that hold a reservation
made by request or intent are passed as ``protected`` and are never given a forecast
reservation. The caller applies the actions through the ledger's all-or-nothing allocation, so
a forecast reservation that does not fit is simply not made; it never displaces another one.
Releases come first, then shrinking resizes, then creates and growing resizes, so capacity is
freed before it is asked for; standing reservations (``ProvisioningPolicy.floor_mbps``) come
last, so a forecast reservation is never refused for one. The forecasts come from
``vnstitch.predictive.forecast_book``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from vnstitch.messages import PairForecast, PairId


class Reason(StrEnum):
    """Why an action was planned."""

    ABOVE_THRESHOLD = "upper forecast above threshold"
    MOVED = "forecast moved beyond the hysteresis band"
    FELL_AWAY = "upper forecast fell below the release level"
    EXPIRED = "forecast expired"
    WITHDRAWN = "no forecast for the pair"
    SUPERSEDED = "pair holds a request or intent reservation"
    CLASS_CHANGED = "traffic class, latency bound or zone changed"
    STANDING = "standing floor of a forecast pair"
    BACK_TO_FLOOR = "upper forecast fell below the release level: back to the standing floor"


@dataclass(frozen=True)
class ProvisioningPolicy:
    """When to reserve for a forecast, and how eagerly to follow it.

    The band a new target must leave before a reservation is resized may differ upwards and
    downwards (asymmetric hysteresis): a small ``grow_hysteresis`` follows a rising forecast at
    once (traffic above a reservation is not guaranteed), a large ``shrink_hysteresis`` and a
    ``max_shrink`` below 1 give capacity back slowly (a dip of one step costs no resize, and a
    reservation shrinks by at most that share per decision). Unset, both bands are
    ``hysteresis`` and a shrink goes straight to the target, as before these were added.

    ``floor_mbps`` above 0 gives every pair with a forecast a standing reservation of at least
    that rate, whatever its forecast: its rules are in place before its first packet even when
    the forecast did not see the start coming (a pair rising from silence is forecast a few
    thousandths). Its bandwidth still follows the forecast above the floor: a forecast below
    the release level shrinks it back to the floor instead of releasing it, and a reservation
    at the floor grows as soon as its target rises above it (not ``min_change_mbps`` later, as
    a new reservation would have been created). Which pairs have a forecast is the predictor's
    choice (pairs with traffic in its idle window); an expired or withdrawn forecast still
    releases.
    """

    threshold_mbps: float = 1.0  # reserve when the upper forecast exceeds this
    hysteresis: float = 0.15  # relative band around the reserved rate (and the threshold)
    min_change_mbps: float = 0.1  # never resize for less than this
    headroom: float = 1.0  # reservation = upper forecast x headroom
    grow_hysteresis: float | None = None  # band for growing; None: ``hysteresis``
    shrink_hysteresis: float | None = None  # band for shrinking; None: ``hysteresis``
    max_shrink: float = 1.0  # a shrink takes at most this share of the reserved rate
    floor_mbps: float = 0.0  # standing reservation of every forecast pair; 0: none

    def __post_init__(self) -> None:
        if self.floor_mbps < 0:
            raise ValueError(f"provisioning floor_mbps must not be negative: {self.floor_mbps!r}")
        for name in ("grow_hysteresis", "shrink_hysteresis"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"provisioning {name} must not be negative: {value!r}")
        if not 0.0 < self.max_shrink <= 1.0:
            raise ValueError(f"provisioning max_shrink must be in (0, 1]: {self.max_shrink!r}")

    @property
    def release_mbps(self) -> float:
        """Upper forecast below which an existing predicted reservation is released."""
        return self.threshold_mbps * (1.0 - self.hysteresis)

    @property
    def grow_band(self) -> float:
        """Relative rise of the target above the reserved rate that triggers a resize."""
        return self.hysteresis if self.grow_hysteresis is None else self.grow_hysteresis

    @property
    def shrink_band(self) -> float:
        """Relative fall of the target below the reserved rate that triggers a resize."""
        return self.hysteresis if self.shrink_hysteresis is None else self.shrink_hysteresis

    def target(self, upper_mbps: float) -> float:
        """The rate a reservation should hold for an upper forecast (never below the floor)."""
        return max(upper_mbps * self.headroom, self.floor_mbps)

    def at_floor(self, held_mbps: float) -> bool:
        """Whether a reservation holds just the standing floor (none is configured: never)."""
        return self.floor_mbps > 0 and held_mbps <= self.floor_mbps * (1.0 + 1e-9)

    def resized(self, held_mbps: float, target_mbps: float) -> float | None:
        """The new rate of a reservation holding ``held_mbps`` for a target, or None to keep it.

        A reservation at the standing floor grows past it without ``min_change_mbps``: without
        a floor the pair would have had no reservation, and one would be created at the target.
        """
        if target_mbps > held_mbps:
            least = 0.0 if self.at_floor(held_mbps) else self.min_change_mbps
            band = max(self.grow_band * held_mbps, least)
            return target_mbps if target_mbps - held_mbps > band else None
        band = max(self.shrink_band * held_mbps, self.min_change_mbps)
        if held_mbps - target_mbps <= band:
            return None
        return max(target_mbps, held_mbps * (1.0 - self.max_shrink))


@dataclass(frozen=True)
class PredictedReservation:
    """A reservation this module asked for, as the controller currently holds it."""

    pair: PairId
    rate_mbps: float
    latency_bound_ms: float | None = None
    zone: str = "default"
    traffic_class: str = "default"


@dataclass(frozen=True)
class CreateReservation:
    """Reserve ``rate_mbps`` for a pair, on a path meeting its latency bound and zone."""

    pair: PairId
    rate_mbps: float
    latency_bound_ms: float | None
    zone: str
    traffic_class: str
    valid_until: float
    reason: Reason


@dataclass(frozen=True)
class ResizeReservation:
    """Change a predicted reservation's rate."""

    pair: PairId
    old_rate_mbps: float
    rate_mbps: float
    valid_until: float
    reason: Reason


@dataclass(frozen=True)
class ReleaseReservation:
    """Release a predicted reservation."""

    pair: PairId
    rate_mbps: float
    reason: Reason


ProvisioningAction = CreateReservation | ResizeReservation | ReleaseReservation


def _create(
    forecast: PairForecast,
    upper: float,
    policy: ProvisioningPolicy,
    reason: Reason = Reason.ABOVE_THRESHOLD,
) -> CreateReservation:
    return CreateReservation(
        forecast.pair,
        policy.target(upper),
        forecast.latency_bound_ms,
        forecast.zone,
        forecast.traffic_class,
        forecast.valid_until,
        reason,
    )


def _same_class(held: PredictedReservation, forecast: PairForecast) -> bool:
    return (held.latency_bound_ms, held.zone, held.traffic_class) == (
        forecast.latency_bound_ms,
        forecast.zone,
        forecast.traffic_class,
    )


def _for_held(
    held: PredictedReservation,
    forecast: PairForecast | None,
    now: float,
    policy: ProvisioningPolicy,
    present: float | None = None,
) -> list[ProvisioningAction]:
    """Actions for a pair that already holds a predicted reservation."""
    upper = None if forecast is None else forecast.upper_at(now)
    late_successor = (
        upper is None
        and forecast is not None
        and present is not None
        and forecast.upper_at(present) is not None
    )
    if late_successor:
        return []  # the next forecast is late, this one still holds: keep it as it is
    if forecast is None or upper is None:
        reason = Reason.WITHDRAWN if forecast is None else Reason.EXPIRED
        return [ReleaseReservation(held.pair, held.rate_mbps, reason)]
    if upper < policy.release_mbps and policy.floor_mbps <= 0:
        return [ReleaseReservation(held.pair, held.rate_mbps, Reason.FELL_AWAY)]
    if not _same_class(held, forecast):
        release = ReleaseReservation(held.pair, held.rate_mbps, Reason.CLASS_CHANGED)
        return [release, _create(forecast, upper, policy)]
    if upper < policy.release_mbps:  # a standing floor: shrink to it, never release
        if policy.at_floor(held.rate_mbps):
            return []
        floor = policy.floor_mbps
        return [
            ResizeReservation(
                held.pair, held.rate_mbps, floor, forecast.valid_until, Reason.BACK_TO_FLOOR
            )
        ]
    rate = policy.resized(held.rate_mbps, policy.target(upper))
    if rate is not None:
        return [
            ResizeReservation(held.pair, held.rate_mbps, rate, forecast.valid_until, Reason.MOVED)
        ]
    return []


def _order(action: ProvisioningAction) -> tuple[int, PairId]:
    if isinstance(action, ReleaseReservation):
        return (0, action.pair)
    if isinstance(action, ResizeReservation) and action.rate_mbps < action.old_rate_mbps:
        return (1, action.pair)
    if isinstance(action, CreateReservation) and action.reason is Reason.STANDING:
        return (3, action.pair)
    return (2, action.pair)


def plan_provisioning(
    forecasts: Mapping[PairId, PairForecast],
    reservations: Mapping[PairId, PredictedReservation],
    now: float,
    policy: ProvisioningPolicy,
    protected: Collection[PairId] = frozenset(),
    lead_s: float = 0.0,
    present: float | None = None,
) -> list[ProvisioningAction]:
    """Actions that bring the predicted reservations in line with the forecasts at ``now``.

    A pair whose upper forecast crosses the threshold by ``now + lead_s`` (one round later)
    gets its reservation now, sized for the larger of the two: a pair that starts sending
    finds its rules confirmed, even when its reservation takes more than a round to install.
    ``now`` is the moment planned for (a round ahead); ``present``, the current time: a held
    reservation whose forecast does not reach ``now`` yet still covers ``present`` is kept.
    With ``policy.floor_mbps`` every other pair whose forecast covers ``now`` gets a standing
    reservation at the floor (planned last).
    """
    actions: list[ProvisioningAction] = []
    for pair, held in reservations.items():
        if pair in protected:
            actions.append(ReleaseReservation(pair, held.rate_mbps, Reason.SUPERSEDED))
        else:
            actions.extend(_for_held(held, forecasts.get(pair), now, policy, present))
    for pair, forecast in forecasts.items():
        if pair in reservations or pair in protected:
            continue
        upper = _early_upper(forecast, now, lead_s)
        if upper is not None and upper > policy.threshold_mbps:
            actions.append(_create(forecast, upper, policy))
        elif upper is not None and policy.floor_mbps > 0:
            actions.append(_create(forecast, 0.0, policy, Reason.STANDING))
    # stable sort: a class change keeps its release before its create
    return sorted(actions, key=_order)


def _early_upper(forecast: PairForecast, now: float, lead_s: float) -> float | None:
    """The upper forecast at ``now``, or one round later if that is larger (and known).

    None when the forecast does not cover ``now`` (expired, or not valid yet): a reservation
    made from it would be released as expired at the next decision.
    """
    upper = forecast.upper_at(now)
    later = forecast.upper_at(now + lead_s) if lead_s > 0 else None
    if upper is None or later is None:
        return upper
    return max(upper, later)
