"""Recurring windows: e.g. weekdays 09:00-10:00 in Europe/Berlin until a date.

Local wall times in a named IANA zone (``zoneinfo``) become UTC windows occurrence by
occurrence, so a daylight-saving change moves the UTC window and never the local one. A local
start that does not exist (skipped by a spring-forward) moves forward by the gap; an ambiguous
one (repeated by a fall-back) takes its first occurrence (``fold=0``). An occurrence whose end
would not come after its start is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vnstitch.resources.timeline import Window

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS = frozenset(range(5))
MAX_OCCURRENCES = 1000  # a recurrence books at most this many windows


class RecurrenceError(ValueError):
    """A recurrence that cannot be understood; ``field`` names the offending field."""

    def __init__(self, message: str, field_name: str) -> None:
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class Recurrence:
    """Every ``days`` (0 = Monday) from ``start`` to ``end`` local time in ``zone``, up to
    ``until`` (a local date, inclusive)."""

    days: frozenset[int]
    start: time
    end: time
    zone: str
    until: date

    def windows(self, after: float, limit: int = MAX_OCCURRENCES) -> Iterator[Window]:
        """The occurrences that have not ended at ``after`` (wall seconds), in order."""
        tz = ZoneInfo(self.zone)
        day = datetime.fromtimestamp(after, tz).date() - timedelta(days=1)
        count = 0
        while day <= self.until and count < limit:
            if day.weekday() in self.days:
                window = self._on(day, tz)
                if window is not None and window.end > after:
                    count += 1
                    yield window
            day += timedelta(days=1)

    def next_window(self, after: float) -> Window | None:
        """The first occurrence not ended at ``after``, if any."""
        return next(self.windows(after, 1), None)

    def _on(self, day: date, tz: ZoneInfo) -> Window | None:
        begin = _instant(datetime.combine(day, self.start, tz))
        end_day = day if self.end > self.start else day + timedelta(days=1)
        finish = _instant(datetime.combine(end_day, self.end, tz))
        return Window(begin, finish) if finish > begin else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (as accepted by :func:`parse_recurrence`)."""
        return {
            "days": [DAYS[d] for d in sorted(self.days)],
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "time_zone": self.zone,
            "until": self.until.isoformat(),
        }


def _instant(local: datetime) -> float:
    """Seconds since the epoch of a local time; a skipped local time moves on by the gap."""
    stamp = local.timestamp()
    back = datetime.fromtimestamp(stamp, local.tzinfo)
    if back.replace(tzinfo=None) != local.replace(tzinfo=None):  # in a spring-forward gap
        later = local.replace(fold=1).timestamp()
        return max(stamp, later)
    return stamp


def _clock(body: dict[str, Any], key: str, field_name: str) -> time:
    value = body.get(key)
    try:
        if not isinstance(value, str) or len(value) != 5:
            raise ValueError
        return time.fromisoformat(value)
    except ValueError:
        message = f"{key} must be a local time HH:MM, got {value!r}"
        raise RecurrenceError(message, f"{field_name}.{key}") from None


def parse_recurrence(body: Any, field_name: str = "recurrence") -> Recurrence:
    """``{"days": ["mon", ...] | "weekdays", "start": "09:00", "end": "10:00",
    "time_zone": "Europe/Berlin", "until": "2027-03-31"}`` (RecurrenceError naming the field)."""
    if not isinstance(body, dict):
        raise RecurrenceError(f"{field_name} must be an object", field_name)
    known = {"days", "start", "end", "time_zone", "until"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise RecurrenceError(f"unknown field {unknown[0]!r}", f"{field_name}.{unknown[0]}")
    raw_days = body.get("days", "weekdays")
    if raw_days == "weekdays":
        days = WEEKDAYS
    elif (
        isinstance(raw_days, list)
        and raw_days
        and all(isinstance(d, str) and d.lower() in DAYS for d in raw_days)
    ):
        days = frozenset(DAYS.index(d.lower()) for d in raw_days)
    else:
        raise RecurrenceError(
            'days must be "weekdays" or a list of mon, tue, wed, thu, fri, sat, sun',
            f"{field_name}.days",
        )
    start, end = _clock(body, "start", field_name), _clock(body, "end", field_name)
    if start == end:
        raise RecurrenceError("end must differ from start", f"{field_name}.end")
    zone = body.get("time_zone")
    try:
        if not isinstance(zone, str) or not zone:
            raise ValueError
        ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        raise RecurrenceError(
            f"time_zone must be an IANA zone name such as Europe/Berlin, got {zone!r}",
            f"{field_name}.time_zone",
        ) from None
    until = body.get("until")
    try:
        if not isinstance(until, str):
            raise ValueError
        last = date.fromisoformat(until)
    except ValueError:
        raise RecurrenceError(
            f"until must be a date YYYY-MM-DD, got {until!r}", f"{field_name}.until"
        ) from None
    return Recurrence(days, start, end, zone, last)
