"""The leadership state machine: roles asked of switches, takeover, stepping down."""

from __future__ import annotations

from vnstitch.core.leadership import Leadership, Role, SendRole, StepDown, TakeOver


def test_a_follower_asks_for_slave_once_it_knows_a_generation() -> None:
    member = Leadership("a")
    assert member.switch_up(1) == []  # no generation seen yet: nothing sent, nothing written
    member.observed(4, "b")
    assert member.switch_up(2) == [SendRole(2, False, 4)]
    assert member.refresh() == []


def test_takeover_claims_every_switch_with_the_new_generation() -> None:
    member = Leadership("a")
    member.observed(4, "b")
    member.switch_up(1)
    member.switch_up(2)
    assert member.elected(5) == [SendRole(1, True, 5), SendRole(2, True, 5), TakeOver(5)]
    assert member.role is Role.LEADER and member.elected(5) == []
    assert member.refresh() == [SendRole(1, True, 5), SendRole(2, True, 5)]
    member.switch_down(2)
    assert member.switch_up(3) == [SendRole(3, True, 5)]


def test_a_newer_generation_in_the_store_makes_the_leader_step_down() -> None:
    member = Leadership("a")
    member.switch_up(1)
    member.elected(5)
    actions = member.observed(6, "c")
    assert actions == [StepDown("c took over with generation 6"), SendRole(1, False, 6)]
    assert not member.leading and member.observed(6, "c") == []


def test_a_switch_refusing_our_generation_as_stale_fences_us() -> None:
    member = Leadership("a")
    member.switch_up(7)
    member.elected(5)
    assert member.role_refused(7, stale=False) == []
    (down, _) = member.role_refused(7, stale=True)
    assert isinstance(down, StepDown) and "refused generation 5 as stale" in down.reason
    assert not member.leading


def test_a_late_report_of_an_older_takeover_is_ignored() -> None:
    member = Leadership("a")
    member.observed(9, "c")
    assert member.elected(8) == [] and not member.leading
    member.role_confirmed(1, True, 9)
    assert member.masters == set()
