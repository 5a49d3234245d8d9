"""The job runner: phases go out one after another, each closed by barriers; errors fail jobs."""

from __future__ import annotations

from vnstitch.clock import Instant
from vnstitch.core.actions import Barrier, Outbox, ToSwitch
from vnstitch.core.job_runner import JobOutcome, JobRunner
from vnstitch.rules.groups import failover_group
from vnstitch.rules.model import FlowRule, Match, MeterSpec, Output
from vnstitch.stitcher.install_jobs import FlowAdd, GroupAdd, GroupModify, Job, JobKind, MeterAdd

AT = Instant(1_800_000_000.0, 50.0)


def _rule(dpid: int, port: int) -> FlowRule:
    return FlowRule(dpid, 20000, Match(in_port=port), (Output(2),), cookie=5)


def _job() -> Job:
    first = [MeterAdd(MeterSpec(1, 1, 1000, 100)), FlowAdd(_rule(2, 1))]
    return Job(9, 1, JobKind.INSTALL, [first, [FlowAdd(_rule(1, 1))]], confirm_phase=1)


def _runner(connected: set[int]) -> tuple[JobRunner, Outbox, list[JobOutcome]]:
    outbox, done = Outbox(), []
    runner = JobRunner(outbox, connected, lambda outcome, _at: done.append(outcome))
    return runner, outbox, done


def _sent(outbox: Outbox, dpid: int) -> list[ToSwitch]:
    return [a for a in outbox.actions if isinstance(a, ToSwitch) and a.dpid == dpid]


def _barriers(outbox: Outbox, dpid: int) -> list[int]:
    return [a.xid for a in _sent(outbox, dpid) if isinstance(a.message, Barrier)]


def test_ingress_phase_waits_for_every_barrier_of_the_first() -> None:
    runner, outbox, done = _runner({1, 2})
    runner.run(_job(), AT)
    kinds = {d: [type(a.message).__name__ for a in _sent(outbox, d)] for d in (1, 2)}
    assert kinds == {1: ["MeterAdd", "Barrier"], 2: ["FlowAdd", "Barrier"]}
    runner.barrier_reply(1, _barriers(outbox, 1)[0], AT)
    assert len(_sent(outbox, 1)) == 2  # switch 2 has not confirmed yet: no ingress rule
    runner.barrier_reply(2, _barriers(outbox, 2)[0], AT)
    assert isinstance(_sent(outbox, 1)[2].message, FlowAdd) and not done
    runner.barrier_reply(1, _barriers(outbox, 1)[1], AT)
    assert [(o.job.reservation_id, o.ok, o.reason) for o in done] == [(9, True, None)]
    assert runner.busy() == 0


def test_every_message_gets_its_own_xid() -> None:
    runner, outbox, _done = _runner({1, 2})
    runner.run(_job(), AT)
    xids = [a.xid for a in outbox.actions if isinstance(a, ToSwitch)]
    assert len(xids) == len(set(xids)) == 4


def test_an_error_reply_fails_the_job_by_xid() -> None:
    runner, outbox, done = _runner({1, 2})
    runner.run(_job(), AT)
    flow_mod = _sent(outbox, 2)[0]
    assert runner.error(2, flow_mod.xid, "OpenFlow error type 5 code 1", AT)
    assert [(o.ok, o.reason) for o in done] == [
        (False, "switch 0000000000000002 refused: OpenFlow error type 5 code 1")
    ]
    assert not runner.error(2, 999_999, "unrelated", AT)  # not ours: reported as not matched


def test_a_missing_switch_or_a_silent_one_fails_the_job() -> None:
    runner, _outbox, done = _runner({1})
    runner.run(_job(), AT)  # switch 2 is not connected
    assert [o.ok for o in done] == [False] and "not connected" in str(done[0].reason)
    runner, _outbox, late = _runner({1, 2})
    runner.run(_job(), AT)
    runner.expire(5.0, Instant(AT.wall + 1.0, AT.mono + 4.0))
    assert not late
    runner.expire(5.0, Instant(AT.wall, AT.mono + 10.0))  # monotonic time decides, not wall
    assert late and "within 5 s" in str(late[0].reason) and late[0].started == AT.mono


def test_a_group_the_switch_kept_is_modified_and_the_phase_waits_for_it() -> None:
    """After a restart a switch still holds the group: "group exists" is no failure, the
    group goes again as a modify, and the next phase waits for a barrier after it."""
    group = failover_group(1, 5, 2, 3)
    job = Job(9, 1, JobKind.INSTALL, [[GroupAdd(group)], [FlowAdd(_rule(1, 1))]], confirm_phase=1)
    runner, outbox, done = _runner({1})
    runner.run(job, AT)
    add = next(a for a in _sent(outbox, 1) if isinstance(a.message, GroupAdd))
    assert runner.group_exists(1, add.xid, AT)
    assert not runner.group_exists(1, add.xid, AT)  # only once per add
    first, second = _barriers(outbox, 1)
    assert isinstance(_sent(outbox, 1)[2].message, GroupModify)
    runner.barrier_reply(1, first, AT)
    assert not [a for a in _sent(outbox, 1) if isinstance(a.message, FlowAdd)]
    runner.barrier_reply(1, second, AT)
    assert [a for a in _sent(outbox, 1) if isinstance(a.message, FlowAdd)] and not done
    runner.barrier_reply(1, _barriers(outbox, 1)[2], AT)
    assert [(o.ok, o.reason) for o in done] == [(True, None)]
