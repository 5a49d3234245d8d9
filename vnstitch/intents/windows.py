"""Windowed connectivity intents: which window to book now, and the booker that books it.

An intent with ``start``/``end`` books one window; one with a ``recurrence`` books its next
occurrence, and when that ends the one after (one occurrence booked at a time). The booking
itself is the advance-reservation machinery's (:class:`WindowBooker`, implemented by the
core's ``Scheduling``): the intent's reservation is SCHEDULED, installed at the lead time and
ENDED at the end like any windowed reservation.
"""

from __future__ import annotations

import math
from typing import Protocol

from vnstitch.intents.specs import ConnectivitySpec, IntentSpec
from vnstitch.resources.timeline import Window
from vnstitch.stitcher.install_jobs import Job
from vnstitch.stitcher.reservation import Reservation, ReservationRequest
from vnstitch.stitcher.stitch_service import Refusal

ENDED_REASON = "its window ended"
LAST_ENDED_REASON = "its last occurrence ended"


class WindowBooker(Protocol):
    """Books and releases windowed reservations (the core's advance-reservation part)."""

    def book_window(self, request: ReservationRequest, now: float) -> Reservation | Refusal:
        """SCHEDULED and durable, or refused (nothing changed)."""
        ...

    def release_window(self, res_id: int, now: float, reason: str | None) -> Job | None:
        """Withdraw a windowed reservation early (its rules, if installed, go)."""
        ...


def windowed(spec: IntentSpec) -> ConnectivitySpec | None:
    """The spec if it is a windowed (or recurring) connectivity spec, else None."""
    return spec if isinstance(spec, ConnectivitySpec) and spec.windowed else None


def occurrence(spec: ConnectivitySpec, now: float) -> Window | None:
    """The window to book at ``now``: the spec's own, or the recurrence's first occurrence
    not yet ended; None when it is all over."""
    if spec.recurrence is not None:
        return spec.recurrence.next_window(now)
    end = math.inf if spec.end is None else spec.end
    if end <= now:
        return None
    start = now if spec.start is None else spec.start
    return Window(min(start, end - 1e-3), end)


def over_reason(spec: ConnectivitySpec) -> str:
    """Why a windowed intent is ENDED."""
    return ENDED_REASON if spec.recurrence is None else LAST_ENDED_REASON
