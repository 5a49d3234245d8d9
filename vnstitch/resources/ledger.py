"""The RM ledger: what every reservation holds, and admission that never over-books.

Every owner (a reservation or intent id) holds an amount per resource key (see
:mod:`vnstitch.resources.keys`). ``allocate`` is all-or-nothing, ``release`` frees everything an
owner holds, ``check`` answers without changing anything. Links keep ``link_headroom`` of their
capacity back for control and best-effort traffic; node resources have no headroom.

Invariant (``violations()`` reports breaches): per key, ``reserved`` equals the sum of the
holdings and stays within ``usable`` -- except on keys whose capacity was cut (or removed)
below what is held. Such a key is *over-booked*: its positive holders are the owners the cut
returned, and no admission can grow it until holders leave and it fits again. A holder may keep
or shrink its amount on it, which is how a make-before-break move away from a failed link works.

Make-before-break: ``begin_move`` holds, per key, the larger of the old and new demand (a key
shared by both paths is booked once); ``commit_move`` shrinks to the new demands,
``abort_move`` returns to the old ones. Neither can fail.

All amounts are counted in integer thousandths (see :mod:`vnstitch.resources.keys`); nothing
drifts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic

from topology.model import LinkId
from vnstitch.resources.admission import (
    Admission,
    Holding,
    InsufficientResources,
    LinkUsage,
    MoveInProgress,
    OwnerT,
    Shortfall,
    Usage,
    describe_key,
)
from vnstitch.resources.audit import audit_ledger
from vnstitch.resources.keys import Demands, ResourceKey, from_units, to_units

Units = dict[ResourceKey, int]
_PPM = 1_000_000


class Ledger(Generic[OwnerT]):
    """Capacities and holdings per resource key, indexed both by owner and by key."""

    def __init__(self, link_headroom: float = 0.1) -> None:
        if not 0.0 <= link_headroom < 1.0:
            raise ValueError(f"link_headroom must be in [0, 1), got {link_headroom!r}")
        self.link_headroom = link_headroom
        self._headroom_ppm = round(link_headroom * _PPM)
        self._capacity: Units = {}
        self._usable: Units = {}
        self._reserved: Units = {}
        self._owners: dict[ResourceKey, set[OwnerT]] = {}
        self._holdings: dict[OwnerT, Units] = {}
        self._moves: dict[OwnerT, tuple[Units, Units]] = {}  # owner -> (old, new)
        self._overbooked: dict[ResourceKey, frozenset[OwnerT]] = {}
        self._changed: set[ResourceKey] = set()  # keys whose free amount changed (a delta log)

    # ---- capacities -----------------------------------------------------------------------
    def set_capacity(self, key: ResourceKey, amount: float) -> set[OwnerT]:
        """Set a key's capacity; returns the holders that no longer fit (empty if all fit)."""
        units = to_units(amount, round_up=False)
        self._capacity[key] = units
        self._changed.add(key)
        if isinstance(key, LinkId):
            self._usable[key] = units * (_PPM - self._headroom_ppm) // _PPM
        else:
            self._usable[key] = units
        return self._record_overbooking(key)

    def remove_resource(self, key: ResourceKey) -> set[OwnerT]:
        """Forget a key (a link gone, a host gone); returns every owner that had a claim on it."""
        self._capacity.pop(key, None)
        self._usable.pop(key, None)
        self._record_overbooking(key)
        return set(self._owners.get(key, ()))

    def capacities(self) -> dict[ResourceKey, float]:
        """Every key with a known capacity."""
        return {key: from_units(units) for key, units in self._capacity.items()}

    def capacity(self, key: ResourceKey) -> float:
        """The key's capacity (0 when unknown)."""
        return from_units(self._capacity.get(key, 0))

    def usable(self, key: ResourceKey) -> float:
        """What admission may book on the key: capacity less headroom (links only)."""
        return from_units(self._usable.get(key, 0))

    def reserved(self, key: ResourceKey) -> float:
        """The sum of all holdings on the key."""
        return from_units(self._reserved.get(key, 0))

    def free(self, key: ResourceKey) -> float:
        """What a new allocation could still get on the key (never negative)."""
        return from_units(self._free_units(key))

    def drain_changed(self) -> set[ResourceKey]:
        """The keys whose free amount may have changed since the last drain (for caches)."""
        changed, self._changed = self._changed, set()
        return changed

    def usage(self, key: ResourceKey) -> Usage:
        """Capacity, usable, reserved and number of owners of one key."""
        return Usage(
            capacity=self.capacity(key),
            usable=self.usable(key),
            reserved=self.reserved(key),
            owners=len(self._owners.get(key, ())),
        )

    def snapshot(self) -> list[LinkUsage]:
        """Every directed link with a capacity or a holding, sorted (the ``/v1/links`` view)."""
        links = {k for k in self._capacity if isinstance(k, LinkId)}
        links.update(k for k in self._reserved if isinstance(k, LinkId))
        return [LinkUsage(link, self.usage(link)) for link in sorted(links)]

    # ---- admission ------------------------------------------------------------------------
    def check(self, demands: Demands, owner: OwnerT | None = None) -> Admission:
        """Would ``demands`` fit? What ``owner`` already holds counts as free for it."""
        held = self._holdings.get(owner, {}) if owner is not None else {}
        return Admission(self._shortfalls(_parse(demands), held))

    def allocate(self, owner: OwnerT, demands: Demands) -> Holding[OwnerT]:
        """Grant all of ``demands`` to a new owner, or nothing (raises InsufficientResources)."""
        if owner in self._holdings:
            raise ValueError(f"{owner!r} already holds resources; use resize or a move")
        wanted = _parse(demands)
        self._admit(owner, wanted, {})
        self._book(owner, wanted)
        return self._holding_of(owner, wanted)

    def release(self, owner: OwnerT) -> Holding[OwnerT] | None:
        """Free everything ``owner`` holds (ending any move); None if it held nothing."""
        if owner not in self._holdings:
            return None
        held = self._holdings[owner]
        self._moves.pop(owner, None)
        self._book(owner, None)
        return self._holding_of(owner, held)

    def resize(self, owner: OwnerT, demands: Demands) -> Holding[OwnerT]:
        """Replace an owner's holding atomically; on refusal the old holding stays untouched."""
        held = self._held_by(owner)
        if owner in self._moves:
            raise MoveInProgress(f"{owner!r} is moving; commit or abort the move first")
        wanted = _parse(demands)
        self._admit(owner, wanted, held)
        self._book(owner, wanted)
        return self._holding_of(owner, wanted)

    # ---- make-before-break moves ----------------------------------------------------------
    def begin_move(self, owner: OwnerT, new_demands: Demands) -> Holding[OwnerT]:
        """Hold old and new demands at once (per key the larger); raises if that does not fit."""
        old = self._held_by(owner)
        if owner in self._moves:
            raise MoveInProgress(f"{owner!r} is already moving")
        new = _parse(new_demands)
        both = dict(old)
        for key, units in new.items():
            both[key] = max(units, old.get(key, 0))
        self._admit(owner, both, old)
        self._book(owner, both)
        self._moves[owner] = (old, new)
        return self._holding_of(owner, both)

    def commit_move(self, owner: OwnerT) -> Holding[OwnerT]:
        """Finish a move: shrink to the new demands (the old path's rules are gone)."""
        _, new = self._move_of(owner)
        del self._moves[owner]
        self._book(owner, new)
        return self._holding_of(owner, new)

    def abort_move(self, owner: OwnerT) -> Holding[OwnerT]:
        """Give up a move: return to the old demands."""
        old, _ = self._move_of(owner)
        del self._moves[owner]
        self._book(owner, old)
        return self._holding_of(owner, old)

    def in_move(self, owner: OwnerT) -> bool:
        """True between ``begin_move`` and ``commit_move``/``abort_move``."""
        return owner in self._moves

    # ---- queries --------------------------------------------------------------------------
    def holding(self, owner: OwnerT) -> Holding[OwnerT] | None:
        """What ``owner`` holds now (during a move: old and new combined)."""
        held = self._holdings.get(owner)
        return None if held is None else self._holding_of(owner, held)

    def owners_of(self, key: ResourceKey) -> frozenset[OwnerT]:
        """Every owner with a claim on the key, zero claims included (indexed, no scan)."""
        return frozenset(self._owners.get(key, ()))

    def owners(self) -> frozenset[OwnerT]:
        """Every owner that holds something (or an empty holding)."""
        return frozenset(self._holdings)

    def overbooked(self) -> dict[ResourceKey, frozenset[OwnerT]]:
        """Keys cut below their holdings, with the holders the cut returned."""
        return dict(self._overbooked)

    def violations(self) -> list[str]:
        """Breaches of the ledger invariant, recomputed from the holdings (empty when sound)."""
        return audit_ledger(
            holdings=self._holdings,
            reserved=self._reserved,
            usable=self._usable,
            owners=self._owners,
            moves=self._moves,
            overbooked=self._overbooked,
        )

    # ---- internals ------------------------------------------------------------------------
    def _free_units(self, key: ResourceKey) -> int:
        return max(0, self._usable.get(key, 0) - self._reserved.get(key, 0))

    def _shortfalls(
        self, wanted: Units, held: Mapping[ResourceKey, int]
    ) -> dict[ResourceKey, Shortfall]:
        short: dict[ResourceKey, Shortfall] = {}
        usable, reserved = self._usable, self._reserved
        for key, units in wanted.items():
            mine = held.get(key, 0)
            if units <= mine:
                continue  # keeping or shrinking a claim never needs room
            available = mine + max(0, usable.get(key, 0) - reserved.get(key, 0))
            if units > available:
                short[key] = Shortfall(asked=from_units(units), free=from_units(available))
        return short

    def _admit(self, owner: OwnerT, wanted: Units, held: Mapping[ResourceKey, int]) -> None:
        short = self._shortfalls(wanted, held)
        if short:
            raise InsufficientResources(owner, short)

    def _book(self, owner: OwnerT, wanted: Units | None) -> None:
        """Make ``wanted`` (kept, not copied; None: nothing) ``owner``'s holding."""
        old = self._holdings.pop(owner, {})
        new = wanted if wanted is not None else {}
        reserved, index = self._reserved, self._owners
        for key, units in old.items():
            if key not in new:
                self._add_reserved(key, -units)
                holders = index[key]
                holders.discard(owner)
                if not holders:
                    del index[key]
                self._settle(key)
        for key, units in new.items():
            previous = old.get(key)
            if previous is None:
                if units:
                    reserved[key] = reserved.get(key, 0) + units
                    self._changed.add(key)
                claimants = index.get(key)
                if claimants is None:
                    index[key] = {owner}
                else:
                    claimants.add(owner)
            elif units != previous:
                self._add_reserved(key, units - previous)
                if units < previous:
                    self._settle(key)
        if wanted is not None:
            self._holdings[owner] = wanted

    def _add_reserved(self, key: ResourceKey, delta: int) -> None:
        self._changed.add(key)
        total = self._reserved.get(key, 0) + delta
        if total:
            self._reserved[key] = total
        else:
            self._reserved.pop(key, None)

    def _settle(self, key: ResourceKey) -> None:
        if key in self._overbooked and self._reserved.get(key, 0) <= self._usable.get(key, 0):
            del self._overbooked[key]

    def _record_overbooking(self, key: ResourceKey) -> set[OwnerT]:
        if self._reserved.get(key, 0) <= self._usable.get(key, 0):
            self._overbooked.pop(key, None)
            return set()
        positive = {o for o in self._owners.get(key, ()) if self._holdings[o].get(key, 0) > 0}
        self._overbooked[key] = frozenset(positive)
        return positive

    def _held_by(self, owner: OwnerT) -> Units:
        held = self._holdings.get(owner)
        if held is None:
            raise KeyError(f"{owner!r} holds nothing")
        return held

    def _move_of(self, owner: OwnerT) -> tuple[Units, Units]:
        move = self._moves.get(owner)
        if move is None:
            raise KeyError(f"{owner!r} is not moving")
        return move

    @staticmethod
    def _holding_of(owner: OwnerT, units: Mapping[ResourceKey, int]) -> Holding[OwnerT]:
        return Holding(owner, {key: from_units(u) for key, u in units.items()})


def _parse(demands: Demands) -> Units:
    """Validate demands (ValueError on negative, NaN or infinite) and round them up."""
    units: Units = {}
    converted: dict[float, int] = {}  # one int object per distinct amount saves memory
    for key, amount in demands.items():
        value = converted.get(amount) if type(amount) is float else None
        if value is None:
            try:
                value = converted[amount] = to_units(amount, round_up=True)
            except ValueError as err:
                raise ValueError(f"demand on {describe_key(key)}: {err}") from None
        units[key] = value
    return units


__all__ = ["Ledger"]
