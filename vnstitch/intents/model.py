"""The intent: its spec, where it is in its lifecycle, and its REST and storage forms.

Times are wall-clock seconds since the epoch inside; users see them as RFC 3339 UTC strings
(REST and the store alike), at millisecond precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypedDict

from vnstitch.clock import parse_rfc3339, rfc3339
from vnstitch.intents.parse import parse_intent
from vnstitch.intents.specs import (
    ConnectivitySpec,
    IntentKind,
    IntentSpec,
    IsolationSpec,
    LowLatencySpec,
    ZoneRef,
)
from vnstitch.resources.timeline import Window

__all__ = [  # the specs are re-exported: callers find every part of an intent here
    "HISTORY_LIMIT",
    "INTENT_ID_PREFIX",
    "ConnectivitySpec",
    "HistoryEntry",
    "Intent",
    "IntentHistoryRecord",
    "IntentKind",
    "IntentRecord",
    "IntentSpec",
    "IntentState",
    "IsolationSpec",
    "LowLatencySpec",
    "ZoneRef",
    "intent_id",
    "intent_number",
]

INTENT_ID_PREFIX = "intent-"
HISTORY_LIMIT = 20


class IntentState(StrEnum):
    """SUBMITTED -> COMPILING -> INSTALLING -> INSTALLED, or FAILED; WITHDRAWING -> WITHDRAWN.

    A windowed intent waits SCHEDULED for its window (INSTALLING at its install time) and is
    ENDED, final, when its last window is over.
    """

    SUBMITTED = "SUBMITTED"
    COMPILING = "COMPILING"
    SCHEDULED = "SCHEDULED"
    INSTALLING = "INSTALLING"
    INSTALLED = "INSTALLED"
    FAILED = "FAILED"
    ENDED = "ENDED"
    WITHDRAWING = "WITHDRAWING"
    WITHDRAWN = "WITHDRAWN"


class IntentHistoryRecord(TypedDict):
    """One state change of an intent: when (RFC 3339), to which state, and why."""

    time: str
    state: str
    reason: str | None


@dataclass(frozen=True)
class HistoryEntry:
    """One state change: when, to which state, and why."""

    time: float
    state: IntentState
    reason: str | None = None

    def to_dict(self) -> IntentHistoryRecord:
        """JSON form (REST and storage alike), ``time`` in RFC 3339."""
        return {"time": rfc3339(self.time), "state": self.state.value, "reason": self.reason}

    @staticmethod
    def from_dict(entry: IntentHistoryRecord) -> HistoryEntry:
        """Rebuild an entry from :meth:`to_dict`; TimeFormatError if ``time`` is not RFC 3339."""
        return HistoryEntry(
            parse_rfc3339(entry["time"]), IntentState(entry["state"]), entry["reason"]
        )


class IntentRecord(TypedDict):
    """The storage form of an intent (one row of the store's ``intents`` table).

    ``created_at``, ``updated_at`` and each history entry's ``time`` are RFC 3339 UTC strings.
    """

    id: str
    kind: str
    body: dict[str, Any]
    state: str
    reason: str | None
    created_at: str
    updated_at: str
    reservation_ids: list[int]
    history: list[IntentHistoryRecord]


def intent_id(number: int) -> str:
    """The id of the intent numbered ``number`` (``"intent-<n>"``)."""
    if number < 1:
        raise ValueError(f"intent numbers start at 1, got {number}")
    return f"{INTENT_ID_PREFIX}{number}"


def intent_number(ident: str) -> int:
    """The number in an intent id; ValueError if ``ident`` is not ``"intent-<n>"``."""
    digits = ident.removeprefix(INTENT_ID_PREFIX)
    if digits == ident or not digits.isdecimal() or int(digits) < 1 or digits[0] == "0":
        raise ValueError(f"not an intent id: {ident!r}")
    return int(digits)


@dataclass(frozen=True)
class Intent:
    """A submitted intent: its spec, where it is in its lifecycle, what it holds."""

    id: str
    spec: IntentSpec
    state: IntentState = IntentState.SUBMITTED
    reason: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    reservation_ids: tuple[int, ...] = ()
    history: tuple[HistoryEntry, ...] = field(default_factory=tuple)
    occurrence: Window | None = None  # a windowed one: the window booked (or last tried)

    @property
    def kind(self) -> IntentKind:
        """The kind of the spec."""
        return self.spec.kind

    @property
    def number(self) -> int:
        """The numeric part of the id (the cookie owner of the intent's rules)."""
        return intent_number(self.id)

    def to_dict(self) -> dict[str, Any]:
        """The REST representation (times in RFC 3339 UTC)."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "state": self.state.value,
            "reason": self.reason,
            "spec": self.spec.to_body(),
            "reservations": [str(r) for r in self.reservation_ids],
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
            "history": [h.to_dict() for h in self.history],
            "window": self._window(),
            "next_occurrence": self._next_occurrence(),
        }

    def _window(self) -> dict[str, str | None] | None:
        """The window booked (a recurring one: the occurrence booked), or None."""
        spec = self.spec
        if not isinstance(spec, ConnectivitySpec) or not spec.windowed:
            return None
        window = self.occurrence
        if window is None and spec.recurrence is None:
            start = self.created_at if spec.start is None else spec.start
            window = Window(start, math.inf if spec.end is None else spec.end)
        if window is None:
            return None
        end = None if math.isinf(window.end) else rfc3339(window.end)
        return {"start": rfc3339(window.start), "end": end}

    def _next_occurrence(self) -> str | None:
        """The start of the first occurrence not yet installed (RFC 3339), if any."""
        spec, window = self.spec, self.occurrence
        if not isinstance(spec, ConnectivitySpec) or spec.recurrence is None or window is None:
            return None
        if self.state in (IntentState.SCHEDULED, IntentState.FAILED, IntentState.COMPILING):
            return rfc3339(window.start)
        if self.state not in (IntentState.INSTALLING, IntentState.INSTALLED):
            return None
        following = spec.recurrence.next_window(window.end)
        return None if following is None else rfc3339(following.start)

    def to_record(self) -> IntentRecord:
        """The storage form; ``Intent.from_record`` restores an equal intent (times to the ms)."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "body": self.spec.to_body(),
            "state": self.state.value,
            "reason": self.reason,
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
            "reservation_ids": list(self.reservation_ids),
            "history": [h.to_dict() for h in self.history],
        }

    @staticmethod
    def from_record(record: IntentRecord) -> Intent:
        """Rebuild an intent from its storage form.

        IntentError if the body is invalid, TimeFormatError if a time is not RFC 3339.
        """
        return Intent(
            id=record["id"],
            spec=parse_intent(record["body"]),
            state=IntentState(record["state"]),
            reason=record["reason"],
            created_at=parse_rfc3339(record["created_at"]),
            updated_at=parse_rfc3339(record["updated_at"]),
            reservation_ids=tuple(record["reservation_ids"]),
            history=tuple(HistoryEntry.from_dict(h) for h in record["history"]),
        )
