"""Times as users see them: wall-clock UTC in RFC 3339; monotonic time never leaves the process.

The core reads no clock. Every event it handles carries an :class:`Instant`: ``wall`` (seconds
since the epoch, what timestamps users see are made of) and ``mono`` (a monotonic reading, for
timeouts, expiry and round-trip measurements that must not jump when the wall clock is set).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Instant:
    """One reading of both clocks, taken by the adapter when an event arrived."""

    wall: float
    mono: float


def rfc3339(wall: float) -> str:
    """``2026-11-29T21:17:35.123Z``: UTC, millisecond precision."""
    stamp = datetime.fromtimestamp(wall, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def rfc3339_or_none(wall: float | None) -> str | None:
    """:func:`rfc3339`, passing None through (a time that has not happened yet)."""
    return None if wall is None else rfc3339(wall)


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


class TimeFormatError(ValueError):
    """A text that is not an RFC 3339 date-time with a time zone."""


def parse_rfc3339(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 date-time (``Z`` or an explicit offset)."""
    if not isinstance(text, str) or not _RFC3339.match(text):
        raise TimeFormatError(
            f"{text!r} is not an RFC 3339 date-time with a zone, e.g. 2026-11-29T21:17:35Z"
        )
    normalised = text[:-1] + "+00:00" if text[-1] in "Zz" else text
    return datetime.fromisoformat(normalised).timestamp()
