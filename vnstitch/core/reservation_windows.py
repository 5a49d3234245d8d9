"""``POST /v1/reservations/availability``: the body checked, the earliest window, the reply.

The body is a reservation request (``src``, ``dst``, ``bandwidth_mbps`` and the usual
constraints) plus ``duration_s`` and an optional search range ``after``/``before`` (RFC 3339;
default: from now, for a week; at most a year from ``after`` is searched).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from vnstitch.clock import Instant, rfc3339
from vnstitch.core.actions import Reply
from vnstitch.stitcher.request_body import parse_request, shown
from vnstitch.stitcher.reservation import RequestError
from vnstitch.stitcher.stitch_service import Refusal

if TYPE_CHECKING:
    from vnstitch.core.scheduling import Scheduling

DEFAULT_RANGE_S = 7 * 86400.0
MAX_RANGE_S = 366 * 86400.0
SEARCH_FIELDS = ("duration_s", "after", "before")


def _duration(body: dict[str, Any]) -> float:
    value = body.get("duration_s")
    try:
        number = 0.0
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or not 1 <= number <= MAX_RANGE_S:
        raise RequestError(
            f"duration_s must be a number of seconds in [1, {MAX_RANGE_S:g}], got {shown(value)}",
            "duration_s",
        )
    return number


def parse_search(body: Any, now: float) -> tuple[Any, float, float, float]:
    """(request, duration, after, before) of an availability body; RequestError if bad."""
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object", None)
    duration = _duration(body)
    request_body = {k: v for k, v in body.items() if k not in SEARCH_FIELDS}
    request_body["start"], request_body["end"] = body.get("after"), body.get("before")
    window = parse_request(request_body)
    after = now if window.start is None else max(now, window.start)
    before = after + DEFAULT_RANGE_S if window.end is None else window.end
    before = min(before, after + MAX_RANGE_S)  # at most a year is searched
    request = parse_request({k: v for k, v in request_body.items() if k not in ("start", "end")})
    return request, duration, after, before


def availability_reply(scheduling: Scheduling, ticket: int, body: Any, at: Instant) -> Reply:
    """200 with the earliest window and its path, 409 when none fits, 400 for a bad body."""
    try:
        request, duration, after, before = parse_search(body, at.wall)
    except RequestError as exc:
        field = {"start": "after", "end": "before"}.get(exc.field or "", exc.field)
        return Reply(ticket, 400, {"error": str(exc), "field": field})
    found = scheduling.availability(request, duration, after, before)
    if isinstance(found, Refusal):
        return Reply(ticket, 409, {"error": found.reason, "field": None, **found.to_dict()})
    plan = found.plan
    return Reply(
        ticket,
        200,
        {
            "start": rfc3339(found.start),
            "end": rfc3339(found.end),
            "path": [f"{d:016x}" for d in plan.path],
            "reverse_path": [f"{d:016x}" for d in plan.reverse_path],
            "latency_ms": None if plan.latency_ms is None else round(plan.latency_ms, 3),
            "bandwidth_mbps": request.bandwidth_mbps,
        },
    )
