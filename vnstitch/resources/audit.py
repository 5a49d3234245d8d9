"""The ledger invariant, recomputed from scratch: used by ``Ledger.violations()`` and tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set

from vnstitch.resources.admission import OwnerT, describe_key
from vnstitch.resources.keys import ResourceKey

Units = Mapping[ResourceKey, int]


def total_units(holdings: Iterable[Units]) -> dict[ResourceKey, int]:
    """Sum holdings per key."""
    totals: dict[ResourceKey, int] = {}
    for held in holdings:
        for key, units in held.items():
            totals[key] = totals.get(key, 0) + units
    return totals


def audit_ledger(
    *,
    holdings: Mapping[OwnerT, Units],
    reserved: Units,
    usable: Units,
    owners: Mapping[ResourceKey, Set[OwnerT]],
    moves: Mapping[OwnerT, tuple[Units, Units]],
    overbooked: Mapping[ResourceKey, Set[OwnerT]],
) -> list[str]:
    """Every breach of the ledger invariant, as readable sentences (empty when sound)."""
    problems: list[str] = []
    totals = total_units(holdings.values())
    if {k: v for k, v in totals.items() if v} != dict(reserved):
        problems.append(f"reserved totals drifted: kept {dict(reserved)}, recomputed {totals}")
    index: dict[ResourceKey, set[OwnerT]] = {}
    for owner, held in holdings.items():
        for key, units in held.items():
            index.setdefault(key, set()).add(owner)
            if units < 0:
                problems.append(f"{owner!r} holds {units} on {describe_key(key)}")
    if index != {key: set(holders) for key, holders in owners.items()}:
        problems.append("owner index differs from the holdings")
    for key, total in totals.items():
        limit = usable.get(key, 0)
        if total <= limit:
            if key in overbooked:
                problems.append(f"{describe_key(key)} fits but is still marked over-booked")
            continue
        if key not in overbooked:
            problems.append(f"{describe_key(key)} over-booked: {total} > usable {limit}")
            continue
        positive = {o for o in index.get(key, ()) if holdings[o][key] > 0}
        strangers = positive - set(overbooked[key])
        if strangers:
            problems.append(f"{describe_key(key)} over-booked by owners not cut: {strangers!r}")
    for key in overbooked:
        if key not in totals:
            problems.append(f"{describe_key(key)} marked over-booked but nobody holds it")
    for owner, (old, new) in moves.items():
        both = dict(old)
        for key, units in new.items():
            both[key] = max(units, old.get(key, 0))
        if dict(holdings.get(owner, {})) != both:
            problems.append(f"{owner!r} moving but holds {holdings.get(owner)} not old+new")
    return problems


__all__ = ["audit_ledger", "total_units"]
