"""Intent lifecycle: the allowed transitions, each recorded in the intent's history."""

from __future__ import annotations

from dataclasses import replace

from vnstitch.intents.model import HISTORY_LIMIT, HistoryEntry, Intent, IntentState, intent_id
from vnstitch.intents.specs import IntentSpec

S = IntentState

TRANSITIONS: dict[IntentState, frozenset[IntentState]] = {
    S.SUBMITTED: frozenset({S.COMPILING, S.WITHDRAWING}),
    S.COMPILING: frozenset({S.INSTALLING, S.FAILED, S.ENDED, S.WITHDRAWING}),
    S.SCHEDULED: frozenset({S.INSTALLING, S.FAILED, S.COMPILING, S.ENDED, S.WITHDRAWING}),
    S.INSTALLING: frozenset(
        {S.SCHEDULED, S.INSTALLED, S.FAILED, S.COMPILING, S.ENDED, S.WITHDRAWING}
    ),
    S.INSTALLED: frozenset({S.COMPILING, S.FAILED, S.ENDED, S.WITHDRAWING}),
    S.FAILED: frozenset({S.COMPILING, S.INSTALLING, S.ENDED, S.WITHDRAWING}),
    S.ENDED: frozenset(),  # a windowed intent's last window is over (final, holds nothing)
    S.WITHDRAWING: frozenset({S.WITHDRAWN}),
    S.WITHDRAWN: frozenset(),
}

RESTORED_REASON = "restored after a controller restart"


def can_advance(current: IntentState, new_state: IntentState) -> bool:
    """True if an intent in ``current`` may move to ``new_state``."""
    return new_state in TRANSITIONS[current]


def is_live(intent: Intent) -> bool:
    """True unless the intent is being or has been withdrawn, or its last window ended."""
    return intent.state not in (S.WITHDRAWING, S.WITHDRAWN, S.ENDED)


def _moved(intent: Intent, state: IntentState, now: float, reason: str | None) -> Intent:
    entry = HistoryEntry(now, state, reason)
    history = (*intent.history, entry)[-HISTORY_LIMIT:]
    return replace(intent, state=state, reason=reason, updated_at=now, history=history)


def new_intent(number: int, spec: IntentSpec, now: float) -> Intent:
    """A freshly submitted intent numbered ``number``."""
    first = HistoryEntry(now, S.SUBMITTED, None)
    return Intent(intent_id(number), spec, S.SUBMITTED, None, now, now, (), (first,))


def advance(
    intent: Intent, new_state: IntentState, now: float, reason: str | None = None
) -> Intent:
    """The intent moved to ``new_state``; ValueError if the lifecycle does not allow it."""
    if not can_advance(intent.state, new_state):
        raise ValueError(f"{intent.id}: {intent.state.value} cannot become {new_state.value}")
    if new_state is S.FAILED and not reason:
        raise ValueError(f"{intent.id}: FAILED needs a reason")
    return _moved(intent, new_state, now, reason)


def with_reservations(intent: Intent, reservation_ids: tuple[int, ...], now: float) -> Intent:
    """The intent now holding ``reservation_ids`` (its state unchanged)."""
    return replace(intent, reservation_ids=tuple(reservation_ids), updated_at=now)


def recover(intent: Intent, now: float, reservations_kept: bool = False) -> Intent:
    """The intent as restored from the store; withdrawals go on.

    With ``reservations_kept`` (every reservation it held was restored too) an installed
    intent waits INSTALLING for them to be confirmed again; other live ones compile again.
    """
    if intent.state in (S.WITHDRAWING, S.WITHDRAWN, S.ENDED):
        return intent
    kept = (S.INSTALLED, S.INSTALLING, S.SCHEDULED)
    if reservations_kept and intent.reservation_ids and intent.state in kept:
        return _moved(intent, S.INSTALLING, now, RESTORED_REASON)
    return _moved(intent, S.COMPILING, now, RESTORED_REASON)
