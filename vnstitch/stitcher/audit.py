"""The audit: compare what a switch holds with what the controller expects, and repair.

Missing expected rules are re-installed at once. A rule of an audited kind that nobody
expects is an orphan; it is deleted only when it was already an orphan in the previous audit
of that switch and the controller is settled (nothing being restored or installed), so a
controller that restarts never deletes rules it is about to claim again.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass, field

from vnstitch.rules.cookies import (
    KIND_INTENT,
    KIND_ISOLATION,
    KIND_PREDICTED,
    KIND_RESERVATION,
    Cookie,
)
from vnstitch.rules.model import FlowRule, Match

AUDITED_KINDS = frozenset({KIND_RESERVATION, KIND_PREDICTED, KIND_INTENT, KIND_ISOLATION})

EntryKey = tuple[int, Match, int]  # priority, match, cookie


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
    settled: bool,
) -> AuditResult:
    """Repairs for one switch: re-add what is missing, delete orphans seen twice when settled."""
    wanted = {(r.priority, r.match, r.cookie): r for r in expected}
    result = AuditResult()
    seen: set[EntryKey] = set()
    for flow in observed:
        if Cookie.decode(flow.cookie).kind not in AUDITED_KINDS:
            continue
        key = (flow.priority, flow.match, flow.cookie)
        if key in wanted:
            seen.add(key)
            continue
        result.orphans.add(key)
        if settled and key in previous_orphans:
            result.delete.append(FlowRule(dpid, flow.priority, flow.match, (), flow.cookie))
    result.missing = [rule for key, rule in wanted.items() if key not in seen]
    return result
