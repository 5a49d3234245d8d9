"""The intent lifecycle: allowed transitions only, each recorded with its time and reason."""

from __future__ import annotations

import pytest

from vnstitch.intents.lifecycle import (
    RESTORED_REASON,
    TRANSITIONS,
    advance,
    can_advance,
    is_live,
    new_intent,
    recover,
    with_reservations,
)
from vnstitch.intents.model import ConnectivitySpec, Intent, IntentState

S = IntentState
SPEC = ConnectivitySpec("h1", "h2")


def _walk(*states: IntentState) -> Intent:
    intent = new_intent(3, SPEC, 0.0)
    for t, state in enumerate(states, start=1):
        intent = advance(intent, state, float(t), "why" if state is S.FAILED else None)
    return intent


def test_a_new_intent_is_submitted_at_its_creation_time() -> None:
    intent = new_intent(3, SPEC, 5.0)
    assert (intent.id, intent.state, intent.created_at, intent.updated_at) == (
        "intent-3",
        S.SUBMITTED,
        5.0,
        5.0,
    )
    assert [h.state for h in intent.history] == [S.SUBMITTED]


def test_the_happy_path_and_withdrawal_are_recorded() -> None:
    intent = _walk(S.COMPILING, S.INSTALLING, S.INSTALLED, S.WITHDRAWING, S.WITHDRAWN)
    assert intent.state is S.WITHDRAWN and intent.updated_at == 5.0
    assert [h.state for h in intent.history] == [
        S.SUBMITTED,
        S.COMPILING,
        S.INSTALLING,
        S.INSTALLED,
        S.WITHDRAWING,
        S.WITHDRAWN,
    ]
    assert not is_live(intent)


def test_a_failed_intent_keeps_its_reason_and_is_retried() -> None:
    failed = advance(_walk(S.COMPILING), S.FAILED, 2.0, "unknown endpoint 'h2'")
    assert failed.reason == "unknown endpoint 'h2'" and is_live(failed)
    retried = advance(failed, S.COMPILING, 3.0)
    assert retried.reason is None
    assert [(h.state, h.reason) for h in retried.history[-2:]] == [
        (S.FAILED, "unknown endpoint 'h2'"),
        (S.COMPILING, None),
    ]


def test_failed_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        advance(_walk(S.COMPILING), S.FAILED, 2.0)


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ((), S.INSTALLED),
        ((), S.FAILED),
        ((S.COMPILING,), S.INSTALLED),
        ((S.COMPILING, S.INSTALLING, S.INSTALLED), S.INSTALLING),
        ((S.WITHDRAWING,), S.COMPILING),
        ((S.WITHDRAWING, S.WITHDRAWN), S.COMPILING),
        ((S.WITHDRAWING, S.WITHDRAWN), S.WITHDRAWN),
    ],
)
def test_invalid_transitions_raise(path: tuple[IntentState, ...], bad: IntentState) -> None:
    intent = _walk(*path)
    assert not can_advance(intent.state, bad)
    with pytest.raises(ValueError, match=intent.id):
        advance(intent, bad, 99.0, "reason")


def test_every_state_can_be_withdrawn_except_after_withdrawal_starts_or_the_last_window() -> None:
    for state, allowed in TRANSITIONS.items():
        final = (S.WITHDRAWING, S.WITHDRAWN, S.ENDED)  # ENDED holds nothing: final
        assert (S.WITHDRAWING in allowed) is (state not in final)
    assert TRANSITIONS[S.ENDED] == frozenset()


def test_history_is_bounded() -> None:
    intent = _walk(S.COMPILING)
    for t in range(30):
        intent = advance(intent, S.FAILED, 10.0 + t, "no path")
        intent = advance(intent, S.COMPILING, 10.5 + t)
    assert len(intent.history) == 20
    assert intent.history[-1].time == 39.5


def test_reservations_change_without_a_transition() -> None:
    intent = with_reservations(_walk(S.COMPILING, S.INSTALLING), (4, 5), 7.0)
    assert intent.reservation_ids == (4, 5) and intent.state is S.INSTALLING
    assert intent.updated_at == 7.0


@pytest.mark.parametrize(
    "path",
    [
        (),
        (S.COMPILING,),
        (S.COMPILING, S.FAILED),
        (S.COMPILING, S.INSTALLING),
        (S.COMPILING, S.INSTALLING, S.INSTALLED),
    ],
)
def test_live_intents_compile_again_after_a_restart(path: tuple[IntentState, ...]) -> None:
    restored = recover(_walk(*path), 50.0)
    assert restored.state is S.COMPILING and restored.reason == RESTORED_REASON
    assert restored.updated_at == 50.0 and restored.history[-1].time == 50.0
    assert advance(restored, S.INSTALLING, 51.0).state is S.INSTALLING


def test_withdrawals_are_not_revived_by_a_restart() -> None:
    withdrawing = _walk(S.WITHDRAWING)
    assert recover(withdrawing, 50.0) == withdrawing
    withdrawn = _walk(S.WITHDRAWING, S.WITHDRAWN)
    assert recover(withdrawn, 50.0) == withdrawn
