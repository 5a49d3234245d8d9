"""The shared backup pool: bandwidth booked so that any single cable failure is survived.

A protected reservation ``r`` states, per cable ``c`` of its path, what its detours put on each
directed link ``l`` when ``c`` fails: ``b_r[c][l]`` (``PathPlan.backup``). When ``c`` fails, link
``l`` carries at most its primary bookings plus ``S[c][l] = sum over r of b_r[c][l]`` (the
primaries keep their bookings: a failure never lowers what is booked). The pool books, per
link, the worst single failure::

    pool(l) = max over cables c of S[c][l]

as one owner of the ledger (``owner``, not a reservation), next to the primaries. So for every
cable ``c`` and link ``l``: ``primary(l) + S[c][l] <= primary(l) + pool(l) = reserved(l) <=
usable(l)`` -- the ledger's own invariant is the proof that one failure never over-books.
Sharing falls out of the max: two reservations whose paths share no cable activate their
backups for different failures, so the same pool bandwidth on a link covers both.

Bookings are all-or-nothing: ``book`` (and ``begin_move``) compute the new pool and have the
ledger admit it; on refusal nothing changed (``InsufficientResources`` names the links). A
make-before-break move holds, per (cable, link), the larger of the old and new backup until
``commit_move``/``abort_move``, like the ledger does for the primaries. ``room`` is what a
search may still give one more backup on a link for one failure.

``shared=False`` books every consumer's backup on its own instead (per link the max over its
own failures, summed over consumers): dedicated backup, for comparison (``bench.backup_bookings``).

Amounts are counted in the ledger's integer thousandths (``vnstitch.resources.keys``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic

from topology.model import LinkId
from vnstitch.resources.admission import OwnerT
from vnstitch.resources.keys import ResourceKey, from_units, to_units
from vnstitch.resources.ledger import Ledger

Cable = LinkId  # a cable, named by one of its directions (``protection.cable_of``)
BackupDemand = Mapping[Cable, Mapping[LinkId, float]]  # failed cable -> link -> Mbit/s
_Units = dict[Cable, dict[LinkId, int]]
_ANY_FAILURE = LinkId(0, 0, 0, 0)  # dedicated booking: every consumer's backup counts at once


class BackupPool(Generic[OwnerT]):
    """Per failed cable and link, what protected reservations' detours take; booked as the max."""

    def __init__(self, ledger: Ledger[OwnerT], owner: OwnerT, shared: bool = True) -> None:
        """``owner`` is the ledger owner that holds the pool (never a reservation's id)."""
        self.ledger = ledger
        self.owner = owner
        self.shared = shared
        self._held: dict[OwnerT, _Units] = {}  # what each consumer counts for now
        self._moves: dict[OwnerT, tuple[_Units, _Units]] = {}
        self._load: dict[LinkId, dict[Cable, int]] = {}  # link -> cable -> S[c][l]
        self._pool: dict[LinkId, int] = {}  # link -> max over cables

    # ---- queries --------------------------------------------------------------------------
    def amount(self, link: LinkId) -> float:
        """What the pool books on ``link`` (the worst single failure's backup there)."""
        return from_units(self._pool.get(link, 0))

    def load(self, cable: Cable, link: LinkId) -> float:
        """What every backup together puts on ``link`` when ``cable`` fails."""
        return from_units(self._load.get(link, {}).get(cable, 0))

    def room(self, cable: Cable, link: LinkId) -> float:
        """Backup one more consumer may put on ``link`` for the failure of ``cable``.

        Free capacity plus the pool's slack for that failure: the pool already holds its
        worst case, and this failure may use what that leaves. Negative when over-booked.
        """
        slack = self._pool.get(link, 0) - self._load.get(link, {}).get(cable, 0)
        if not self.shared:
            slack = 0
        return self.ledger.usable(link) - self.ledger.reserved(link) + from_units(slack)

    def holds(self, owner: OwnerT) -> bool:
        """True when ``owner`` has a backup in the pool."""
        return owner in self._held

    def demand_of(self, owner: OwnerT) -> dict[Cable, dict[LinkId, float]]:
        """What ``owner`` counts for now (during a move: old and new, the larger)."""
        held = self._held.get(owner, {})
        return {c: {k: from_units(u) for k, u in links.items()} for c, links in held.items()}

    def pool(self) -> dict[LinkId, float]:
        """The pool's booking on every link."""
        return {link: from_units(u) for link, u in self._pool.items()}

    def failures(self) -> dict[Cable, dict[LinkId, float]]:
        """``S``: per cable, what all backups put on each link when it fails."""
        out: dict[Cable, dict[LinkId, float]] = {}
        for link, cables in self._load.items():
            for cable, units in cables.items():
                out.setdefault(cable, {})[link] = from_units(units)
        return out

    # ---- bookings -------------------------------------------------------------------------
    def book(self, owner: OwnerT, demand: BackupDemand) -> None:
        """Make ``demand`` the owner's backup (replacing any); all or nothing."""
        if owner in self._moves:
            raise ValueError(f"{owner!r} is moving; commit or abort the move first")
        self._set(owner, self._units(demand))

    def begin_move(self, owner: OwnerT, demand: BackupDemand) -> None:
        """Hold the old and the new backup at once (per cable and link the larger)."""
        if owner in self._moves:
            raise ValueError(f"{owner!r} is already moving")
        old = self._held.get(owner, {})
        new = self._units(demand)
        self._set(owner, _larger(old, new))
        self._moves[owner] = (old, new)

    def commit_move(self, owner: OwnerT) -> None:
        """Keep only the new backup (never fails: the pool only shrinks)."""
        _, new = self._moves.pop(owner)
        self._set(owner, new)

    def abort_move(self, owner: OwnerT) -> None:
        """Return to the old backup (never fails: the pool only shrinks)."""
        old, _ = self._moves.pop(owner)
        self._set(owner, old)

    def in_move(self, owner: OwnerT) -> bool:
        """True between ``begin_move`` and ``commit_move``/``abort_move``."""
        return owner in self._moves

    def release(self, owner: OwnerT) -> None:
        """Drop the owner's backup (ending any move)."""
        self._moves.pop(owner, None)
        if owner in self._held:
            self._set(owner, {})

    # ---- internals ------------------------------------------------------------------------
    def _units(self, demand: BackupDemand) -> _Units:
        units = _units(demand)
        if self.shared or not units:
            return units
        worst: dict[LinkId, int] = {}
        for links in units.values():
            for link, amount in links.items():
                worst[link] = max(amount, worst.get(link, 0))
        return {_ANY_FAILURE: worst}

    def _set(self, owner: OwnerT, units: _Units) -> None:
        """Replace the owner's contribution and have the ledger admit the new pool."""
        old = self._held.get(owner, {})
        touched = _apply(self._load, old, -1) | _apply(self._load, units, +1)
        before = {link: self._pool.get(link, 0) for link in touched}
        for link in touched:
            cables = self._load.get(link)
            top = max(cables.values(), default=0) if cables else 0
            if top:
                self._pool[link] = top
            else:
                self._pool.pop(link, None)
        try:
            self._book_ledger()
        except Exception:
            _apply(self._load, units, -1)
            _apply(self._load, old, +1)
            for link, value in before.items():
                if value:
                    self._pool[link] = value
                else:
                    self._pool.pop(link, None)
            raise
        if units:
            self._held[owner] = units
        else:
            self._held.pop(owner, None)

    def _book_ledger(self) -> None:
        wanted: dict[ResourceKey, float] = {k: from_units(u) for k, u in self._pool.items()}
        if self.ledger.holding(self.owner) is not None:
            self.ledger.resize(self.owner, wanted)
        elif wanted:
            self.ledger.allocate(self.owner, wanted)


def _units(demand: BackupDemand) -> _Units:
    out: _Units = {}
    for cable, links in demand.items():
        row = {link: to_units(mbps, round_up=True) for link, mbps in links.items()}
        row = {link: u for link, u in row.items() if u}
        if row:
            out[cable] = row
    return out


def _larger(a: _Units, b: _Units) -> _Units:
    out = {cable: dict(links) for cable, links in a.items()}
    for cable, links in b.items():
        row = out.setdefault(cable, {})
        for link, units in links.items():
            row[link] = max(units, row.get(link, 0))
    return out


def _apply(load: dict[LinkId, dict[Cable, int]], units: _Units, sign: int) -> set[LinkId]:
    """Add (or take away) a contribution to ``S``; returns the links touched."""
    touched: set[LinkId] = set()
    for cable, links in units.items():
        for link, amount in links.items():
            row = load.setdefault(link, {})
            total = row.get(cable, 0) + sign * amount
            if total:
                row[cable] = total
            else:
                row.pop(cable, None)
                if not row:
                    del load[link]
            touched.add(link)
    return touched


__all__ = ["BackupDemand", "BackupPool", "Cable"]
