"""Parse and validate a ``POST /v1/reservations`` JSON body into a ReservationRequest.

A ``PATCH`` body is checked on its own first (:func:`check_patch`), then merged into the
reservation's request and parsed like a new one.
"""

from __future__ import annotations

import math
from typing import Any

from vnstitch.clock import TimeFormatError, parse_rfc3339, rfc3339
from vnstitch.stitcher.reservation import Origin, RequestError, ReservationRequest

FIELDS = {
    "src",
    "dst",
    "bandwidth_mbps",
    "max_latency_ms",
    "zones",
    "avoid_zones",
    "bidirectional",
    "ip_proto",
    "dst_port",
    "cpu",
    "memory_mb",
    "storage_gb",
    "prefer_latency",
    "protection",
}
# An advance reservation's window (``POST /v1/reservations`` only; intents have none yet).
WINDOW_FIELDS = {"start", "end"}
# Amounts to book: in a change, null cannot mean "as before" or "none" without guessing.
AMOUNTS = ("bandwidth_mbps", "cpu", "memory_mb", "storage_gb")
SHOWN = 40  # characters of an offending value quoted back in an error
# Trimmed from the ends of a name, and a name of nothing else is blank: ASCII white space, the
# same set in every regex engine (Python's str.strip() would also take \x1c-\x1f, which the
# OpenAPI document's patterns, ECMA-262 regexes, do not see as space).
BLANK = " \t\n\r\f\v"


def trimmed(value: str) -> str:
    """``value`` without leading and trailing :data:`BLANK` characters."""
    return value.strip(BLANK)


def shown(value: Any) -> str:
    """``repr(value)``, cut to a few dozen characters: an error quotes a value, not a body."""
    text = repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


def _number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        ok = not isinstance(value, bool) and isinstance(value, int | float)
        number = float(value) if ok else math.nan
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise RequestError(f"{key} must be a finite number, got {shown(value)}", key)
    return number


def _zones(body: dict[str, Any], key: str) -> frozenset[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(z, str) and z for z in value):
        raise RequestError(f"{key} must be a list of zone names", key)
    return frozenset(value)


def _endpoint(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not trimmed(value):
        raise RequestError(f"{key} is required: a host name, IPv4 or MAC address", key)
    return trimmed(value)


def _int(body: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RequestError(f"{key} must be an integer in {low}..{high}, got {shown(value)}", key)
    return value


def _time(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        wall = parse_rfc3339(value)
        rfc3339(wall)  # shown in UTC: years 1-9999 there too
    except (TimeFormatError, ValueError, OverflowError):
        message = f"{key} must be an RFC 3339 date-time with a zone, got {shown(value)}"
        raise RequestError(message, key) from None
    return wall


def check_patch(body: Any) -> dict[str, Any]:
    """Validate a ``PATCH /v1/reservations/{id}`` body before it is merged; RequestError if bad.

    Only known fields; an absent field keeps its value. ``null`` clears a constraint
    (``max_latency_ms``, ``zones``, ``avoid_zones``, ``ip_proto``, ``dst_port``) but is refused
    for an amount: ``{"bandwidth_mbps": null}`` once silently became 0 Mbit/s; send 0 for that.
    """
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object", None)
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise RequestError(f"unknown field {shown(unknown[0])}", unknown[0])
    for key in AMOUNTS:
        if key in body and body[key] is None:
            raise RequestError(f"{key} cannot be null in a change: give a number (0: none)", key)
    return body


def parse_request(
    body: Any, origin: Origin = Origin.REQUEST, origin_ref: str | None = None
) -> ReservationRequest:
    """Validate a decoded JSON body; raises RequestError naming the bad field."""
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object", None)
    unknown = sorted(set(body) - FIELDS - WINDOW_FIELDS)
    if unknown:
        raise RequestError(f"unknown field {shown(unknown[0])}", unknown[0])
    bidirectional = body.get("bidirectional", True)
    if not isinstance(bidirectional, bool):
        raise RequestError("bidirectional must be true or false", "bidirectional")
    prefer_latency = body.get("prefer_latency", False)
    if not isinstance(prefer_latency, bool):
        raise RequestError("prefer_latency must be true or false", "prefer_latency")
    protection = body.get("protection", False)
    if not isinstance(protection, bool):
        raise RequestError("protection must be true or false", "protection")
    return ReservationRequest(
        src=_endpoint(body, "src"),
        dst=_endpoint(body, "dst"),
        bandwidth_mbps=_number(body, "bandwidth_mbps") or 0.0,
        max_latency_ms=_number(body, "max_latency_ms"),
        zones=_zones(body, "zones"),
        avoid_zones=_zones(body, "avoid_zones") or frozenset(),
        bidirectional=bidirectional,
        ip_proto=_int(body, "ip_proto", 0, 255),
        dst_port=_int(body, "dst_port", 1, 65535),
        origin=origin,
        origin_ref=origin_ref,
        cpu=_number(body, "cpu") or 0.0,
        memory_mb=_number(body, "memory_mb") or 0.0,
        storage_gb=_number(body, "storage_gb") or 0.0,
        prefer_latency=prefer_latency,
        protection=protection,
        start=_time(body, "start"),
        end=_time(body, "end"),
    )
