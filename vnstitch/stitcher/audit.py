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

from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass, field
from typing import Generic, TypeVar

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
T = TypeVar("T")
Seen = TypeVar("Seen")
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
class IdAuditResult(Generic[T]):
    """Entries (meters, groups) to add, to modify, ids to delete, and orphans to remember."""

    missing: list[T] = field(default_factory=list)
    modify: list[T] = field(default_factory=list)
    delete: list[int] = field(default_factory=list)
    orphans: set[int] = field(default_factory=set)


MeterAuditResult = IdAuditResult[MeterSpec]
GroupAuditResult = IdAuditResult[GroupSpec]


def _audit_ids(
    expected: Mapping[int, T],
    observed: Mapping[int, Seen],
    differs: Callable[[Seen, T], bool],
    previous_orphans: Set[int],
    kept: Callable[[int], bool],
) -> IdAuditResult[T]:
    """The policy of tables keyed by id: missing -> added, ``differs`` -> modified in place,
    an id nobody expects and not ``kept`` -> an orphan, deleted on its second sight."""
    result: IdAuditResult[T] = IdAuditResult()
    for ident, entry in observed.items():
        spec = expected.get(ident)
        if spec is not None:
            if differs(entry, spec):
                result.modify.append(spec)
        elif not kept(ident):
            result.orphans.add(ident)
            if ident in previous_orphans:
                result.delete.append(ident)
    result.missing = [spec for ident, spec in expected.items() if ident not in observed]
    return result


def _meter_differs(meter: ObservedMeter, spec: MeterSpec) -> bool:
    return meter.per_packet or meter.rate_kbps != spec.rate_kbps or meter.burst_kb != spec.burst_kb


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
    return _audit_ids(
        {m.meter_id: m for m in expected},
        {m.meter_id: m for m in observed},
        _meter_differs,
        previous_orphans,
        lambda ident: not audited(ident) or claimed(ident),
    )


# ---- groups ---------------------------------------------------------------------------------
def _group_shape(group: GroupSpec) -> tuple[object, ...]:
    """What a group does: its type, and each bucket's actions and watched port."""
    return (group.kind, tuple((b.actions, b.watch_port) for b in group.buckets))


def audit_groups(
    expected: Iterable[GroupSpec],
    observed: Iterable[GroupSpec],
    previous_orphans: Set[int],
    claimed: Callable[[int], bool],
) -> GroupAuditResult:
    """Repairs for one switch's group table, by the policy of flows and meters."""
    return _audit_ids(
        {g.group_id: g for g in expected},
        {g.group_id: g for g in observed},
        lambda group, spec: _group_shape(group) != _group_shape(spec),
        previous_orphans,
        claimed,
    )
