"""Parse and validate a ``POST /v1/intents`` JSON body into an intent spec."""

from __future__ import annotations

import math
from typing import Any, assert_never

from vnstitch.clock import rfc3339
from vnstitch.intents.specs import (
    ZONE_PREFIX,
    ConnectivitySpec,
    Group,
    IntentKind,
    IntentSpec,
    IsolationSpec,
    LowLatencySpec,
    ZoneRef,
)
from vnstitch.resources.recurrence import Recurrence, RecurrenceError, parse_recurrence
from vnstitch.stitcher.request_body import FIELDS as REQUEST_FIELDS
from vnstitch.stitcher.request_body import WINDOW_FIELDS, parse_request, shown, trimmed
from vnstitch.stitcher.reservation import RequestError

PROTOCOLS = ("tcp", "udp")
KIND_FIELDS: dict[IntentKind, frozenset[str]] = {
    IntentKind.CONNECTIVITY: frozenset(REQUEST_FIELDS | WINDOW_FIELDS | {"kind", "recurrence"}),
    IntentKind.LOW_LATENCY: frozenset(
        {"kind", "app", "endpoints", "ports", "protocols", "max_latency_ms"}
    ),
    IntentKind.ISOLATION: frozenset({"kind", "a", "b"}),
}


class IntentError(ValueError):
    """An intent body is invalid; ``field`` names the offending field (None: the whole body)."""

    def __init__(self, message: str, field_name: str | None = None) -> None:
        super().__init__(message)
        self.field = field_name

    def to_dict(self) -> dict[str, str | None]:
        """The JSON error body of a 400 answer."""
        return {"error": str(self), "field": self.field}


def parse_intent(body: Any) -> IntentSpec:
    """Validate a decoded JSON body; raises IntentError naming the bad field."""
    if not isinstance(body, dict) or not all(isinstance(k, str) for k in body):
        raise IntentError("the body must be a JSON object", None)
    kind = _kind(body.get("kind"))
    unknown = sorted(set(body) - KIND_FIELDS[kind])
    if unknown:
        raise IntentError(f"unknown field {shown(unknown[0])} for kind {kind.value!r}", unknown[0])
    match kind:
        case IntentKind.CONNECTIVITY:
            return _connectivity(body)
        case IntentKind.LOW_LATENCY:
            return _low_latency(body)
        case IntentKind.ISOLATION:
            return _isolation(body)
        case _:
            assert_never(kind)


def _kind(value: Any) -> IntentKind:
    kinds = ", ".join(k.value for k in IntentKind)
    if not isinstance(value, str) or value not in {k.value for k in IntentKind}:
        raise IntentError(f"kind must be one of {kinds}; got {shown(value)}", "kind")
    return IntentKind(value)


def _number(body: dict[str, Any], key: str, positive: bool) -> float | None:
    """An optional finite number (> 0 if ``positive``, else >= 0)."""
    value = body.get(key)
    if value is None:
        return None
    bound = "> 0" if positive else ">= 0"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IntentError(f"{key} must be a number {bound}, got {shown(value)}", key)
    try:
        number = float(value)
    except OverflowError:
        raise IntentError(f"{key} is too large", key) from None
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise IntentError(f"{key} must be a number {bound}, got {shown(value)}", key)
    return number


def _connectivity(body: dict[str, Any]) -> ConnectivitySpec:
    """The whole reservation request, parsed and validated by the stitcher's own parser;
    a window (``start``/``end``) or a ``recurrence``, never both."""
    try:
        request = parse_request({k: v for k, v in body.items() if k not in ("kind", "recurrence")})
    except RequestError as exc:
        raise IntentError(str(exc), exc.field) from None
    if request.start is not None and request.end is not None and request.end <= request.start:
        raise IntentError("end must come after start", "end")
    return ConnectivitySpec.from_request(request, _recurrence(body, request.windowed))


def _recurrence(body: dict[str, Any], windowed: bool) -> Recurrence | None:
    if body.get("recurrence") is None:
        return None
    if windowed:
        raise IntentError("give either start/end or recurrence, not both", "recurrence")
    try:
        recurrence = parse_recurrence(body["recurrence"])
    except RecurrenceError as exc:
        raise IntentError(str(exc), exc.field) from None
    if recurrence.end < recurrence.start:
        raise IntentError(
            "end must come after start (a window across midnight is not supported)",
            "recurrence.end",
        )
    return recurrence


def check_window(spec: IntentSpec, now: float) -> None:
    """At submission: a window must not be over, a recurrence must have an occurrence left.

    Not part of :func:`parse_intent`: a stored intent whose window has passed still parses.
    """
    if not isinstance(spec, ConnectivitySpec):
        return
    if spec.end is not None and spec.end <= now:
        raise IntentError(f"end {rfc3339(spec.end)} has already passed", "end")
    recurrence = spec.recurrence
    if recurrence is not None and recurrence.next_window(now) is None:
        raise IntentError(
            f"until {recurrence.until.isoformat()} leaves no occurrence from now on",
            "recurrence.until",
        )


def parse_group(value: Any, key: str) -> Group:
    """A group: a non-empty list of endpoints (duplicates dropped) or ``"zone:NAME"``."""
    if isinstance(value, str):
        zone = trimmed(value.removeprefix(ZONE_PREFIX))
        if value.startswith(ZONE_PREFIX) and zone:
            return ZoneRef(zone)
        raise IntentError(
            f'{key} must be a list of endpoints or "zone:NAME", got {shown(value)}', key
        )
    if not isinstance(value, list):
        raise IntentError(
            f'{key} must be a list of endpoints or "zone:NAME", got {shown(value)}', key
        )
    if not value:
        raise IntentError(f"{key} must name at least one endpoint", key)
    members: list[str] = []
    for i, item in enumerate(value):
        where = f"{key}[{i}]"
        if not isinstance(item, str) or not trimmed(item):
            raise IntentError(f"{where} must be a host name, IPv4 or MAC address", where)
        if item.startswith(ZONE_PREFIX):
            raise IntentError(f"{where}: write a zone as the whole group, {shown(item)}", where)
        members.append(trimmed(item))
    return tuple(dict.fromkeys(members))


def _ports(value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise IntentError(f"ports must be a list of port numbers, got {shown(value)}", "ports")
    for i, port in enumerate(value):
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise IntentError(
                f"ports[{i}] must be an integer in 1..65535, got {shown(port)}", "ports"
            )
    return tuple(dict.fromkeys(value))


def _protocols(value: Any, ports: tuple[int, ...]) -> tuple[str, ...]:
    if value is None:
        return PROTOCOLS
    if not ports:
        raise IntentError("protocols applies only to ports; give ports as well", "protocols")
    if not isinstance(value, list) or not value or not all(p in PROTOCOLS for p in value):
        raise IntentError(
            f'protocols must be a non-empty list of "tcp"/"udp", got {shown(value)}', "protocols"
        )
    return tuple(p for p in PROTOCOLS if p in value)


def _low_latency(body: dict[str, Any]) -> LowLatencySpec:
    endpoints = parse_group(body.get("endpoints"), "endpoints")
    if isinstance(endpoints, tuple) and len(endpoints) < 2:
        raise IntentError("endpoints must name at least two different endpoints", "endpoints")
    app = body.get("app")
    if app is not None and (not isinstance(app, str) or not trimmed(app)):
        raise IntentError(f"app must be a non-empty name, got {shown(app)}", "app")
    ports = _ports(body.get("ports"))
    return LowLatencySpec(
        endpoints=endpoints,
        app=None if app is None else trimmed(app),
        ports=ports,
        max_latency_ms=_number(body, "max_latency_ms", positive=True),
        protocols=_protocols(body.get("protocols"), ports),
    )


def _isolation(body: dict[str, Any]) -> IsolationSpec:
    a = parse_group(body.get("a"), "a")
    b = parse_group(body.get("b"), "b")
    if isinstance(a, tuple) and isinstance(b, tuple):
        both = [e for e in b if e in a]
        if both:
            raise IntentError(
                f"{both[0]} is in both a and b; a host cannot be cut off from itself", "b"
            )
    if a == b:
        raise IntentError("a and b are the same group", "b")
    return IsolationSpec(a=a, b=b)
