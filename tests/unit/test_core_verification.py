"""Every ACTIVE is true (issue #16, item 2): the core verifies the tables the switches report."""

from __future__ import annotations

from pathlib import Path

from core_harness import HOSTS, Harness, ipv4

from vnstitch.core.commands import CreateIntent, CreateReservation, TraceReservation
from vnstitch.intents.model import IntentState
from vnstitch.northbound.tables import trace_text
from vnstitch.rules.model import ETH_TYPE_IPV4, FlowRule, Match, Output
from vnstitch.stitcher.reservation import State

H1, H4 = HOSTS[1][1], HOSTS[4][1]
FOREIGN = 0xDEAD


def _reserved(h: Harness) -> int:
    reply = h.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 5}), 1)
    assert reply is not None and reply.status == 201
    return int(reply.body["id"])


def test_our_own_reservations_verify_clean(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    res_id = _reserved(h)
    h.advance(1.0)
    h.audit()
    h.verify()
    res = h.core.stitcher.reservations[res_id]
    assert res.state is State.ACTIVE and res.reason is None
    assert h.core.verification.failures == {}


def test_a_foreign_drop_on_a_transit_switch_degrades_then_recovers(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    res_id = _reserved(h)
    res = h.core.stitcher.reservations[res_id]
    transit = res.plan.path[1]
    drop = FlowRule(transit, 30000, Match(eth_type=ETH_TYPE_IPV4, ipv4_dst=H4), (), FOREIGN)
    h.net.apply([drop])
    h.advance(1.0)
    h.audit()
    h.verify()
    assert res.state is State.DEGRADED
    reason = res.reason or ""
    assert f"{transit:016x}" in reason and "dead priority 30000" in reason in reason, reason
    assert h.core.verification.failures == {"dropped": 1}
    assert drop.key in {r.key for r in h.net.rules(transit)}  # never deleted: not ours
    trace = h.call(TraceReservation(str(res_id)), 9)
    assert trace is not None and trace.body["directions"][0]["verdict"] == "failure"
    text = trace_text(trace.body)  # what ``vnstitch trace ID`` prints
    assert "dropped at switch" in text and "0x000000000000dead" in text and "30000" in text
    h.net.remove([drop])  # the operator takes it away
    h.advance(1.0)
    h.audit()
    h.verify()
    assert res.state is State.ACTIVE and res.reason == "verified in the switches"


def test_a_foreign_rule_breaching_an_isolation_fails_the_intent(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    reply = h.call(CreateIntent({"kind": "isolation", "a": [H1], "b": [H4]}), 1)
    assert reply is not None and reply.status == 201
    ident = reply.body["id"]
    h.advance(1.0)
    h.audit()
    h.verify()
    assert h.core.intents.intents[ident].state is IntentState.INSTALLED
    assert h.net.trace(1, 1, ipv4(H1, H4)).exits == []
    # rules above the isolation's drops that carry h1's packets to h4 (switch a reaches b
    # on port 10 + b): 1 -> 2 -> 4
    bypass = [
        FlowRule(1, 65500, Match(in_port=1, eth_type=ETH_TYPE_IPV4), (Output(12),), FOREIGN),
        FlowRule(2, 65500, Match(in_port=11, eth_type=ETH_TYPE_IPV4), (Output(14),), FOREIGN),
        FlowRule(4, 65500, Match(in_port=12, eth_type=ETH_TYPE_IPV4), (Output(1),), FOREIGN),
    ]
    h.net.apply(bypass)
    assert h.net.trace(1, 1, ipv4(H1, H4)).exits == [(4, 1)]
    h.advance(1.0)
    h.audit()
    h.verify()
    intent = h.core.intents.intents[ident]
    assert intent.state is IntentState.FAILED and "dead" in (intent.reason or ""), intent.reason
    h.net.remove(bypass)
    h.advance(1.0)
    h.audit()
    h.verify()
    assert h.core.intents.intents[ident].state is IntentState.INSTALLED


def test_verification_runs_in_slices(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    _reserved(h)
    h.core.verification.slice_checks = 1
    h.advance(1.0)
    h.audit()
    h.core.verification.start_round(h.now)
    assert h.core.verification._round is not None  # one check done, one left for later
    h.core.verification.step(h.now)
    h.core.verification.step(h.now)
    assert h.core.verification._round is None


def test_the_meter_audit_converges_rates_and_orphans(tmp_path: Path) -> None:
    """A rate changed by hand is set back; a meter nobody owns goes on the second audit."""
    from vnstitch.rules.model import MeterSpec

    h = Harness(tmp_path)
    h.connect_square()
    res = h.core.stitcher.reservations[_reserved(h)]
    planned = res.plan.meters[0]
    h.net.apply_meters([MeterSpec(planned.dpid, planned.meter_id, 99_000, 9_000)])
    h.net.apply_meters([MeterSpec(planned.dpid, 4321, 64, 64)])  # an orphan
    h.advance(1.0)
    h.audit()
    assert h.net.meters[(planned.dpid, planned.meter_id)] == planned
    assert (planned.dpid, 4321) in h.net.meters  # seen once: kept
    h.advance(1.0)
    h.audit()
    assert (planned.dpid, 4321) not in h.net.meters
    assert res.state is State.ACTIVE


def test_the_group_audit_converges(tmp_path: Path) -> None:
    """A group deleted by hand (its flows go with it) comes back; a stray group goes."""
    from dataclasses import replace

    h = Harness(tmp_path)
    h.connect_square()
    reply = h.call(
        CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 5, "protection": True}), 1
    )
    assert reply is not None and reply.status == 201, reply
    res = h.core.stitcher.reservations[int(reply.body["id"])]
    lost, changed = res.plan.groups[0], res.plan.groups[1]
    h.net.delete_group(lost.dpid, lost.group_id)
    h.net.apply_groups([replace(changed, buckets=changed.buckets[:1])])
    stray = replace(changed, group_id=4000)
    h.net.apply_groups([stray])
    h.advance(1.0)
    h.audit()
    assert h.net.groups[(lost.dpid, lost.group_id)] == lost
    assert h.net.groups[(changed.dpid, changed.group_id)] == changed
    assert h.net.trace(1, 1, ipv4(H1, H4)).exits == [(4, 1)]
    h.advance(1.0)
    h.audit()
    assert (stray.dpid, 4000) not in h.net.groups
    h.advance(1.0)
    h.audit()
    h.verify()
    assert res.state is State.ACTIVE
