"""Which reservations' plans put something on each switch: the audit's per-switch lookup.

The audit asks, for one switch at a time, for every rule, meter and group the installed plans
put there. Walking every plan's every rule for each switch costs O(switches x rules) per audit
round (25 s of CPU on Kdl with 10,000 reservations); this index keeps, per switch, the
reservations whose current plan touches it, and each plan splits its entries by switch once
(plans are frozen). The caller still filters by reservation state, and an entry whose
reservation has since taken another plan is skipped, so the index can only be incomplete if a
plan was set without :meth:`PlanIndex.set` (``StitchService._set_plan`` is the one place).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from vnstitch.rules.model import FlowRule, GroupSpec, MeterSpec
from vnstitch.stitcher.reservation import PathPlan


@dataclass(frozen=True)
class SwitchShare:
    """What one plan puts on one switch."""

    rules: tuple[FlowRule, ...] = ()
    meters: tuple[MeterSpec, ...] = ()
    groups: tuple[GroupSpec, ...] = ()


def split_by_switch(plan: PathPlan) -> dict[int, SwitchShare]:
    """``plan``'s rules (transit and egress, then ingress), meters and groups per switch."""
    rules: dict[int, list[FlowRule]] = {}
    meters: dict[int, list[MeterSpec]] = {}
    groups: dict[int, list[GroupSpec]] = {}
    for rule in plan.all_rules():
        rules.setdefault(rule.dpid, []).append(rule)
    for meter in plan.meters:
        meters.setdefault(meter.dpid, []).append(meter)
    for group in plan.groups:
        groups.setdefault(group.dpid, []).append(group)
    return {
        dpid: SwitchShare(
            tuple(rules.get(dpid, ())), tuple(meters.get(dpid, ())), tuple(groups.get(dpid, ()))
        )
        for dpid in rules.keys() | meters.keys() | groups.keys()
    }


class PlanIndex:
    """Per switch: the reservations whose plan (as last set) puts entries there."""

    def __init__(self) -> None:
        self._on: dict[int, set[int]] = {}  # switch -> reservations with entries there
        self._shares: dict[int, tuple[PathPlan, dict[int, SwitchShare]]] = {}

    def set(self, res_id: int, plan: PathPlan | None) -> None:
        """Reservation ``res_id`` now holds ``plan`` (None: no plan)."""
        held = self._shares.pop(res_id, None)
        if held is not None:
            for dpid in held[1]:
                on = self._on.get(dpid)
                if on is not None:
                    on.discard(res_id)
                    if not on:
                        del self._on[dpid]
        if plan is None:
            return
        shares = split_by_switch(plan)
        self._shares[res_id] = (plan, shares)
        for dpid in shares:
            self._on.setdefault(dpid, set()).add(res_id)

    def on_switch(self, dpid: int) -> Iterator[tuple[int, PathPlan, SwitchShare]]:
        """(reservation id, plan, what it puts on ``dpid``), in reservation id order."""
        for res_id in sorted(self._on.get(dpid, ())):
            plan, shares = self._shares[res_id]
            yield res_id, plan, shares[dpid]
