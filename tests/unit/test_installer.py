"""The job runner: phases go out one after another, each closed by barriers; errors fail jobs.

Uses Ryu's real OpenFlow 1.3 message classes on a fake datapath that records what it is sent.
"""

from __future__ import annotations

import itertools
from typing import Any

from ryu.ofproto import ofproto_v1_3, ofproto_v1_3_parser

from ryu_apps.installer import JobRunner
from vnstitch.rules.model import FlowRule, Match, MeterSpec, Output
from vnstitch.stitcher.install_jobs import FlowAdd, Job, JobKind, MeterAdd

_xids = itertools.count(1)


class FakeDatapath:
    """Enough of ryu's Datapath for message building and sending."""

    ofproto = ofproto_v1_3
    ofproto_parser = ofproto_v1_3_parser

    def __init__(self, dpid: int) -> None:
        self.id = dpid
        self.sent: list[Any] = []

    def send_msg(self, msg: Any) -> None:
        msg.xid = next(_xids)
        self.sent.append(msg)


def _rule(dpid: int, port: int) -> FlowRule:
    return FlowRule(dpid, 20000, Match(in_port=port), (Output(2),), cookie=5)


def _job() -> Job:
    first = [MeterAdd(MeterSpec(1, 1, 1000, 100)), FlowAdd(_rule(2, 1))]
    return Job(9, 1, JobKind.INSTALL, [first, [FlowAdd(_rule(1, 1))]], confirm_phase=1)


def _barriers(dp: FakeDatapath) -> list[int]:
    return [m.xid for m in dp.sent if isinstance(m, ofproto_v1_3_parser.OFPBarrierRequest)]


def test_ingress_phase_waits_for_every_barrier_of_the_first() -> None:
    dps = {1: FakeDatapath(1), 2: FakeDatapath(2)}
    done: list[tuple[int, bool, str | None]] = []
    runner = JobRunner(dps, lambda j, ok, why: done.append((j.reservation_id, ok, why)), lambda: 0)
    runner.run(_job())
    assert [type(m).__name__ for m in dps[1].sent] == ["OFPMeterMod", "OFPBarrierRequest"]
    assert [type(m).__name__ for m in dps[2].sent] == ["OFPFlowMod", "OFPBarrierRequest"]
    runner.barrier_reply(1, _barriers(dps[1])[0])
    assert len(dps[1].sent) == 2  # switch 2 has not confirmed yet: no ingress rule
    runner.barrier_reply(2, _barriers(dps[2])[0])
    assert type(dps[1].sent[2]).__name__ == "OFPFlowMod" and not done
    runner.barrier_reply(1, _barriers(dps[1])[1])
    assert done == [(9, True, None)] and runner.busy() == 0


def test_an_error_reply_fails_the_job_by_xid() -> None:
    dps = {1: FakeDatapath(1), 2: FakeDatapath(2)}
    done: list[tuple[bool, str | None]] = []
    runner = JobRunner(dps, lambda j, ok, why: done.append((ok, why)), lambda: 0)
    runner.run(_job())
    flow_mod = dps[2].sent[0]
    assert runner.error(2, flow_mod.xid, "OpenFlow error type 5 code 1")
    assert done == [(False, "switch 0000000000000002 refused: OpenFlow error type 5 code 1")]
    assert not runner.error(2, 999_999, "unrelated")  # not ours: reported as not matched


def test_a_missing_switch_or_a_silent_one_fails_the_job() -> None:
    done: list[bool] = []
    runner = JobRunner({1: FakeDatapath(1)}, lambda j, ok, why: done.append(ok), lambda: 0)
    runner.run(_job())  # switch 2 is not connected
    assert done == [False]
    clock = iter([0.0, 10.0])
    dps = {1: FakeDatapath(1), 2: FakeDatapath(2)}
    late: list[str | None] = []
    runner = JobRunner(dps, lambda j, ok, why: late.append(why), lambda: next(clock))
    runner.run(_job())
    runner.expire(timeout_s=5.0)
    assert late and "within 5 s" in str(late[0])
