"""Behaviour of the resource ledger: admission, all-or-nothing allocation, release, cuts."""

from __future__ import annotations

import math

import pytest

from topology.model import LinkId
from vnstitch.resources import (
    InsufficientResources,
    Ledger,
    MoveInProgress,
    NodeResource,
    ResourceKey,
    ResourceKind,
)

A_B = LinkId(1, 1, 2, 1)
B_C = LinkId(2, 2, 3, 1)
C_D = LinkId(3, 2, 4, 1)
METERS_2 = NodeResource(ResourceKind.METERS, 2)
CPU_H1 = NodeResource(ResourceKind.CPU, "h1")


def ledger(headroom: float = 0.1) -> Ledger[str]:
    """Three 100 Mbit/s links, 4 meters on switch 2, 2 CPU cores on host h1."""
    led: Ledger[str] = Ledger(link_headroom=headroom)
    for link in (A_B, B_C, C_D):
        led.set_capacity(link, 100)
    led.set_capacity(METERS_2, 4)
    led.set_capacity(CPU_H1, 2)
    return led


def test_headroom_applies_to_links_only() -> None:
    led = ledger(headroom=0.1)
    assert led.capacity(A_B) == 100
    assert led.usable(A_B) == 90
    assert led.usable(METERS_2) == 4
    assert led.usable(CPU_H1) == 2


def test_headroom_out_of_range_is_rejected() -> None:
    with pytest.raises(ValueError):
        Ledger(link_headroom=1.0)
    with pytest.raises(ValueError):
        Ledger(link_headroom=-0.1)


def test_allocate_books_every_key_and_indexes_owners() -> None:
    led = ledger()
    held = led.allocate("r1", {A_B: 30, B_C: 30, METERS_2: 1, CPU_H1: 0.5})
    assert held.owner == "r1"
    assert held.amounts == {A_B: 30, B_C: 30, METERS_2: 1, CPU_H1: 0.5}
    assert held.links() == [A_B, B_C]
    assert led.reserved(A_B) == 30
    assert led.free(A_B) == 60
    assert led.free(CPU_H1) == 1.5
    assert led.owners_of(B_C) == {"r1"}
    assert led.owners_of(C_D) == frozenset()
    assert led.owners() == {"r1"}


def test_allocate_is_all_or_nothing() -> None:
    led = ledger()
    led.allocate("r1", {B_C: 80})
    with pytest.raises(InsufficientResources) as err:
        led.allocate("r2", {A_B: 20, B_C: 20, C_D: 20})
    assert set(err.value.shortfalls) == {B_C}
    assert err.value.shortfalls[B_C].asked == 20
    assert err.value.shortfalls[B_C].free == 10
    assert "link 2:2->3:1" in str(err.value)
    assert led.reserved(A_B) == 0
    assert led.reserved(C_D) == 0
    assert led.holding("r2") is None
    assert led.owners_of(A_B) == frozenset()


def test_headroom_is_never_booked() -> None:
    led = ledger(headroom=0.1)
    led.allocate("r1", {A_B: 90})
    assert not led.check({A_B: 0.001})
    with pytest.raises(InsufficientResources):
        led.allocate("r2", {A_B: 1})


def test_unknown_key_is_a_shortfall_with_nothing_free() -> None:
    led = ledger()
    unknown = LinkId(9, 1, 8, 1)
    admission = led.check({unknown: 1, A_B: 1})
    assert not admission.ok
    assert set(admission.shortfalls) == {unknown}
    assert admission.shortfalls[unknown].free == 0


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_invalid_demands_are_value_errors(bad: float) -> None:
    led = ledger()
    with pytest.raises(ValueError):
        led.allocate("r1", {A_B: bad})
    with pytest.raises(ValueError):
        led.check({A_B: bad})
    assert led.holding("r1") is None


def test_invalid_capacity_is_a_value_error() -> None:
    led = ledger()
    with pytest.raises(ValueError):
        led.set_capacity(A_B, -5)
    assert led.capacity(A_B) == 100


def test_check_changes_nothing_and_counts_own_holding_as_free() -> None:
    led = ledger()
    led.allocate("r1", {A_B: 60})
    assert not led.check({A_B: 80})
    assert led.check({A_B: 80}, owner="r1")
    assert led.reserved(A_B) == 60
    assert led.holding("r1") is not None


def test_allocating_twice_to_one_owner_is_refused() -> None:
    led = ledger()
    led.allocate("r1", {A_B: 10})
    with pytest.raises(ValueError):
        led.allocate("r1", {B_C: 10})
    assert led.reserved(B_C) == 0


def test_release_frees_everything_the_owner_holds() -> None:
    led = ledger()
    led.allocate("r1", {A_B: 10, METERS_2: 2, CPU_H1: 1})
    led.allocate("r2", {A_B: 5})
    released = led.release("r1")
    assert released is not None
    assert released.amounts == {A_B: 10, METERS_2: 2, CPU_H1: 1}
    assert led.reserved(A_B) == 5
    assert led.reserved(METERS_2) == 0
    assert led.owners_of(A_B) == {"r2"}
    assert led.release("r1") is None


def test_sums_do_not_drift_with_decimal_amounts() -> None:
    led = ledger(headroom=0.0)
    for i in range(1000):
        led.allocate(f"r{i}", {A_B: 0.1})
    assert led.reserved(A_B) == 100
    assert led.free(A_B) == 0
    for i in range(1000):
        led.release(f"r{i}")
    assert led.reserved(A_B) == 0
    assert led.violations() == []


def test_resize_replaces_the_holding_counting_the_old_one_as_free() -> None:
    led = ledger()
    led.allocate("r1", {A_B: 50, B_C: 50})
    led.allocate("r2", {A_B: 30})
    grown = led.resize("r1", {A_B: 60, C_D: 10})
    assert grown.amounts == {A_B: 60, C_D: 10}
    assert led.reserved(A_B) == 90
    assert led.reserved(B_C) == 0
    assert led.owners_of(B_C) == frozenset()


def test_failed_resize_leaves_the_old_holding_untouched() -> None:
    led = ledger()
    led.allocate("r1", {A_B: 50, B_C: 50})
    led.allocate("r2", {A_B: 30})
    with pytest.raises(InsufficientResources) as err:
        led.resize("r1", {A_B: 61, B_C: 20})
    assert set(err.value.shortfalls) == {A_B}
    assert err.value.shortfalls[A_B].free == 60
    held = led.holding("r1")
    assert held is not None and held.amounts == {A_B: 50, B_C: 50}
    assert led.reserved(A_B) == 80
    assert led.reserved(B_C) == 50


def test_resize_of_unknown_owner_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        ledger().resize("ghost", {A_B: 1})


def test_capacity_cut_returns_holders_that_no_longer_fit() -> None:
    led = ledger()
    led.allocate("r1", {A_B: 40})
    led.allocate("r2", {A_B: 30})
    led.allocate("r3", {A_B: 0})
    assert led.set_capacity(A_B, 80) == set()  # usable 72 still fits 70
    assert led.set_capacity(A_B, 50) == {"r1", "r2"}
    assert led.overbooked() == {A_B: frozenset({"r1", "r2"})}
    assert led.violations() == []


def test_link_down_is_capacity_zero_and_nobody_new_can_book_it() -> None:
    led = ledger()
    led.allocate("r1", {A_B: 40})
    assert led.set_capacity(A_B, 0) == {"r1"}
    assert led.free(A_B) == 0
    assert not led.check({A_B: 1})
    with pytest.raises(InsufficientResources):
        led.resize("r1", {A_B: 41})
    led.resize("r1", {A_B: 40, B_C: 10})  # keeping its claim does not grow the key
    assert led.violations() == []


def test_overbooking_clears_when_holders_leave() -> None:
    led = ledger()
    led.allocate("r1", {A_B: 40})
    led.allocate("r2", {A_B: 40})
    led.set_capacity(A_B, 50)
    led.release("r1")
    assert led.overbooked() == {}
    assert led.free(A_B) == 5
    assert led.violations() == []


def test_capacity_restore_clears_overbooking() -> None:
    led = ledger()
    led.allocate("r1", {A_B: 40})
    led.set_capacity(A_B, 0)
    assert led.set_capacity(A_B, 100) == set()
    assert led.overbooked() == {}
    assert led.free(A_B) == 50


def test_remove_resource_returns_every_claimant() -> None:
    led = ledger()
    led.allocate("r1", {A_B: 40})
    led.allocate("r2", {A_B: 0, B_C: 5})
    assert led.remove_resource(A_B) == {"r1", "r2"}
    assert led.capacity(A_B) == 0
    assert A_B not in led.capacities()
    assert led.overbooked() == {A_B: frozenset({"r1"})}
    led.release("r1")
    assert led.overbooked() == {}
    assert led.violations() == []


def test_owners_of_a_busy_link_come_from_the_index() -> None:
    led = ledger(headroom=0.0)
    for i in range(500):
        led.allocate(f"r{i}", {A_B: 0.1, B_C: 0.1} if i % 2 else {A_B: 0.1})
    assert len(led.owners_of(A_B)) == 500
    assert len(led.owners_of(B_C)) == 250


def test_snapshot_lists_links_with_capacity_usable_and_reserved() -> None:
    led = ledger()
    led.allocate("r1", {A_B: 30, METERS_2: 1})
    rows = led.snapshot()
    assert [row.link_id for row in rows] == [A_B, B_C, C_D]
    first = rows[0].to_dict()
    assert first["src"] == "0000000000000001"
    assert (first["capacity"], first["usable"], first["reserved"], first["free"]) == (
        100,
        90,
        30,
        60,
    )
    assert first["owners"] == 1


def test_moving_owner_cannot_be_resized() -> None:
    led = ledger()
    led.allocate("r1", {A_B: 10})
    led.begin_move("r1", {B_C: 10})
    with pytest.raises(MoveInProgress):
        led.resize("r1", {A_B: 5})


def test_keys_of_mixed_kinds_coexist() -> None:
    led = ledger()
    keys: list[ResourceKey] = [A_B, METERS_2, CPU_H1, NodeResource(ResourceKind.FLOWS, 2)]
    led.set_capacity(keys[3], 10)
    led.allocate("r1", dict.fromkeys(keys, 1.0))
    assert {led.reserved(k) for k in keys} == {1.0}
