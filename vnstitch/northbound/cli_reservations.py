"""``vnstitch reservations [add|availability]``: list, book (now or for a window), find a window.

Times are RFC 3339 (``2026-12-01T01:00:00Z``, ``...+01:00``) or relative to now (``+90s``,
``+10m``, ``+2h``, ``+1d``); durations are ``90s``, ``10m``, ``2h`` or seconds.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from typing import Any

from vnstitch.clock import TimeFormatError, parse_rfc3339, rfc3339
from vnstitch.northbound import tables

_SPAN = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_SCALE = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class TimeArgumentError(ValueError):
    """A time or duration on the command line that cannot be read."""


def duration_s(text: str) -> float:
    """``90s``, ``10m``, ``2h``, ``1d`` or plain seconds."""
    found = _SPAN.match(text.strip())
    if found is None or float(found.group(1)) <= 0:
        raise TimeArgumentError(f"{text!r} is not a duration such as 90s, 10m, 2h or 1d")
    return float(found.group(1)) * _SCALE[found.group(2)]


def moment(text: str, now: float) -> str:
    """An RFC 3339 time, or ``+<duration>`` from ``now``, as RFC 3339 UTC."""
    if text.startswith("+"):
        return rfc3339(now + duration_s(text[1:]))
    try:
        return rfc3339(parse_rfc3339(text))
    except TimeFormatError:
        raise TimeArgumentError(
            f"{text!r} is not an RFC 3339 time (2026-12-01T01:00:00Z) nor +10m from now"
        ) from None


def _request_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"src": args.src, "dst": args.dst, "bandwidth_mbps": args.bandwidth}
    if args.ip_proto is not None:
        body["ip_proto"] = args.ip_proto
    if args.dst_port is not None:
        body["dst_port"] = args.dst_port
    return body


def add_body(args: argparse.Namespace, now: float) -> dict[str, Any]:
    """The ``POST /v1/reservations`` body of ``reservations add``."""
    body = _request_body(args)
    if args.start is not None:
        body["start"] = moment(args.start, now)
    if args.end is not None:
        body["end"] = moment(args.end, now)
    return body


def availability_body(args: argparse.Namespace, now: float) -> dict[str, Any]:
    """The ``POST /v1/reservations/availability`` body of ``reservations availability``."""
    body = _request_body(args)
    body["duration_s"] = duration_s(args.duration)
    if args.after is not None:
        body["after"] = moment(args.after, now)
    if args.before is not None:
        body["before"] = moment(args.before, now)
    return body


def availability_text(doc: Any) -> str:
    """``earliest window: START .. END`` and the path."""
    path = " > ".join(tables.short_dpid(d) for d in doc.get("path") or []) or "-"
    return f"earliest window: {doc.get('start')} .. {doc.get('end')}\npath: {path}"


def reservation_text(doc: Any) -> str:
    """One booked reservation: the table row and its window."""
    window = ""
    if doc.get("start") or doc.get("end"):
        window = f"\nwindow: {doc.get('start') or 'now'} .. {doc.get('end') or 'open-ended'}"
        window += f" (installed from {doc.get('install_at')})" if doc.get("install_at") else ""
    return tables.reservations_text([doc]) + window


Runner = Callable[[argparse.Namespace], int]


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    list_all: Runner,
    add: Runner,
    availability: Runner,
) -> None:
    """``reservations`` (list), ``reservations add``, ``reservations availability``."""
    parser = subparsers.add_parser(
        "reservations", parents=[common], help="list, book or find a window for reservations"
    )
    parser.set_defaults(func=list_all)
    verbs = parser.add_subparsers(dest="reservations_command", required=False)
    for name, func, text in (
        ("add", add, "book a reservation, now or for a window (--start/--end)"),
        ("availability", availability, "the earliest window that fits, and its path"),
    ):
        verb = verbs.add_parser(name, parents=[common], help=text)
        verb.add_argument("src", help="source host: name, IPv4 or MAC")
        verb.add_argument("dst", help="destination host: name, IPv4 or MAC")
        verb.add_argument("--bandwidth", "-b", type=float, required=True, help="Mbit/s")
        verb.add_argument("--ip-proto", type=int, help="IP protocol to match (6 TCP, 17 UDP)")
        verb.add_argument("--dst-port", type=int, help="L4 destination port to match")
        if name == "add":
            verb.add_argument("--start", help="RFC 3339 or +10m (default: now)")
            verb.add_argument("--end", help="RFC 3339 or +2h (default: open-ended)")
        else:
            verb.add_argument("--duration", "-d", required=True, help="e.g. 2h, 30m, 90s")
            verb.add_argument("--after", help="earliest start: RFC 3339 or +1h (default: now)")
            verb.add_argument("--before", help="end by: RFC 3339 or +2d (default: a week on)")
        verb.set_defaults(func=func)


def now() -> float:
    """The wall clock (the CLI is not the core: it may read it)."""
    return time.time()
