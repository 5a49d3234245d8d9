"""Every ACTIVE is true, on real OVS (issue #16): contradictions refused, tables verified.

A ring of four switches with one host each (inventory). (a) an isolation over a live
reservation is a 409; with ``preempt`` the reservation goes and the isolation holds in traffic.
(b) a foreign higher-priority drop on a transit switch makes the reservation DEGRADED naming
that switch and rule within two audit periods, and ACTIVE again once the rule is removed. (c)
a foreign rule that lets isolated hosts talk makes the isolation intent report it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import networkx as nx
import pytest

from testbed.stack import Stack
from testbed.wait import wait_until

pytestmark = pytest.mark.integration

AUDIT_S = 1.5


@pytest.fixture(scope="module")
def stack(testbed_host: None) -> Iterator[Stack]:
    ring = nx.cycle_graph([1, 2, 3, 4])
    options = {
        "probe_interval_s": 0.5,
        "link_timeout_s": 3.5,
        "stats_interval_s": 0.5,
        "audit_interval_s": AUDIT_S,
    }
    with Stack(ring, controller=options) as s:
        yield s


def _reaches(stack: Stack, src: str, dst: str) -> bool:
    assert stack.net is not None
    return stack.net.ping(src, dst, count=3, interval=0.2).received > 0


def _state(stack: Stack, path: str, states: set[str], timeout_s: float) -> Any:
    def done() -> Any:
        body = stack.get(path)
        return body if body["state"] in states else None

    return wait_until(done, timeout_s, 0.1, f"{path} in {sorted(states)}")


def test_an_isolation_over_a_reservation_is_refused_then_preempts(stack: Stack) -> None:
    status, res = stack.request(
        "POST", "/v1/reservations", {"src": "h1", "dst": "h3", "bandwidth_mbps": 5}
    )
    assert status == 201 and res["state"] == "ACTIVE", res
    assert _reaches(stack, "h1", "h3")
    isolation = {"kind": "isolation", "a": ["h1"], "b": ["h3"]}
    status, refused = stack.request("POST", "/v1/intents", isolation)
    assert status == 409 and f"reservation {res['id']}" in refused["error"], refused
    assert stack.get(f"/v1/reservations/{res['id']}")["state"] == "ACTIVE"
    assert _reaches(stack, "h1", "h3")  # nothing changed
    status, dry = stack.request("POST", "/v1/intents?dry_run=true", {**isolation, "preempt": True})
    assert status == 200 and dry["withdraws"][0]["reservation"] == res["id"], dry
    status, intent = stack.request("POST", "/v1/intents", {**isolation, "preempt": True})
    assert status == 201 and intent["state"] == "INSTALLED", intent
    gone = stack.get(f"/v1/reservations/{res['id']}")
    assert gone["state"] == "RELEASED" and intent["id"] in gone["reason"]
    assert not _reaches(stack, "h1", "h3")  # the isolation holds in traffic
    assert _reaches(stack, "h1", "h2")
    stack.request("DELETE", f"/v1/intents/{intent['id']}")
    wait_until(lambda: _reaches(stack, "h1", "h3"), 10.0, 0.2, "h1 reaches h3 again")


def _switch(stack: Stack, node: int) -> Any:
    assert stack.net is not None
    return stack.net.net[stack.net.switch_name[node]]


def test_a_foreign_drop_on_a_transit_switch_degrades_then_recovers(stack: Stack) -> None:
    assert stack.net is not None
    dst_ip = stack.net.host("h3").ip
    status, res = stack.request(
        "POST", "/v1/reservations", {"src": "h1", "dst": "h3", "bandwidth_mbps": 4}
    )
    assert status == 201 and res["state"] == "ACTIVE", res
    transit = next(n for n in (2, 4) if _switch(stack, n).dpid in res["path"])
    sw = _switch(stack, transit)
    rule = f"priority=30000,ip,nw_dst={dst_ip}"
    sw.cmd(f"ovs-ofctl -O OpenFlow13 add-flow {sw.name} 'cookie=0xdead,{rule},actions=drop'")
    path = f"/v1/reservations/{res['id']}"
    try:
        degraded = _state(stack, path, {"DEGRADED"}, 2 * AUDIT_S + 5)
        reason = degraded["reason"]
        assert sw.dpid in reason and "dead priority 30000" in reason, reason
        trace = stack.get(f"{path}/trace")
        assert trace["directions"][0]["verdict"] == "failure", trace
        assert "0xdead" in sw.cmd(f"ovs-ofctl -O OpenFlow13 dump-flows {sw.name}")  # kept
    finally:
        sw.cmd(f"ovs-ofctl -O OpenFlow13 --strict del-flows {sw.name} '{rule}'")
    active = _state(stack, path, {"ACTIVE"}, 2 * AUDIT_S + 5)
    assert active["reason"] == "verified in the switches"
    assert stack.get("/v1/stats")["verification_failures"].get("dropped", 0) >= 1
    stack.request("DELETE", path)


def test_a_foreign_rule_letting_isolated_hosts_talk_is_reported(stack: Stack) -> None:
    assert stack.net is not None
    status, intent = stack.request(
        "POST", "/v1/intents", {"kind": "isolation", "a": ["h2"], "b": ["h4"]}
    )
    assert status == 201 and intent["state"] == "INSTALLED", intent
    ident = f"/v1/intents/{intent['id']}"
    assert not _reaches(stack, "h2", "h4")
    h2, h4 = stack.net.host("h2"), stack.net.host("h4")
    p23, p32 = stack.net.link_ports(2, 3)
    p34, p43 = stack.net.link_ports(3, 4)
    bypass = [  # above the isolation's drops: h2 -> s2 -> s3 -> s4 -> h4
        (2, f"in_port={h2.port},ip,nw_dst={h4.ip}", p23),
        (3, f"in_port={p32},ip,nw_dst={h4.ip}", p34),
        (4, f"in_port={p43},ip,nw_dst={h4.ip}", h4.port),
    ]
    for node, match, out in bypass:
        sw = _switch(stack, node)
        flow = f"cookie=0xbeef,priority=65500,{match},actions=output:{out}"
        sw.cmd(f"ovs-ofctl -O OpenFlow13 add-flow {sw.name} '{flow}'")
    try:
        failed = _state(stack, ident, {"FAILED"}, 2 * AUDIT_S + 5)
        assert "beef" in failed["reason"] and "65500" in failed["reason"], failed["reason"]
    finally:
        for node, match, _out in bypass:
            sw = _switch(stack, node)
            sw.cmd(f"ovs-ofctl -O OpenFlow13 --strict del-flows {sw.name} 'priority=65500,{match}'")
    _state(stack, ident, {"INSTALLED"}, 2 * AUDIT_S + 10)
    stack.request("DELETE", ident)
