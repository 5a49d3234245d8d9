"""Make-before-break moves in the ledger: both paths held at once, shared links booked once."""

from __future__ import annotations

import pytest

from topology.model import LinkId
from vnstitch.resources import InsufficientResources, Ledger, MoveInProgress

# Old path 1->2->4, new path 1->3->4 ... sharing the ingress link 0->1.
INGRESS = LinkId(0, 1, 1, 1)
OLD_1 = LinkId(1, 2, 2, 1)
OLD_2 = LinkId(2, 2, 4, 1)
NEW_1 = LinkId(1, 3, 3, 1)
NEW_2 = LinkId(3, 2, 4, 2)


def ledger() -> Ledger[int]:
    """Five 100 Mbit/s links and no headroom, so the arithmetic is plain."""
    led: Ledger[int] = Ledger(link_headroom=0.0)
    for link in (INGRESS, OLD_1, OLD_2, NEW_1, NEW_2):
        led.set_capacity(link, 100)
    return led


def test_begin_move_holds_both_paths_and_shared_link_once() -> None:
    led = ledger()
    led.allocate(7, {INGRESS: 60, OLD_1: 60, OLD_2: 60})
    both = led.begin_move(7, {INGRESS: 70, NEW_1: 70, NEW_2: 70})
    assert both.amounts == {INGRESS: 70, OLD_1: 60, OLD_2: 60, NEW_1: 70, NEW_2: 70}
    assert led.reserved(INGRESS) == 70  # max of old and new, not 130
    assert led.in_move(7)
    assert led.violations() == []


def test_commit_move_shrinks_to_the_new_path() -> None:
    led = ledger()
    led.allocate(7, {INGRESS: 60, OLD_1: 60, OLD_2: 60})
    led.begin_move(7, {INGRESS: 50, NEW_1: 50, NEW_2: 50})
    new = led.commit_move(7)
    assert new.amounts == {INGRESS: 50, NEW_1: 50, NEW_2: 50}
    assert led.reserved(OLD_1) == 0
    assert led.reserved(INGRESS) == 50
    assert led.owners_of(OLD_1) == frozenset()
    assert not led.in_move(7)
    assert led.violations() == []


def test_abort_move_returns_to_the_old_path() -> None:
    led = ledger()
    led.allocate(7, {INGRESS: 60, OLD_1: 60, OLD_2: 60})
    led.begin_move(7, {INGRESS: 80, NEW_1: 80, NEW_2: 80})
    old = led.abort_move(7)
    assert old.amounts == {INGRESS: 60, OLD_1: 60, OLD_2: 60}
    assert led.reserved(NEW_1) == 0
    assert led.reserved(INGRESS) == 60
    assert led.violations() == []


def test_move_that_does_not_fit_changes_nothing() -> None:
    led = ledger()
    led.allocate(7, {INGRESS: 60, OLD_1: 60, OLD_2: 60})
    led.allocate(8, {NEW_1: 50})
    with pytest.raises(InsufficientResources) as err:
        led.begin_move(7, {INGRESS: 60, NEW_1: 60, NEW_2: 60})
    assert set(err.value.shortfalls) == {NEW_1}
    assert not led.in_move(7)
    held = led.holding(7)
    assert held is not None and held.amounts == {INGRESS: 60, OLD_1: 60, OLD_2: 60}


def test_growing_the_shared_link_needs_only_the_difference() -> None:
    led = ledger()
    led.allocate(7, {INGRESS: 60, OLD_1: 60})
    led.allocate(8, {INGRESS: 30})
    led.begin_move(7, {INGRESS: 70, NEW_1: 70})  # needs 10 more on INGRESS, 10 are free
    assert led.reserved(INGRESS) == 100
    with pytest.raises(InsufficientResources):
        led.resize(8, {INGRESS: 31})


def test_moving_away_from_a_failed_link() -> None:
    led = ledger()
    led.allocate(7, {INGRESS: 60, OLD_1: 60, OLD_2: 60})
    assert led.set_capacity(OLD_1, 0) == {7}
    led.begin_move(7, {INGRESS: 60, NEW_1: 60, NEW_2: 60})
    led.commit_move(7)
    assert led.overbooked() == {}
    assert led.violations() == []


def test_second_begin_move_is_refused() -> None:
    led = ledger()
    led.allocate(7, {INGRESS: 10})
    led.begin_move(7, {NEW_1: 10})
    with pytest.raises(MoveInProgress):
        led.begin_move(7, {NEW_2: 10})


def test_commit_without_move_is_a_key_error() -> None:
    led = ledger()
    led.allocate(7, {INGRESS: 10})
    with pytest.raises(KeyError):
        led.commit_move(7)
    with pytest.raises(KeyError):
        led.abort_move(7)


def test_release_during_a_move_frees_both_paths() -> None:
    led = ledger()
    led.allocate(7, {INGRESS: 10, OLD_1: 10})
    led.begin_move(7, {INGRESS: 10, NEW_1: 10})
    released = led.release(7)
    assert released is not None and set(released.amounts) == {INGRESS, OLD_1, NEW_1}
    assert not led.in_move(7)
    assert led.reserved(NEW_1) == 0
    assert led.violations() == []
