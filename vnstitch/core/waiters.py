"""Replies held until something settles: the one way a caller waits for ACTIVE or INSTALLED.

A northbound change (a reservation, a move, an intent) is answered when its subject leaves the
in-progress states or when the wait times out, whichever comes first; the reply is built at
that moment, so it shows the state then (202 while still installing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vnstitch.core.actions import Outbox, Reply, WakeAt

WAIT_S = 2.0  # how long a REST caller waits for the switches' confirmation


@dataclass
class _Waiter:
    ticket: int
    settled: Callable[[], bool]
    answer: Callable[[], Reply]
    deadline: float


class Waiters:
    """Pending replies, answered by :meth:`check` after every event."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._waiting: list[_Waiter] = []

    def reply_when(
        self,
        ticket: int,
        settled: Callable[[], bool],
        answer: Callable[[], Reply],
        mono: float,
        wait_s: float = WAIT_S,
    ) -> None:
        """Answer ``ticket`` with ``answer()`` once ``settled()`` or after ``wait_s``."""
        if settled():
            self._outbox.add(answer())
            return
        self._waiting.append(_Waiter(ticket, settled, answer, mono + wait_s))
        self._outbox.add(WakeAt(mono + wait_s))

    def check(self, mono: float) -> None:
        """Answer every waiter whose subject settled or whose time is up."""
        still: list[_Waiter] = []
        for waiter in self._waiting:
            if waiter.settled() or mono >= waiter.deadline:
                self._outbox.add(waiter.answer())
            else:
                still.append(waiter)
        self._waiting = still

    def __len__(self) -> int:
        return len(self._waiting)
