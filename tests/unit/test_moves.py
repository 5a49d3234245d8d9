"""The move planner: no state an order passes through over-books a link; no order means none."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from vnstitch.stitcher.moves import (
    Move,
    MoveOrder,
    NoSafeOrder,
    committed,
    in_flight,
    order_moves,
    over,
    states,
)

LINKS = ("a", "b", "c", "d")


def test_a_swap_through_a_free_link_is_ordered_via_the_spare_capacity() -> None:
    # Two reservations of 6 on links of 10 want to swap a and b: neither fits while the other
    # is still there, so one must go through c first -- a plain swap has no safe order.
    capacity = {"a": 10.0, "b": 10.0, "c": 10.0}
    load = {"a": 6.0, "b": 6.0, "c": 0.0}
    swap = [Move(1, {"a": 6.0}, {"b": 6.0}), Move(2, {"b": 6.0}, {"a": 6.0})]
    refused = order_moves(capacity, load, swap)
    assert isinstance(refused, NoSafeOrder)
    assert "no order" in refused.reason
    via_c = [Move(1, {"a": 6.0}, {"b": 6.0}), Move(2, {"b": 6.0}, {"c": 6.0})]
    order = order_moves(capacity, load, via_c)
    assert isinstance(order, MoveOrder)
    assert order.owners == (2, 1)  # 2 leaves b first, then 1 takes it
    assert order.stages == ((2,), (1,))


def test_moves_that_fit_together_share_a_stage() -> None:
    capacity = {"a": 10.0, "b": 10.0, "c": 10.0}
    load = {"a": 8.0, "b": 0.0, "c": 0.0}
    moves = [Move(1, {"a": 4.0}, {"b": 4.0}), Move(2, {"a": 4.0}, {"c": 4.0})]
    order = order_moves(capacity, load, moves)
    assert isinstance(order, MoveOrder) and order.stages == ((1, 2),)


def test_a_congested_link_may_stay_as_it_is_but_never_grow() -> None:
    capacity = {"a": 10.0, "b": 10.0}
    load = {"a": 14.0, "b": 0.0}  # measured above capacity
    assert isinstance(order_moves(capacity, load, [Move(1, {"a": 4.0}, {"b": 4.0})]), MoveOrder)
    onto = [Move(2, {"b": 0.0}, {"a": 1.0})]
    assert isinstance(order_moves(capacity, load, onto), NoSafeOrder)


loads = st.floats(min_value=0.0, max_value=10.0, allow_nan=False)
link_loads = st.dictionaries(st.sampled_from(LINKS), st.floats(0.5, 6.0), min_size=1, max_size=2)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, float], dict[str, float], list[Move[str]]]:
    capacity = {k: draw(st.floats(5.0, 12.0)) for k in LINKS}
    count = draw(st.integers(1, 5))
    moves = [Move(i + 1, draw(link_loads), draw(link_loads)) for i in range(count)]
    base = {k: draw(st.floats(0.0, 6.0)) for k in LINKS}
    load = committed(base, [Move(0, {}, m.old) for m in moves])  # old loads are in the load
    return capacity, load, moves


def _sequence_safe(
    capacity: dict[str, float], load: dict[str, float], sequence: tuple[Move[str], ...]
) -> bool:
    state = dict(load)
    for move in sequence:
        if over(capacity, load, in_flight(state, [move])):
            return False
        state = committed(state, [move])
    return True


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_no_intermediate_state_over_books(
    scenario: tuple[dict[str, float], dict[str, float], list[Move[str]]],
) -> None:
    capacity, load, moves = scenario
    result = order_moves(capacity, load, moves)
    if isinstance(result, MoveOrder):
        assert sorted(result.owners) == sorted(m.owner for m in moves)
        for state in states(load, moves, result):
            assert over(capacity, load, state) == [], (result, state)
    else:  # no order: brute force agrees that every sequence over-books somewhere
        assert not any(_sequence_safe(capacity, load, seq) for seq in itertools.permutations(moves))
