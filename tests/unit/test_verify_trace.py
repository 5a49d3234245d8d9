"""Tracing on observed tables: priorities, meters, groups, rewrites, loops, class splits."""

from __future__ import annotations

from typing import Any

from topology.model import LinkId
from vnstitch.core.events import FlowCounters
from vnstitch.rules.model import (
    ETH_TYPE_ARP,
    ETH_TYPE_IPV4,
    PORT_CONTROLLER,
    PORT_IN_PORT,
    Bucket,
    FlowRule,
    Group,
    GroupKind,
    GroupSpec,
    Match,
    MeterSpec,
    Output,
    ReportedAction,
    SetField,
    UnknownAction,
)
from vnstitch.verify.entries import Entry, make_entry
from vnstitch.verify.outcomes import OutcomeKind
from vnstitch.verify.packets import ANY, Packet, ipv4_packet
from vnstitch.verify.tables import ObservedNetwork
from vnstitch.verify.trace import Branch, trace

# s1 --(1:10 <-> 2:20)-- s2 --(2:30 <-> 3:40)-- s3; hosts on port 1 of each switch.
S1_S2 = LinkId(1, 10, 2, 20)
S2_S3 = LinkId(2, 30, 3, 40)
S1_S3 = LinkId(1, 11, 3, 41)  # used by the fast-failover tests only
LINKS = [S1_S2, S1_S2.reverse(), S2_S3, S2_S3.reverse()]
H1, H3 = ("00:00:00:00:00:01", "10.0.0.1"), ("00:00:00:00:00:03", "10.0.0.3")


def _ip() -> Packet:
    return ipv4_packet(H1[0], H3[0], H1[1], H3[1])


def _entry(
    dpid: int,
    priority: int,
    actions: tuple[ReportedAction, ...] = (),
    cookie: int = 0,
    meter_id: int | None = None,
    **match: Any,
) -> Entry:
    return make_entry(dpid, priority, cookie, match, meter_id, actions)


def _miss(dpid: int) -> Entry:
    return _entry(dpid, 0, (Output(PORT_CONTROLLER),))


def _path_tables(links: list[LinkId] | None = None) -> ObservedNetwork:
    """s1 -> s2 -> s3 for IPv4 to 10.0.0.3 (metered at s1), table-miss to the controller."""
    net = ObservedNetwork(LINKS if links is None else links)
    ip: dict[str, Any] = {"eth_type": ETH_TYPE_IPV4, "ipv4_dst": H3[1]}
    net.set_entries(1, [_entry(1, 20000, (Output(10),), 0x10, 7, in_port=1, **ip), _miss(1)])
    net.set_entries(2, [_entry(2, 20000, (Output(30),), 0x10, in_port=20, **ip), _miss(2)])
    net.set_entries(3, [_entry(3, 20000, (Output(1),), 0x10, in_port=40, **ip), _miss(3)])
    return net


def _only(net: ObservedNetwork, dpid: int = 1, port: int = 1, pkt: Packet | None = None) -> Branch:
    found = trace(net, dpid, port, pkt or _ip())
    assert len(found.branches) == 1, [b.outcome.describe() for b in found.branches]
    return found.main


def test_a_path_is_followed_hop_by_hop_with_its_meter() -> None:
    branch = _only(_path_tables())
    assert branch.outcome.kind is OutcomeKind.DELIVERED
    assert (branch.outcome.dpid, branch.outcome.port) == (3, 1)
    assert [(h.dpid, h.in_port, h.out_ports) for h in branch.hops] == [
        (1, 1, (10,)),
        (2, 20, (30,)),
        (3, 40, (1,)),
    ]
    assert [h.meter_id for h in branch.hops] == [7, None, None]
    assert branch.hops[0].to_dict()["entry"]["cookie"] == "0x0000000000000010"


def test_the_highest_priority_entry_wins_and_a_drop_names_itself() -> None:
    net = _path_tables()
    drop = _entry(2, 30000, (), 0xBAD, eth_type=ETH_TYPE_IPV4, ipv4_dst=H3[1])
    net.set_entries(2, [*net.flows[2].entries, drop])
    outcome = _only(net).outcome
    assert outcome.kind is OutcomeKind.DROPPED and outcome.entry == drop
    assert outcome.describe() == (
        "dropped at switch 0000000000000002 by cookie 0x0000000000000bad priority 30000 "
        "match {eth_type=0x0800, ipv4_dst=10.0.0.3}"
    )
    lower = _entry(2, 100, (), 0xBAD, eth_type=ETH_TYPE_IPV4, ipv4_dst=H3[1])
    net.set_entries(2, [*net.flows[2].entries[:2], lower])
    assert _only(net).outcome.kind is OutcomeKind.DELIVERED


def test_table_miss_controller_and_unreported_switches_are_distinct() -> None:
    net = _path_tables()
    net.set_entries(2, [])
    assert _only(net).outcome.kind is OutcomeKind.TABLE_MISS
    net.set_entries(2, [_miss(2)])
    outcome = _only(net).outcome
    assert outcome.kind is OutcomeKind.CONTROLLER and outcome.dpid == 2
    net.forget(2)
    assert _only(net).outcome.kind is OutcomeKind.NOT_REPORTED


def test_equal_priority_entries_that_differ_are_ambiguous_and_equal_ones_are_not() -> None:
    net = _path_tables()
    same = _entry(2, 20000, (Output(30),), 0x99, ipv4_src=H1[1], eth_type=ETH_TYPE_IPV4)
    net.set_entries(2, [*net.flows[2].entries, same])
    assert _only(net).outcome.kind is OutcomeKind.DELIVERED
    other = _entry(2, 20000, (Output(5),), 0x99, ipv4_src=H1[1], eth_type=ETH_TYPE_IPV4)
    net.set_entries(2, [*net.flows[2].entries[:2], other])
    outcome = _only(net).outcome
    assert outcome.kind is OutcomeKind.AMBIGUOUS and outcome.rivals
    assert "0x0000000000000099" in outcome.describe()


def test_loops_are_caught() -> None:
    net = ObservedNetwork([*LINKS, S1_S3, S1_S3.reverse()])  # a triangle s1 -> s2 -> s3 -> s1
    net.set_entries(1, [_entry(1, 10, (Output(10),))])
    net.set_entries(2, [_entry(2, 10, (Output(30),))])
    net.set_entries(3, [_entry(3, 10, (Output(41),))])
    branch = _only(net)
    assert branch.outcome.kind is OutcomeKind.LOOP
    back = (branch.outcome.dpid, branch.outcome.port)
    assert back in {(h.dpid, h.in_port) for h in branch.hops}  # a place it had been before
    assert len(branch) == 64  # looked for once a path is long: short paths pay nothing


def test_in_port_hairpins_and_a_plain_output_to_the_ingress_is_not_sent() -> None:
    net = ObservedNetwork(LINKS)
    net.set_entries(1, [_entry(1, 61000, (SetField("arp_op", 2), Output(PORT_IN_PORT)))])
    arp = Packet({"eth_type": ETH_TYPE_ARP, "arp_op": 1})
    branch = _only(net, pkt=arp)
    assert (branch.outcome.kind, branch.outcome.port) == (OutcomeKind.DELIVERED, 1)
    assert branch.packet.fields["arp_op"] == 2  # rewritten before the output
    net.set_entries(1, [_entry(1, 10, (Output(1),))])
    assert _only(net).outcome.kind is OutcomeKind.DROPPED


def test_set_field_rewrites_what_the_next_switch_matches() -> None:
    net = _path_tables()
    net.set_entries(1, [_entry(1, 20000, (SetField("ipv4_dst", "10.9.9.9"), Output(10)))])
    outcome = _only(net).outcome  # s2 no longer matches the rewritten packet
    assert outcome.kind is OutcomeKind.CONTROLLER and outcome.dpid == 2


def _ff_net(down: list[tuple[int, int]]) -> ObservedNetwork:
    """s1 protects s1->s3 by a fast-failover group: direct link first, via s2 second."""
    net = _path_tables([*LINKS, S1_S3, S1_S3.reverse()])
    buckets = (Bucket((Output(11),), watch_port=11), Bucket((Output(10),), watch_port=10))
    net.set_groups(1, [GroupSpec(1, 5, GroupKind.FAST_FAILOVER, buckets)])
    net.set_entries(1, [_entry(1, 20000, (Group(5),), 0x10, 7, in_port=1)])
    direct = _entry(3, 20000, (Output(1),), in_port=41, eth_type=ETH_TYPE_IPV4, ipv4_dst=H3[1])
    net.set_entries(3, [*net.flows[3].entries, direct])
    net.set_down_ports(down)
    return net


def test_fast_failover_takes_the_first_live_bucket() -> None:
    branch = _only(_ff_net([]))
    assert [h.dpid for h in branch.hops] == [1, 3]
    assert branch.hops[0].note == "group 5 (ff) bucket 0" and branch.hops[0].meter_id == 7
    branch = _only(_ff_net([(1, 11)]))
    assert [h.dpid for h in branch.hops] == [1, 2, 3]
    assert branch.hops[0].note == "group 5 (ff) bucket 1"
    assert branch.outcome.kind is OutcomeKind.DELIVERED
    outcome = _only(_ff_net([(1, 11), (1, 10)])).outcome
    assert outcome.kind is OutcomeKind.DROPPED and "no live bucket" in outcome.detail


def test_all_and_select_groups_follow_every_bucket() -> None:
    for kind in (GroupKind.ALL, GroupKind.SELECT):
        net = _path_tables()
        buckets = (
            Bucket((Output(10),)),
            Bucket((SetField("eth_dst", "aa:aa:aa:aa:aa:aa"), Output(2))),
        )
        net.set_groups(1, [GroupSpec(1, 6, kind, buckets)])
        net.set_entries(1, [_entry(1, 20000, (Group(6),), in_port=1)])
        found = trace(net, 1, 1, _ip())
        ends = sorted((b.outcome.dpid, b.outcome.port) for b in found.branches)
        assert ends == [(1, 2), (3, 1)]
        copy = next(b for b in found.branches if b.outcome.port == 2)
        assert copy.packet.fields["eth_dst"] == "aa:aa:aa:aa:aa:aa"


def test_groups_missing_or_unreported_are_named() -> None:
    net = _path_tables()
    net.set_entries(1, [_entry(1, 20000, (Group(8),), in_port=1)])
    net.groups.pop(1, None)
    assert _only(net).outcome.kind is OutcomeKind.NOT_REPORTED
    net.set_groups(1, [])
    outcome = _only(net).outcome
    assert outcome.kind is OutcomeKind.DROPPED
    assert "group 8 missing on 0000000000000001" in outcome.describe()


def test_goto_table_and_unknown_actions_are_not_guessed() -> None:
    net = _path_tables()
    goto = make_entry(1, 20000, 0, {"in_port": 1}, goto_table=1)
    net.set_entries(1, [goto])
    outcome = _only(net).outcome
    assert outcome.kind is OutcomeKind.UNSUPPORTED and "goto_table:1" in outcome.detail
    net.set_entries(1, [_entry(1, 20000, (UnknownAction("push_vlan"), Output(10)), in_port=1)])
    assert "push_vlan" in _only(net).outcome.describe()


def test_a_class_is_split_where_an_entry_catches_part_of_it() -> None:
    net = _path_tables()
    tcp = _entry(2, 30000, (), 0xBAD, eth_type=ETH_TYPE_IPV4, ip_proto=6, ipv4_dst=H3[1])
    net.set_entries(2, [*net.flows[2].entries, tcp])
    found = trace(net, 1, 1, _ip())
    assert _ip().fields["ip_proto"] is ANY
    assert [(b.part, b.outcome.kind) for b in found.branches] == [
        ((), OutcomeKind.DELIVERED),
        ((("ip_proto", 6),), OutcomeKind.DROPPED),
    ]
    assert found.branches[1].outcome.entry == tcp
    udp = ipv4_packet(H1[0], H3[0], H1[1], H3[1]).with_fields({"ip_proto": 17})
    assert _only(net, pkt=udp).outcome.kind is OutcomeKind.DELIVERED


def test_masked_matches_are_matched() -> None:
    net = _path_tables()
    subnet = make_entry(2, 30000, 0xBAD, {"ipv4_dst": ("10.0.0.0", "255.255.255.0")})
    net.set_entries(2, [*net.flows[2].entries, subnet])
    outcome = _only(net).outcome  # ipv4_dst without eth_type is still matched here
    assert outcome.kind is OutcomeKind.DROPPED and outcome.entry == subnet
    assert "ipv4_dst=10.0.0.0/255.255.255.0" in outcome.describe()
    other = make_entry(2, 30000, 0xBAD, {"ipv4_dst": ("10.1.0.0", "255.255.0.0")})
    net.set_entries(2, [*net.flows[2].entries[:2], other])
    assert _only(net).outcome.kind is OutcomeKind.DELIVERED


def test_reported_flows_and_planned_rules_load_alike() -> None:
    rule = FlowRule(1, 20000, Match(in_port=1, eth_src="00:00:00:00:00:AA"), (Output(10),), 0x10, 7)
    report = FlowCounters(
        20000, 0x10, {"in_port": 1, "eth_src": "00:00:00:00:00:aa"}, 0, 0.0, meter_id=7,
        actions=(Output(10),),
    )  # fmt: skip
    planned = ObservedNetwork.of_plan(LINKS, [rule], [MeterSpec(1, 7, 5600, 1120)])
    reported = ObservedNetwork(LINKS)
    reported.set_flows(1, [report])
    assert planned.flows[1].entries == reported.flows[1].entries
    assert planned.meters[1][7].rate_kbps == 5600
    assert 2 in planned.flows and not planned.flows[2].entries  # linked switches are reported


def test_the_trace_is_json() -> None:
    found = trace(_path_tables(), 1, 1, _ip())
    doc = found.to_dict()
    assert doc["start"] == {"dpid": "0000000000000001", "port": 1}
    (branch,) = doc["branches"]
    assert [h["dpid"][-1] for h in branch["hops"]] == ["1", "2", "3"]
    assert branch["outcome"]["kind"] == "delivered" and branch["outcome"]["port"] == "1"
    assert branch["hops"][0]["entry"]["actions"] == "meter 7, output:10"
