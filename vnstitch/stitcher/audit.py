"""The audit: compare what a switch holds with what the controller expects, and repair.

Missing expected rules are re-installed at once. A rule of an audited kind that nobody
expects is an orphan; it is deleted only when it was already an orphan in the previous audit
of that switch and its owner (the reservation or intent its cookie names) does not claim it:
an owner being installed, moved or restored after a restart claims every rule bearing its
id, so a controller that restarts never deletes rules it is about to claim again, and one
owner stuck in flight holds back only its own rules, never everyone's. Meters are audited the
same way (:func:`audit_meters`), and so are groups (:func:`audit_groups`): missing ones added,
changed ones modified in place, orphans deleted on the second sight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass, field

from vnstitch.rules.cookies import (
    KIND_ARP_RESPONDER,
    KIND_INTENT,
    KIND_ISOLATION,
    KIND_PREDICTED,
    KIND_RESERVATION,
    Cookie,
)
from vnstitch.rules.model import FlowRule, GroupSpec, Match, MeterSpec

AUDITED_KINDS = frozenset(
    {KIND_RESERVATION, KIND_PREDICTED, KIND_INTENT, KIND_ISOLATION, KIND_ARP_RESPONDER}
)

EntryKey = tuple[int, Match, int]  # priority, match, cookie
Claimed = Callable[[Cookie], bool]  # True: the cookie's owner still claims the rule


@dataclass(frozen=True)
class ObservedFlow:
    """One entry as the switch reported it."""

    priority: int
    match: Match
    cookie: int


@dataclass
class AuditResult:
    """What to send, and the orphans to remember until the next audit."""

    missing: list[FlowRule] = field(default_factory=list)
    delete: list[FlowRule] = field(default_factory=list)
    orphans: set[EntryKey] = field(default_factory=set)


def audit_switch(
    dpid: int,
    expected: Iterable[FlowRule],
    observed: Iterable[ObservedFlow],
    previous_orphans: Set[EntryKey],
    claimed: Claimed,
) -> AuditResult:
    """Repairs for one switch: re-add what is missing, delete unclaimed orphans seen twice.

    A switch holds one entry per (priority, match): when several owners expect the same one
    (e.g. two reservations between one pair of hosts both answer its ARP), an entry bearing
    any of their cookies serves them all.
    """
    wanted: dict[tuple[int, Match], list[FlowRule]] = {}
    for rule in expected:
        wanted.setdefault((rule.priority, rule.match), []).append(rule)
    result = AuditResult()
    served: set[tuple[int, Match]] = set()
    for flow in observed:
        cookie = Cookie.decode(flow.cookie)
        if cookie.kind not in AUDITED_KINDS:
            continue
        entry = (flow.priority, flow.match)
        if any(r.cookie == flow.cookie for r in wanted.get(entry, ())):
            served.add(entry)
            continue
        if entry in wanted or claimed(cookie):
            continue  # replaced by the re-add of what is missing, or still claimed
        key = (flow.priority, flow.match, flow.cookie)
        result.orphans.add(key)
        if key in previous_orphans:
            result.delete.append(FlowRule(dpid, flow.priority, flow.match, (), flow.cookie))
    result.missing = [rules[0] for entry, rules in wanted.items() if entry not in served]
    return result


# ---- meters ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ObservedMeter:
    """One meter as the switch reported it (rate and burst of its drop band, kbit/s and kbit)."""

    meter_id: int
    rate_kbps: int | None
    burst_kb: int | None
    per_packet: bool = False


@dataclass
class MeterAuditResult:
    """Meters to add, to modify, to delete, and the orphans to remember."""

    missing: list[MeterSpec] = field(default_factory=list)
    modify: list[MeterSpec] = field(default_factory=list)
    delete: list[int] = field(default_factory=list)
    orphans: set[int] = field(default_factory=set)


def audit_meters(
    expected: Iterable[MeterSpec],
    observed: Iterable[ObservedMeter],
    previous_orphans: Set[int],
    audited: Callable[[int], bool],
    claimed: Callable[[int], bool],
) -> MeterAuditResult:
    """Repairs for one switch's meter table, by the same policy as flows.

    Missing -> added; another rate, burst or unit -> modified in place; a meter in an
    ``audited`` id range that nobody expects or ``claimed`` is an orphan, deleted when it was
    one in the previous audit too.
    """
    wanted = {m.meter_id: m for m in expected}
    result = MeterAuditResult()
    seen: set[int] = set()
    for meter in observed:
        spec = wanted.get(meter.meter_id)
        if spec is not None:
            seen.add(meter.meter_id)
            if (
                meter.per_packet
                or meter.rate_kbps != spec.rate_kbps
                or meter.burst_kb != spec.burst_kb
            ):
                result.modify.append(spec)
            continue
        if not audited(meter.meter_id) or claimed(meter.meter_id):
            continue
        result.orphans.add(meter.meter_id)
        if meter.meter_id in previous_orphans:
            result.delete.append(meter.meter_id)
    result.missing = [m for i, m in wanted.items() if i not in seen]
    return result


# ---- groups ---------------------------------------------------------------------------------
def _group_shape(group: GroupSpec) -> tuple[object, ...]:
    """What a group does: its type, and each bucket's actions and watched port."""
    return (group.kind, tuple((b.actions, b.watch_port) for b in group.buckets))


@dataclass
class GroupAuditResult:
    """Groups to add, to modify, to delete, and the orphans to remember."""

    missing: list[GroupSpec] = field(default_factory=list)
    modify: list[GroupSpec] = field(default_factory=list)
    delete: list[int] = field(default_factory=list)
    orphans: set[int] = field(default_factory=set)


def audit_groups(
    expected: Iterable[GroupSpec],
    observed: Iterable[GroupSpec],
    previous_orphans: Set[int],
    claimed: Callable[[int], bool],
) -> GroupAuditResult:
    """Repairs for one switch's group table, by the policy of flows and meters."""
    wanted = {g.group_id: g for g in expected}
    result = GroupAuditResult()
    seen: set[int] = set()
    for group in observed:
        spec = wanted.get(group.group_id)
        if spec is not None:
            seen.add(group.group_id)
            if _group_shape(group) != _group_shape(spec):
                result.modify.append(spec)
            continue
        if claimed(group.group_id):
            continue
        result.orphans.add(group.group_id)
        if group.group_id in previous_orphans:
            result.delete.append(group.group_id)
    result.missing = [g for i, g in wanted.items() if i not in seen]
    return result
