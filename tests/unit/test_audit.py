"""The audit re-adds missing rules at once and deletes orphans only when sure."""

from __future__ import annotations

from vnstitch.rules.cookies import KIND_BASELINE, KIND_RESERVATION, Cookie
from vnstitch.rules.model import FlowRule, Match, Output
from vnstitch.stitcher.audit import ObservedFlow, audit_switch

MINE = Cookie(KIND_RESERVATION, 7, 1).encode()
OLD = Cookie(KIND_RESERVATION, 3, 1).encode()
M1, M2 = Match(in_port=1, ipv4_dst="10.0.0.2"), Match(in_port=2, ipv4_dst="10.0.0.1")
RULE = FlowRule(1, 20000, M1, (Output(2),), MINE)


def nobody(_cookie: Cookie) -> bool:
    return False


def test_missing_rules_come_back_and_expected_ones_stay() -> None:
    result = audit_switch(1, [RULE], [], set(), nobody)
    assert result.missing == [RULE] and not result.delete
    kept = audit_switch(1, [RULE], [ObservedFlow(20000, M1, MINE)], set(), nobody)
    assert not kept.missing and not kept.delete and not kept.orphans


def test_an_orphan_is_deleted_only_the_second_time() -> None:
    orphan = ObservedFlow(20000, M2, OLD)
    first = audit_switch(1, [], [orphan], set(), nobody)
    assert not first.delete and first.orphans
    second = audit_switch(1, [], [orphan], first.orphans, nobody)
    assert [r.match for r in second.delete] == [M2] and second.delete[0].cookie == OLD


def test_rules_claimed_by_their_owner_are_never_deleted() -> None:
    """An owner being restored or installed keeps its rules; other owners' orphans still go."""
    claimed = ObservedFlow(20000, M2, OLD)
    stray = ObservedFlow(20000, M1, Cookie(KIND_RESERVATION, 9, 2).encode())
    owner_3 = lambda cookie: cookie.owner == 3  # noqa: E731
    first = audit_switch(1, [], [claimed, stray], set(), owner_3)
    again = audit_switch(1, [], [claimed, stray], first.orphans | {(20000, M2, OLD)}, owner_3)
    assert [r.cookie for r in again.delete] == [stray.cookie]
    assert (20000, M2, OLD) not in again.orphans


def test_rules_of_other_owners_are_not_audited() -> None:
    baseline = ObservedFlow(1000, M2, Cookie(KIND_BASELINE, 2, 0).encode())
    result = audit_switch(1, [], [baseline], {(1000, M2, baseline.cookie)}, nobody)
    assert not result.delete and not result.orphans


def test_meters_missing_changed_and_orphaned_converge() -> None:
    from vnstitch.rules.model import MeterSpec
    from vnstitch.stitcher.audit import ObservedMeter, audit_meters

    kept, lost, changed = (MeterSpec(1, i, 5600, 1120) for i in (1, 2, 3))
    observed = [
        ObservedMeter(1, 5600, 1120),
        ObservedMeter(3, 9999, 1120),  # rate changed by hand
        ObservedMeter(7, 64, 64),  # nobody's
        ObservedMeter(8, 64, 64),  # claimed: a move in flight holds it
        ObservedMeter(500_000, 1, 1),  # outside the audited ids: not ours to judge
    ]

    def audited(meter_id: int) -> bool:
        return meter_id < 1000

    def claimed(meter_id: int) -> bool:
        return meter_id == 8

    first = audit_meters([kept, lost, changed], observed, set(), audited, claimed)
    assert first.missing == [lost] and first.modify == [changed]
    assert first.orphans == {7} and not first.delete
    second = audit_meters([kept, lost, changed], observed, first.orphans, audited, claimed)
    assert second.delete == [7]


def test_groups_missing_changed_and_orphaned_converge() -> None:
    from vnstitch.rules.model import Bucket, GroupKind, GroupSpec
    from vnstitch.stitcher.audit import audit_groups

    def ff(group_id: int, backup: int) -> GroupSpec:
        buckets = (Bucket((Output(2),), watch_port=2), Bucket((Output(backup),), backup))
        return GroupSpec(1, group_id, GroupKind.FAST_FAILOVER, buckets)

    kept, lost, changed = ff(1, 3), ff(2, 3), ff(3, 3)
    observed = [kept, ff(3, 4), ff(7, 3), ff(8, 3)]  # 3 changed by hand, 7 nobody's, 8 claimed
    first = audit_groups([kept, lost, changed], observed, set(), lambda g: g == 8)
    assert first.missing == [lost] and first.modify == [changed]
    assert first.orphans == {7} and not first.delete
    second = audit_groups([kept, lost, changed], observed, first.orphans, lambda g: g == 8)
    assert second.delete == [7]
