"""The order of a set of make-before-break moves that never over-books a link (SWAN-style).

A move takes one reservation from its old per-link loads to new ones. While it is in flight
(new rules installed, the old not yet removed) it holds, per link, the larger of its old and new
load, as the ledger books it (``Ledger.begin_move``); once confirmed it holds the new. Moves
run in *stages*: every move of a stage starts together, the next stage starts when all of them
are confirmed. Within a stage the moves confirm in any order, so the state to check is the
worst one: every move of the stage in flight at once (a confirmed move holds no more than an
in-flight one, a failed one goes back to its old load, no more either).

A state *fits* when every link's load is within its capacity, or -- for a link that was over
its capacity before the plan (the congested one) -- not above the load it had then: a plan may
leave a congested link as it is or relieve it, never add to it.

:func:`order_moves` searches the sequences of moves depth first (exhaustively up to
``EXACT_LIMIT`` moves, greedily beyond) for one whose every step fits, then packs consecutive
moves into stages as far as the stage's in-flight state still fits. When no order exists it
returns :class:`NoSafeOrder` and nothing should move. Pure: numbers in, an order out.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

EXACT_LIMIT = 10
"""Up to this many moves every order is searched (memoised on the set done); beyond, greedy."""

EPSILON = 1e-9


@dataclass(frozen=True)
class Move(Generic[K]):
    """One reservation's move: its load per link before and after."""

    owner: int
    old: Mapping[K, float]
    new: Mapping[K, float]


@dataclass(frozen=True)
class MoveOrder:
    """Stages of owners: each stage starts when the one before is confirmed."""

    stages: tuple[tuple[int, ...], ...]

    @property
    def owners(self) -> tuple[int, ...]:
        """Every owner, in the order they move."""
        return tuple(o for stage in self.stages for o in stage)


@dataclass(frozen=True)
class NoSafeOrder:
    """No order of the moves fits every step: the owners that could not move, and why."""

    stuck: tuple[int, ...]
    reason: str


def in_flight(load: Mapping[K, float], moves: Iterable[Move[K]]) -> dict[K, float]:
    """The loads while ``moves`` are all in flight (each holds max(old, new) per link)."""
    out = dict(load)
    for move in moves:
        for key in set(move.old) | set(move.new):
            old, new = move.old.get(key, 0.0), move.new.get(key, 0.0)
            out[key] = out.get(key, 0.0) + max(old, new) - old
    return out


def committed(load: Mapping[K, float], moves: Iterable[Move[K]]) -> dict[K, float]:
    """The loads once ``moves`` are confirmed (each holds its new load)."""
    out = dict(load)
    for move in moves:
        for key in set(move.old) | set(move.new):
            out[key] = out.get(key, 0.0) + move.new.get(key, 0.0) - move.old.get(key, 0.0)
    return out


def over(
    capacity: Mapping[K, float], start: Mapping[K, float], state: Mapping[K, float]
) -> list[K]:
    """Links of ``state`` that do not fit (see the module docstring), given the plan's start."""
    bad = []
    for key, load in state.items():
        limit = max(capacity.get(key, 0.0), start.get(key, 0.0))
        if load > limit + EPSILON:
            bad.append(key)
    return bad


def order_moves(
    capacity: Mapping[K, float], load: Mapping[K, float], moves: Sequence[Move[K]]
) -> MoveOrder | NoSafeOrder:
    """An order of ``moves`` (tried in the given priority) whose every state fits.

    ``load`` is every link's load now, the moving reservations' old loads included.
    """
    if not moves:
        return MoveOrder(())
    start = dict(load)
    sequence = _sequence(capacity, start, list(moves))
    if sequence is None:
        blocked = [m for m in moves if over(capacity, start, in_flight(start, [m]))]
        first = blocked[0] if blocked else moves[0]
        keys = over(capacity, start, in_flight(start, [first]))
        where = ", ".join(str(k) for k in keys[:3]) or "a later step"
        return NoSafeOrder(
            tuple(m.owner for m in moves),
            f"no order of {len(moves)} move(s) keeps every link within capacity "
            f"(reservation {first.owner} alone would over-book {where})",
        )
    return MoveOrder(_stages(capacity, start, sequence))


def _sequence(
    capacity: Mapping[K, float], start: Mapping[K, float], moves: list[Move[K]]
) -> list[Move[K]] | None:
    """One move at a time: a sequence whose every in-flight state fits, or None."""
    exact = len(moves) <= EXACT_LIMIT
    dead: set[frozenset[int]] = set()

    def search(
        state: dict[K, float], left: list[Move[K]], done: frozenset[int]
    ) -> list[Move[K]] | None:
        if not left:
            return []
        if done in dead:
            return None
        for i, move in enumerate(left):
            if over(capacity, start, in_flight(state, [move])):
                continue
            rest = search(committed(state, [move]), left[:i] + left[i + 1 :], done | {move.owner})
            if rest is not None:
                return [move, *rest]
            if not exact:
                return None
        dead.add(done)
        return None

    return search(dict(start), moves, frozenset())


def _stages(
    capacity: Mapping[K, float], start: Mapping[K, float], sequence: list[Move[K]]
) -> tuple[tuple[int, ...], ...]:
    """Consecutive moves of a safe sequence packed into stages while all in flight fit."""
    stages: list[tuple[int, ...]] = []
    state = dict(start)
    stage: list[Move[K]] = []
    for move in sequence:
        crowded = bool(over(capacity, start, in_flight(state, [*stage, move])))
        if stage and crowded:
            stages.append(tuple(m.owner for m in stage))
            state = committed(state, stage)
            stage = []
        stage.append(move)
    if stage:
        stages.append(tuple(m.owner for m in stage))
    return tuple(stages)


def states(
    load: Mapping[K, float], moves: Sequence[Move[K]], order: MoveOrder
) -> Iterable[dict[K, float]]:
    """Every state the order passes through: each stage with any subset of its moves
    confirmed and the rest in flight, then the stage done (for tests and diagnosis)."""
    by_owner = {m.owner: m for m in moves}
    state = dict(load)
    for stage in order.stages:
        flying = [by_owner[o] for o in stage]
        for mask in range(1 << len(flying)):
            done = [m for i, m in enumerate(flying) if mask >> i & 1]
            rest = [m for i, m in enumerate(flying) if not mask >> i & 1]
            yield in_flight(committed(state, done), rest)
        state = committed(state, flying)
        yield state
