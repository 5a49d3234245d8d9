"""Compilation: requests for connectivity and low latency, drops that really isolate."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import pytest

from topology.database import TopologyDatabase
from topology.model import Attachment, Host, LinkId, Port
from vnstitch.intents.compile import Objective, compile_intent
from vnstitch.intents.conflicts import find_conflicts
from vnstitch.intents.lifecycle import new_intent
from vnstitch.intents.model import Intent
from vnstitch.intents.resolve import NtdDirectory
from vnstitch.intents.specs import (
    ConnectivitySpec,
    IntentKind,
    IntentSpec,
    IsolationSpec,
    LowLatencySpec,
    ZoneRef,
    isolates,
)
from vnstitch.rules.cookies import KIND_ISOLATION, Cookie
from vnstitch.rules.fake_table import FakeNetwork
from vnstitch.rules.model import ETH_TYPE_ARP, ETH_TYPE_IPV4, FlowRule, Match, Output
from vnstitch.rules.priorities import BASELINE_UNICAST, ISOLATION, RESERVATION
from vnstitch.stitcher.reservation import Origin

LINK = LinkId(1, 10, 2, 10)
# name, mac, ip, switch, port, zone
HOSTS = [
    ("h1", "00:00:00:00:00:01", "10.0.0.1", 1, 1, "blue"),
    ("h2", "00:00:00:00:00:02", "10.0.0.2", 1, 2, "blue"),
    ("h3", "00:00:00:00:00:03", "10.0.0.3", 2, 1, "pci"),
    ("h4", "00:00:00:00:00:04", None, 2, 2, "pci"),
]
MAC = {h[0]: h[1] for h in HOSTS}


def _directory(extra: list[Host] | None = None) -> NtdDirectory:
    db = TopologyDatabase()
    for dpid in (1, 2):
        db.add_switch(dpid, [Port(1), Port(2), Port(10)], 0.0, f"s{dpid}")
    db.link_seen(LINK, 0.0, 0.0)
    db.link_seen(LINK.reverse(), 0.0, 0.0)
    for name, mac, ip, dpid, port, zone in HOSTS:
        db.add_inventory_host(Host(name, mac, ip, Attachment(dpid, port), zone), 0.0)
    for host in extra or []:
        db.add_inventory_host(host, 0.0)
    return NtdDirectory(db)


def _intent(spec: IntentSpec, number: int = 7) -> Intent:
    return new_intent(number, spec, now=1.0)


def _network() -> FakeNetwork:
    """Baseline unicast by destination MAC on both switches, so every host reaches every other."""
    net = FakeNetwork([LINK, LINK.reverse()])
    for _, mac, _, dpid, port, _ in HOSTS:
        for sw in (1, 2):
            out = port if sw == dpid else 10
            net.apply([FlowRule(sw, BASELINE_UNICAST, Match(eth_dst=mac), (Output(out),))])
    return net


def _packet(src: str, dst: str, **fields: Any) -> dict[str, Any]:
    host = {h[0]: h for h in HOSTS}
    out = {"eth_src": host[src][1], "eth_dst": host[dst][1], **fields}
    if host[src][2] and host[dst][2] and "eth_type" not in fields:
        out.update(eth_type=ETH_TYPE_IPV4, ipv4_src=host[src][2], ipv4_dst=host[dst][2])
    return out


def _send(net: FakeNetwork, src: str, dst: str, **fields: Any) -> tuple[int, int] | None:
    host = {h[0]: h for h in HOSTS}[src]
    return net.trace(host[3], host[4], _packet(src, dst, **fields)).delivered_only_to


def test_connectivity_compiles_to_one_intent_request() -> None:
    spec = ConnectivitySpec("h1", "10.0.0.3", 10.0, 20.0, frozenset({"blue"}), frozenset({"red"}))
    out = compile_intent(_intent(spec), _directory())
    assert out.complete and out.reason is None
    assert out.objective is Objective.COST
    (req,) = out.requests
    assert (req.src, req.dst, req.bandwidth_mbps, req.max_latency_ms) == ("h1", "10.0.0.3", 10, 20)
    assert (req.zones, req.avoid_zones, req.bidirectional) == (
        frozenset({"blue"}),
        frozenset({"red"}),
        True,
    )
    assert (req.origin, req.origin_ref) == (Origin.INTENT, "intent-7")
    assert out.drops == [] and out.isolated_pairs == set()


def test_connectivity_to_an_unknown_host_is_unresolved() -> None:
    out = compile_intent(_intent(ConnectivitySpec("h1", "h9")), _directory())
    assert not out.complete
    assert out.unresolved == ["h9"]
    assert out.requests == []
    assert out.reason is not None and "h9" in out.reason


def test_connectivity_between_two_names_of_one_host_cannot_be_met() -> None:
    out = compile_intent(_intent(ConnectivitySpec("h1", "10.0.0.1")), _directory())
    assert not out.complete and out.requests == [] and out.unresolved == []


def test_low_latency_asks_for_every_pair_port_and_protocol_on_latency() -> None:
    spec = LowLatencySpec(("h1", "h2", "h3"), "voip", (5060,), 10.0)
    out = compile_intent(_intent(spec), _directory())
    assert out.complete and out.objective is Objective.LATENCY
    assert len(out.requests) == 6
    services = {(frozenset((r.src, r.dst)), r.ip_proto, r.dst_port) for r in out.requests}
    pairs = [frozenset(p) for p in (("h1", "h2"), ("h1", "h3"), ("h2", "h3"))]
    assert services == {(p, proto, 5060) for p in pairs for proto in (6, 17)}
    for req in out.requests:
        assert req.bidirectional and req.bandwidth_mbps == 0 and req.max_latency_ms == 10
        assert req.prefer_latency
        assert (req.origin, req.origin_ref) == (Origin.INTENT, "intent-7")


def test_low_latency_without_ports_covers_all_ipv4_of_each_pair() -> None:
    out = compile_intent(_intent(LowLatencySpec(ZoneRef("blue"))), _directory())
    (req,) = out.requests
    assert {req.src, req.dst} == {"h1", "h2"}
    assert req.ip_proto is None and req.dst_port is None


def test_low_latency_counts_a_host_named_twice_once() -> None:
    out = compile_intent(_intent(LowLatencySpec(("h1", "10.0.0.1", "h2"))), _directory())
    assert [{r.src, r.dst} for r in out.requests] == [{"h1", "h2"}]


def test_low_latency_with_an_unknown_endpoint_fails_but_plans_the_known_pairs() -> None:
    out = compile_intent(_intent(LowLatencySpec(("h1", "h2", "h9"))), _directory())
    assert out.unresolved == ["h9"] and not out.complete
    assert [{r.src, r.dst} for r in out.requests] == [{"h1", "h2"}]


def test_low_latency_needs_two_hosts() -> None:
    out = compile_intent(_intent(LowLatencySpec(ZoneRef("green"))), _directory())
    assert not out.complete and out.requests == []


def test_isolation_drops_both_directions_for_ip_and_ethernet_and_beats_reservations() -> None:
    out = compile_intent(_intent(IsolationSpec(("h1",), ZoneRef("pci"))), _directory())
    assert out.complete
    assert out.isolated_pairs == {
        frozenset((MAC["h1"], MAC["h3"])),
        frozenset((MAC["h1"], MAC["h4"])),
    }
    net = _network()
    reserved = Match(eth_type=ETH_TYPE_IPV4, ipv4_src="10.0.0.1", ipv4_dst="10.0.0.3")
    net.apply([FlowRule(1, RESERVATION, reserved, (Output(10),))])
    assert _send(net, "h1", "h3") == (2, 1)  # reachable before the drops
    net.apply(out.drops)
    for src, dst in (("h1", "h3"), ("h3", "h1"), ("h1", "h4"), ("h4", "h1")):
        assert _send(net, src, dst) is None, (src, dst)
    assert _send(net, "h1", "h3", eth_type=ETH_TYPE_ARP) is None  # not only IPv4
    assert _send(net, "h1", "h2") == (1, 2)  # others are untouched
    assert _send(net, "h3", "h4") == (2, 2)


def test_isolation_drops_sit_at_the_source_switch_and_name_the_intent() -> None:
    out = compile_intent(_intent(IsolationSpec(("h1",), ("h3",)), 42), _directory())
    assert {(r.dpid, r.match.eth_src or r.match.ipv4_src) for r in out.drops} == {
        (1, MAC["h1"]),
        (1, "10.0.0.1"),
        (2, MAC["h3"]),
        (2, "10.0.0.3"),
    }
    for rule in out.drops:
        assert rule.priority == ISOLATION and rule.actions == ()
        assert Cookie.decode(rule.cookie) == Cookie(KIND_ISOLATION, 42, 0)


def test_isolation_of_a_host_without_a_port_is_unresolved_but_the_rest_is_enforced() -> None:
    roaming = Host("h5", "00:00:00:00:00:05", "10.0.0.5", None, "pci")
    out = compile_intent(_intent(IsolationSpec(("h1",), ZoneRef("pci"))), _directory([roaming]))
    assert out.unresolved == ["h5"] and not out.complete
    assert frozenset((MAC["h1"], "00:00:00:00:00:05")) in out.isolated_pairs
    assert {r.dpid for r in out.drops if r.match.eth_dst == "00:00:00:00:00:05"} == {1}
    assert not [r for r in out.drops if r.match.eth_src == "00:00:00:00:00:05"]


def test_isolation_of_an_empty_zone_is_met_with_no_rules() -> None:
    out = compile_intent(_intent(IsolationSpec(("h1",), ZoneRef("green"))), _directory())
    assert out.complete and out.drops == [] and out.isolated_pairs == set()


def test_isolation_skips_a_host_in_both_groups() -> None:
    out = compile_intent(_intent(IsolationSpec(("h1", "h3"), ZoneRef("pci"))), _directory())
    pairs = [("h1", "h3"), ("h1", "h4"), ("h3", "h4")]  # h3 (in a) is cut off from h4 (in b)
    assert out.isolated_pairs == {frozenset((MAC[x], MAC[y])) for x, y in pairs}


def test_dry_run_document_is_json() -> None:
    out = compile_intent(_intent(IsolationSpec(("h1",), ("h3", "h9"))), _directory())
    doc = json.loads(json.dumps(out.to_dict()))
    assert doc["intent"] == "intent-7"
    assert doc["satisfiable"] is False and doc["unresolved"] == ["h9"]
    assert doc["isolated_pairs"] == [sorted((MAC["h1"], MAC["h3"]))]
    assert {d["dpid"] for d in doc["drops"]} == {"0000000000000001", "0000000000000002"}
    assert all(d["actions"] == "drop" and d["priority"] == ISOLATION for d in doc["drops"])


@dataclass(frozen=True)
class _TeleportSpec:
    """A kind this code does not know (a spec added without teaching compile about it)."""

    a: tuple[str, ...] = ("h1",)
    b: tuple[str, ...] = ("h3",)
    kind: ClassVar[str] = "teleport"

    def to_body(self) -> dict[str, Any]:
        return {"kind": self.kind, "a": list(self.a), "b": list(self.b)}


def test_an_unknown_kind_is_refused_never_compiled_as_an_isolation() -> None:
    stranger = Intent("intent-9", cast(IntentSpec, _TeleportSpec()))
    with pytest.raises(AssertionError):
        compile_intent(stranger, _directory())
    with pytest.raises(AssertionError):
        isolates(stranger.spec)
    with pytest.raises(AssertionError):
        find_conflicts(stranger, [_intent(ConnectivitySpec("h1", "h3"))], _directory())


def test_every_kind_compiles() -> None:
    specs: dict[IntentKind, IntentSpec] = {
        IntentKind.CONNECTIVITY: ConnectivitySpec("h1", "h3"),
        IntentKind.LOW_LATENCY: LowLatencySpec(("h1", "h3")),
        IntentKind.ISOLATION: IsolationSpec(("h1",), ("h3",)),
    }
    assert set(specs) == set(IntentKind)
    for kind, spec in specs.items():
        assert spec.kind is kind
        out = compile_intent(_intent(spec), _directory())
        assert out.complete
        assert (bool(out.drops), bool(out.requests)) == (isolates(spec), not isolates(spec))
