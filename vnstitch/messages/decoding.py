"""Validation of decoded msgpack maps into message types; anything off raises DecodeError."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from vnstitch.messages.types import (
    ABOVE,
    BELOW,
    ORIGINS,
    Anomaly,
    Endpoint,
    ForecastBatch,
    Message,
    Observations,
    PairForecast,
    PairId,
    PairSample,
    PredictorStatus,
    ReservationChange,
    TopologyChange,
)

GARBAGE = "garbage"
TRUNCATED = "truncated"
VERSION = "version"
SCHEMA = "schema"
TOO_LARGE = "too_large"
DROP_REASONS = (GARBAGE, TRUNCATED, VERSION, SCHEMA, TOO_LARGE)


class DecodeError(ValueError):
    """A received message was dropped; ``reason`` is one of DROP_REASONS."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


# ---------------------------------------------------------------- validation helpers


def _fail(detail: str) -> DecodeError:
    return DecodeError(SCHEMA, detail)


def _get(body: Mapping[str, Any], key: str) -> Any:
    if key not in body:
        raise _fail(f"missing field {key!r}")
    return body[key]


def _str(body: Mapping[str, Any], key: str) -> str:
    value = _get(body, key)
    if not isinstance(value, str):
        raise _fail(f"{key!r} must be a string")
    return value


def _int(body: Mapping[str, Any], key: str, minimum: int = 0) -> int:
    value = _get(body, key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(f"{key!r} must be an integer >= {minimum}")
    return value


def _opt_int(body: Mapping[str, Any], key: str) -> int | None:
    return None if body.get(key) is None else _int(body, key)


def _as_float(value: Any, what: str, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"{what} must be a number")
    out = float(value)
    if not math.isfinite(out) or out < minimum:
        raise _fail(f"{what} must be finite and >= {minimum}")
    return out


def _float(body: Mapping[str, Any], key: str, minimum: float = 0.0) -> float:
    return _as_float(_get(body, key), repr(key), minimum)


def _opt_float(body: Mapping[str, Any], key: str) -> float | None:
    return None if body.get(key) is None else _float(body, key)


def _bool(body: Mapping[str, Any], key: str) -> bool:
    value = _get(body, key)
    if not isinstance(value, bool):
        raise _fail(f"{key!r} must be a boolean")
    return value


def _floats(body: Mapping[str, Any], key: str) -> tuple[float, ...]:
    value = _get(body, key)
    if not isinstance(value, list) or not value:
        raise _fail(f"{key!r} must be a non-empty list")
    return tuple(_as_float(v, key) for v in value)


def _maps(body: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = _get(body, key)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _fail(f"{key!r} must be a list of maps")
    return value


def _pair(body: Mapping[str, Any]) -> PairId:
    value = _get(body, "pair")
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise _fail("'pair' must be [src_ip, dst_ip]")
    return PairId(value[0], value[1])


def _choice(body: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = _str(body, key)
    if value not in allowed:
        raise _fail(f"{key!r} must be one of {allowed}")
    return value


# ---------------------------------------------------------------- per-kind decoders


def _sample(body: Mapping[str, Any]) -> PairSample:
    return PairSample(
        _pair(body), _int(body, "bytes"), _opt_int(body, "dscp"), _opt_int(body, "port")
    )


def _observations(body: Mapping[str, Any]) -> Observations:
    start, end = _float(body, "interval_start"), _float(body, "interval_end")
    if end <= start:
        raise _fail("interval_end must be after interval_start")
    samples = tuple(_sample(s) for s in _maps(body, "samples"))
    return Observations(_str(body, "source"), _int(body, "seq"), start, end, samples)


def _topology(body: Mapping[str, Any]) -> TopologyChange:
    endpoints = tuple(
        Endpoint(_str(e, "ip"), _str(e, "name"), _str(e, "zone")) for e in _maps(body, "endpoints")
    )
    return TopologyChange(
        _str(body, "source"),
        _int(body, "seq"),
        _float(body, "time"),
        _int(body, "topology_version"),
        endpoints,
    )


def _reservation(body: Mapping[str, Any]) -> ReservationChange:
    return ReservationChange(
        _str(body, "source"),
        _int(body, "seq"),
        _float(body, "time"),
        _str(body, "reservation_id"),
        _pair(body),
        _float(body, "rate_mbps"),
        _choice(body, "origin", ORIGINS),
        _bool(body, "active"),
    )


def _pair_forecast(body: Mapping[str, Any]) -> PairForecast:
    mean, upper = _floats(body, "mean_mbps"), _floats(body, "upper_mbps")
    start, end = _float(body, "valid_from"), _float(body, "valid_until")
    if len(mean) != len(upper) or end <= start:
        raise _fail("forecast steps or validity window inconsistent")
    return PairForecast(
        _pair(body),
        mean,
        upper,
        start,
        end,
        _str(body, "traffic_class"),
        _opt_float(body, "latency_bound_ms"),
        _str(body, "zone"),
    )


def _forecasts(body: Mapping[str, Any]) -> ForecastBatch:
    quantile = _float(body, "quantile")
    if quantile >= 1.0:
        raise _fail("'quantile' must be below 1")
    return ForecastBatch(
        _str(body, "source"),
        _int(body, "seq"),
        _str(body, "model_version"),
        quantile,
        _float(body, "issued_at"),
        tuple(_pair_forecast(f) for f in _maps(body, "forecasts")),
    )


def _anomaly(body: Mapping[str, Any]) -> Anomaly:
    return Anomaly(
        _str(body, "source"),
        _int(body, "seq"),
        _float(body, "time"),
        _pair(body),
        _float(body, "observed_mbps"),
        _float(body, "lower_mbps"),
        _float(body, "upper_mbps"),
        _int(body, "steps_outside", 1),
        _choice(body, "direction", (ABOVE, BELOW)),
    )


def _status(body: Mapping[str, Any]) -> PredictorStatus:
    dropped = _get(body, "dropped")
    if not isinstance(dropped, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in dropped.items()
    ):
        raise _fail("'dropped' must map reasons to counts")
    return PredictorStatus(
        _str(body, "source"),
        _int(body, "seq"),
        _float(body, "time"),
        _str(body, "model_version"),
        _int(body, "pairs"),
        _int(body, "forecasts_sent"),
        _int(body, "anomalies"),
        dict(dropped),
    )


DECODERS: dict[str, Callable[[Mapping[str, Any]], Message]] = {
    "observations": _observations,
    "topology": _topology,
    "reservation": _reservation,
    "forecasts": _forecasts,
    "anomaly": _anomaly,
    "status": _status,
}
