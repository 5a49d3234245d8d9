"""Verdicts on real plans: our own rules pass; foreign rules, missing meters, wrong rates and
wrong exits fail with a reason naming the switch and the entry; isolations hold or are breached.

The network is the issue's 4-switch ring 1-2-4-3-1 (switch a reaches b on port 10 + b; hosts on
port 1). Plans come from ``compile_plan``, isolation drops from ``compile_intent``; every
switch also holds the control entries it gets on connect.
"""

from __future__ import annotations

from dataclasses import replace

from topology.database import TopologyDatabase
from topology.model import Attachment, Host, LinkId, Port
from vnstitch.forwarding.control import control_rules
from vnstitch.forwarding.unicast import shortest_path_rules
from vnstitch.intents.compile import compile_intent
from vnstitch.intents.lifecycle import new_intent
from vnstitch.intents.resolve import NtdDirectory
from vnstitch.intents.specs import IsolationSpec
from vnstitch.rules.meters import reservation_meter
from vnstitch.rules.model import (
    ETH_TYPE_ARP,
    ETH_TYPE_IPV4,
    IP_PROTO_TCP,
    IP_PROTO_UDP,
    FlowRule,
    Match,
    MeterSpec,
    Output,
)
from vnstitch.stitcher.plan import compile_plan
from vnstitch.stitcher.reservation import PathPlan, ReservationRequest
from vnstitch.verify.checks import (
    Check,
    Failure,
    FailureKind,
    IsolationCheck,
    Ok,
    PlannedMeter,
    ReservationCheck,
    Unverified,
    Verdict,
    isolation_pair_checks,
    reservation_checks,
    verify,
    verify_batch,
    verify_each,
    verify_isolation,
    verify_reservation,
)
from vnstitch.verify.tables import ObservedNetwork

CABLES = [(1, 2), (2, 4), (1, 3), (3, 4)]
H1 = Host("h1", "00:00:00:00:00:01", "10.0.0.1", Attachment(1, 1))
H2 = Host("h2", "00:00:00:00:00:02", "10.0.0.2", Attachment(2, 1))
H4 = Host("h4", "00:00:00:00:00:04", "10.0.0.4", Attachment(4, 1))
FOREIGN = 0xF0F0


def _db() -> TopologyDatabase:
    db = TopologyDatabase(default_capacity_mbps=100.0)
    for d in (1, 2, 3, 4):
        others = [b if a == d else a for a, b in CABLES if d in (a, b)]
        db.add_switch(d, [Port(1)] + [Port(10 + o) for o in others], 0.0, f"s{d}")
    for a, b in CABLES:
        for lid in (LinkId(a, 10 + b, b, 10 + a), LinkId(b, 10 + a, a, 10 + b)):
            db.link_seen(lid, 0.0, 0.0)
    for host in (H1, H2, H4):
        db.add_inventory_host(host, 0.0)
    return db


DB = _db()


def _plan(request: ReservationRequest | None = None, path: tuple[int, ...] = (1, 2, 4)) -> PathPlan:
    request = request or ReservationRequest("h1", "h4", 5.0)
    return compile_plan(DB.graph, 5, 1, path, H1, H4, request, {1: 3, 4: 3}, None)


def _net(
    plan: PathPlan,
    extra: list[FlowRule] | None = None,
    meters: tuple[MeterSpec, ...] | None = None,
) -> ObservedNetwork:
    """Every switch holding its control entries, the plan, and ``extra`` (added last)."""
    rules = [r for d in (1, 2, 3, 4) for r in control_rules(d)]
    rules += [*plan.all_rules(), *(extra or [])]
    return ObservedNetwork.of_plan(DB.links, rules, plan.meters if meters is None else meters)


def _checks(plan: PathPlan) -> list[ReservationCheck]:
    return reservation_checks(5, plan, H1, H4)


def _failure(verdict: Verdict, kind: FailureKind) -> str:
    assert isinstance(verdict, Failure), verdict
    assert verdict.kind is kind, verdict.reason
    return verdict.reason


def _drop(dpid: int, priority: int = 30000, **match: object) -> FlowRule:
    return FlowRule(dpid, priority, Match(**match), (), FOREIGN)  # type: ignore[arg-type]


def test_our_own_plan_passes_both_directions() -> None:
    plan = _plan()
    checks = _checks(plan)
    assert [(c.src, c.dst) for c in checks] == [((1, 1), (4, 1)), ((4, 1), (1, 1))]
    assert [c.meter for c in checks] == [PlannedMeter(1, 3, 5600), PlannedMeter(4, 3, 5600)]
    net = _net(plan)
    for check in checks:
        verdict = verify_reservation(net, check)
        assert isinstance(verdict, Ok) and verdict.trace is not None
        hops = verdict.trace.main.hops
        assert [h.dpid for h in hops] == ([1, 2, 4] if check.src[0] == 1 else [4, 2, 1])
        assert hops[0].meter_id == 3


def test_l4_reservations_pass_and_a_foreign_drop_of_another_protocol_does_not_touch_them() -> None:
    for proto in (IP_PROTO_TCP, IP_PROTO_UDP):
        plan = _plan(ReservationRequest("h1", "h4", 2.0, ip_proto=proto, dst_port=5001))
        net = _net(plan, [_drop(2, eth_type=ETH_TYPE_IPV4, ip_proto=1, ipv4_dst=H4.ip)])
        assert all(isinstance(verify(net, c), Ok) for c in _checks(plan))


def test_a_foreign_higher_priority_drop_on_a_transit_switch_is_named() -> None:
    plan = _plan()
    net = _net(plan, [_drop(2, eth_type=ETH_TYPE_IPV4, ipv4_dst=H4.ip)])
    forward, backward = _checks(plan)
    reason = _failure(verify_reservation(net, forward), FailureKind.DROPPED)
    assert reason == (
        "10.0.0.1 -> 10.0.0.4: dropped at switch 0000000000000002 by cookie 0x000000000000f0f0 "
        "priority 30000 match {eth_type=0x0800, ipv4_dst=10.0.0.4}"
    )
    assert isinstance(verify_reservation(net, backward), Ok)  # the drop is for 10.0.0.4 only


def test_a_drop_of_part_of_the_traffic_names_the_part() -> None:
    plan = _plan()  # all IPv4 between h1 and h4
    net = _net(plan, [_drop(2, eth_type=ETH_TYPE_IPV4, ip_proto=IP_PROTO_TCP, ipv4_dst=H4.ip)])
    reason = _failure(verify_reservation(net, _checks(plan)[0]), FailureKind.DROPPED)
    assert reason.startswith(
        "10.0.0.1 -> 10.0.0.4 (ip_proto=6): dropped at switch 0000000000000002"
    )


def test_an_isolation_over_a_reservation_drops_it_at_the_source_switch() -> None:
    plan = _plan()
    spec = IsolationSpec(("h1",), ("h4",))
    drops = compile_intent(new_intent(9, spec, now=1.0), NtdDirectory(DB)).drops
    net = _net(plan, drops)
    for check in _checks(plan):
        reason = _failure(verify_reservation(net, check), FailureKind.DROPPED)
        assert f"dropped at switch 000000000000000{check.src[0]} by cookie 0x21" in reason
        assert "priority 65000" in reason


def test_a_missing_meter_is_reported() -> None:
    plan = _plan()
    net = _net(plan, meters=())
    reason = _failure(verify_reservation(net, _checks(plan)[0]), FailureKind.METER_MISSING)
    assert reason == "10.0.0.1 -> 10.0.0.4: meter 3 missing on 0000000000000001 (flow refers to it)"


def test_a_meter_at_another_rate_is_reported() -> None:
    plan = _plan()
    wrong = tuple(reservation_meter(m.dpid, m.meter_id, 10.0, m.cookie) for m in plan.meters)
    reason = _failure(
        verify_reservation(_net(plan, meters=wrong), _checks(plan)[0]), FailureKind.METER_RATE
    )
    assert (
        reason == "10.0.0.1 -> 10.0.0.4: meter 3 on 0000000000000001 rate 10.0 Mbit/s, planned 5.6"
    )


def test_an_ingress_rule_without_its_meter_is_reported() -> None:
    plan = _plan()
    ingress = [replace(r, meter_id=None) for r in plan.ingress]
    net = _net(plan, ingress)  # same key: replaces the metered ingress entries
    reason = _failure(verify_reservation(net, _checks(plan)[0]), FailureKind.NO_METER)
    assert reason.startswith("10.0.0.1 -> 10.0.0.4: no meter: ingress rule on 0000000000000001 (")
    assert reason.endswith(") has no meter, planned meter 3 at 5.6 Mbit/s")


def test_a_wrong_exit_is_reported() -> None:
    plan = _plan()
    transit = next(r for r in plan.rules if r.dpid == 2 and r.match.ipv4_dst == H4.ip)
    net = _net(plan, [replace(transit, actions=(Output(1),))])
    reason = _failure(verify_reservation(net, _checks(plan)[0]), FailureKind.MISDELIVERED)
    assert reason == (
        "10.0.0.1 -> 10.0.0.4: left at 0000000000000002 port 1, expected 0000000000000004 "
        "port 1 (sent there by cookie 0x1000000000050001 priority 20000 match {in_port=11, "
        "eth_type=0x0800, ipv4_src=10.0.0.1, ipv4_dst=10.0.0.4})"
    )


def test_a_switch_that_has_not_reported_leaves_the_verdict_open() -> None:
    plan = _plan()
    net = _net(plan)
    net.forget(2)
    verdict = verify_reservation(net, _checks(plan)[0])
    assert isinstance(verdict, Unverified) and "0000000000000002" in verdict.reason


# ---- isolations ---------------------------------------------------------------------------
def _isolation_net(extra: list[FlowRule] | None = None) -> ObservedNetwork:
    """Control entries, baseline unicast both ways between h1 and h4, the isolation's drops."""
    rules = [r for d in (1, 2, 3, 4) for r in control_rules(d)]
    for a, b in ((H1, H4), (H4, H1)):
        assert a.attachment and b.attachment
        found = shortest_path_rules(DB.graph, a.attachment, b.attachment, a.mac, b.mac)
        rules += found or []
    spec = IsolationSpec(("h1",), ("h4", "h2"))
    rules += compile_intent(new_intent(9, spec, now=1.0), NtdDirectory(DB)).drops
    return ObservedNetwork.of_plan(DB.links, rules + (extra or []))


ISOLATION = IsolationCheck("intent-9", (H1,), (H4, H2))


def test_an_isolation_holds_for_ipv4_and_arp() -> None:
    net = _isolation_net()
    assert isinstance(verify_isolation(net, ISOLATION), Ok)
    pairs = isolation_pair_checks("intent-9", (H1,), (H4, H2, H1))
    assert [(c.a, c.b) for c in pairs] == [((H1,), (H4,)), ((H1,), (H2,))]
    assert all(isinstance(verify(net, c), Ok) for c in pairs)


def test_without_its_drops_the_baseline_path_breaches_the_isolation() -> None:
    rules = [r for d in (1, 2, 3, 4) for r in control_rules(d)]
    assert H1.attachment and H4.attachment
    rules += shortest_path_rules(DB.graph, H1.attachment, H4.attachment, H1.mac, H4.mac) or []
    net = ObservedNetwork.of_plan(DB.links, rules)
    reason = _failure(verify_isolation(net, ISOLATION), FailureKind.ISOLATION_BREACH)
    assert reason.startswith(
        "IPv4 h1 (10.0.0.1) -> h4 (10.0.0.4) delivered at 0000000000000004 port 1"
    )
    assert ": let through at 0000000000000001 by cookie 0x02" in reason


def test_a_foreign_rule_that_lets_the_groups_talk_is_named() -> None:
    ip = {"eth_type": ETH_TYPE_IPV4, "ipv4_src": H1.ip, "ipv4_dst": H4.ip}
    leak = FlowRule(1, 65500, Match(**ip), (Output(12),), FOREIGN)  # type: ignore[arg-type]
    relay = FlowRule(2, 65500, Match(**ip), (Output(14),), FOREIGN)  # type: ignore[arg-type]
    reason = _failure(
        verify_isolation(_isolation_net([leak, relay]), ISOLATION), FailureKind.ISOLATION_BREACH
    )
    assert reason.startswith(
        "IPv4 h1 (10.0.0.1) -> h4 (10.0.0.4) delivered at 0000000000000004 port 1"
    )
    assert reason.endswith(
        "let through at 0000000000000001 by cookie 0x000000000000f0f0 priority 65500 "
        "match {eth_type=0x0800, ipv4_src=10.0.0.1, ipv4_dst=10.0.0.4}"
    )


def test_arp_that_gets_through_is_a_breach_too() -> None:
    flood = FlowRule(1, 65500, Match(in_port=1, eth_type=ETH_TYPE_ARP), (Output(12),), FOREIGN)
    relay = FlowRule(2, 65500, Match(in_port=11, eth_type=ETH_TYPE_ARP), (Output(14),), FOREIGN)
    arp = FlowRule(4, 65500, Match(in_port=12, eth_type=ETH_TYPE_ARP), (Output(1),), FOREIGN)
    verdict = verify_isolation(_isolation_net([arp, flood, relay]), ISOLATION)
    reason = _failure(verdict, FailureKind.ISOLATION_BREACH)
    assert reason.startswith("ARP request h1 (10.0.0.1) -> h4 (10.0.0.4) delivered")


def test_an_isolation_across_an_unreported_switch_is_unverified() -> None:
    net = _isolation_net()
    net.forget(2)
    net.set_entries(1, [e for e in net.flows[1].entries if e.priority != 65000])
    verdict = verify_isolation(net, IsolationCheck("intent-9", (H1,), (H4,)))
    assert isinstance(verdict, Unverified) and "0000000000000002" in verdict.reason


# ---- slicing --------------------------------------------------------------------------------
def test_verdicts_can_be_taken_in_slices() -> None:
    plan = _plan()
    net = _net(plan, [_drop(2, eth_type=ETH_TYPE_IPV4, ipv4_dst=H4.ip)])
    checks: list[Check] = [*_checks(plan), ISOLATION]
    whole = [type(v).__name__ for _, v in verify_each(net, checks)]
    assert whole == ["Failure", "Ok", "Failure"]  # no isolation drops installed here
    sliced = verify_batch(net, checks, 0, 2) + verify_batch(net, checks, 2, 2)
    assert [type(v).__name__ for _, v in sliced] == whole
    assert [c for c, _ in sliced] == checks
