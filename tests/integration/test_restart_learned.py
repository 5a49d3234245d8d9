"""Restarts and lies on real OVS with no host inventory: every host is learned from traffic.

A ring of four switches, one host each, and a controller that knows no host until it sends
a packet. Defects of issue #14 pinned here: a kill -9 + restart deletes no rule and keeps
pings flowing (1); a meter deleted by hand makes its reservation DEGRADED with the switch's
reason until the audit repaired it (2); a kill -9 in a burst of intents leaves every intent
final and no orphan rule (3); a switch that lost its controller does not get its host learned
on the neighbour's link port (7).
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import networkx as nx
import pytest

from testbed.measure import parse_ping
from testbed.stack import Stack
from testbed.wait import wait_until

pytestmark = pytest.mark.integration

OWNED = re.compile(r"cookie=0x(1[01]|20|21)([0-9a-f]{14}),")  # reservation/intent kinds
COUNTERS = re.compile(r"(duration|n_packets|n_bytes|idle_age|hard_age)=[^,\s]+,?\s*")
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
    with Stack(ring, controller=options, inventory=False) as s:
        assert s.net is not None
        for src, dst in (("h1", "h3"), ("h2", "h4")):  # ARP + ICMP: all four hosts learned
            assert s.net.ping(src, dst, count=2, interval=0.2).received > 0
        wait_until(lambda: len(s.get("/v1/topology")["hosts"]) == 4, 10.0, 0.1, "4 hosts")
        yield s


def _ip(stack: Stack, host: str) -> str:
    """Learned hosts are named by their address."""
    assert stack.net is not None
    return stack.net.host(host).ip


def _owned_rules(stack: Stack) -> set[str]:
    """Every reservation/intent entry on every switch, without its counters."""
    out = set()
    for node in (1, 2, 3, 4):
        for line in stack.dump_flows(node).splitlines():
            if OWNED.search(line):
                out.add(f"{node} {COUNTERS.sub('', line).strip()}")
    return out


def _wait_state(stack: Stack, path: str, states: set[str], timeout_s: float = 20.0) -> Any:
    def done() -> Any:
        body = stack.get(path)
        return body if body["state"] in states else None

    return wait_until(done, timeout_s, 0.1, f"{path} in {sorted(states)}")


def test_kill_9_with_learned_hosts_only_deletes_nothing(stack: Stack) -> None:
    """Hosts only learned from traffic; kill -9; restart: 0 rules deleted, pings go on."""
    ids = []
    for n, (src, dst) in enumerate((("h1", "h3"), ("h2", "h4"), ("h1", "h2"), ("h3", "h4"))):
        body = {"src": _ip(stack, src), "dst": _ip(stack, dst), "bandwidth_mbps": 2 + n}
        body["ip_proto"] = 1
        status, res = stack.request("POST", "/v1/reservations", body)
        assert status == 201, res
        ids.append(res["id"])
    intents = []
    for src, dst, port in (("h1", "h3", 80), ("h4", "h2", 443)):
        body = {"kind": "connectivity", "src": _ip(stack, src), "dst": _ip(stack, dst)}
        body["bandwidth_mbps"] = 1
        status, intent = stack.request(
            "POST", "/v1/intents", {**body, "ip_proto": 6, "dst_port": port}
        )
        assert status == 201 and intent["state"] == "INSTALLED", intent
        intents.append(intent["id"])
    wait_until(lambda: stack.get("/v1/stats")["jobs_running"] == 0, 10.0, 0.1, "jobs done")
    before = _owned_rules(stack)
    assert len(before) >= 20, before

    assert stack.net is not None
    h1 = stack.net.net["h1"]
    pings = h1.popen(
        ["ping", "-n", "-i", "0.01", "-c", "1200", "-W", "1", stack.net.host("h3").ip],
        stdout=subprocess.PIPE,
        text=True,
    )
    wait_until(lambda: pings.poll() is None, 2.0, 0.05, "pings running")
    stack.kill_controller()
    stack.restart_controller()
    for res_id in ids:
        _wait_state(stack, f"/v1/reservations/{res_id}", {"ACTIVE"}, 40.0)
    for ident in intents:
        _wait_state(stack, f"/v1/intents/{ident}", {"INSTALLED"}, 40.0)
    rounds = stack.get("/v1/stats")["audit_repairs"]
    try:  # two audit rounds of every switch since the restart
        wait_until(lambda: _owned_rules(stack) == before, 3 * AUDIT_S, 0.2, "same rules")
    except TimeoutError:
        after = _owned_rules(stack)
        raise AssertionError(f"gone: {before - after}\nnew: {after - before}") from None
    out, _ = pings.communicate(timeout=60)
    result = parse_ping(out)
    lost = result.sent - result.received
    print(f"kill -9 restart, learned hosts only: {lost} of {result.sent} pings lost (10 ms)")
    assert _owned_rules(stack) == before  # nothing deleted, nothing added
    assert lost <= 5, out[-300:]
    hosts = stack.get("/v1/topology")["hosts"]
    assert {h["source"] for h in hosts} == {"learned"} and len(hosts) == 4
    assert stack.get("/v1/stats")["audit_repairs"] == rounds  # the audit found nothing
    for res_id in ids:
        stack.request("DELETE", f"/v1/reservations/{res_id}")
    for ident in intents:
        stack.request("DELETE", f"/v1/intents/{ident}")


def _switch(stack: Stack, node: int) -> Any:
    assert stack.net is not None
    return stack.net.net[stack.net.switch_name[node]]


def _meter_of(stack: Stack, node: int, nw_src: str, nw_dst: str) -> int:
    for line in stack.dump_flows(node).splitlines():
        if "priority=20000" in line and f"nw_src={nw_src},nw_dst={nw_dst}" in line:
            found = re.search(r"meter:(\d+)", line)
            if found:
                return int(found.group(1))
    raise AssertionError(f"no metered reservation rule for {nw_src} -> {nw_dst} on {node}")


def _meters(sw: Any) -> set[int]:
    dump = sw.cmd(f"ovs-ofctl -O OpenFlow13 dump-meters {sw.name}")
    return {int(m) for m in re.findall(r"^meter=(\d+) ", dump, re.MULTILINE)}


def test_a_hand_deleted_meter_is_degraded_with_a_reason_then_repaired(stack: Stack) -> None:
    assert stack.net is not None
    src, dst = stack.net.host("h2").ip, stack.net.host("h4").ip
    status, res = stack.request(
        "POST", "/v1/reservations", {"src": src, "dst": dst, "bandwidth_mbps": 3}
    )
    assert status == 201 and res["state"] == "ACTIVE", res
    meter = _meter_of(stack, 2, src, dst)
    sw = stack.net.net[stack.net.switch_name[2]]
    sw.cmd(f"ovs-ofctl -O OpenFlow13 del-meter {sw.name} meter={meter}")
    assert meter not in _meters(sw)
    path = f"/v1/reservations/{res['id']}"

    def repaired() -> Any:
        body = stack.get(path)
        return (
            body
            if body["state"] == "ACTIVE" and body["reason"] == "repaired by the audit"
            else None
        )

    body = wait_until(repaired, 4 * AUDIT_S + 5, 0.1, "the audit's repair")
    degraded = [h for h in body["history"] if h["state"] == "DEGRADED"]
    assert degraded, body["history"]
    assert "missing" in degraded[-1]["reason"] and sw.dpid in degraded[-1]["reason"], degraded
    assert _meter_of(stack, 2, src, dst) == meter
    assert meter in _meters(sw)
    stack.request("DELETE", path)


def test_kill_9_in_a_burst_of_intents_leaves_every_intent_final(stack: Stack) -> None:
    """Killed after a few acknowledged intents: all final within a bound, no orphan rule."""
    acked: list[str] = []
    h1, h3 = _ip(stack, "h1"), _ip(stack, "h3")

    def burst() -> None:
        for port in range(1000, 1030):
            body = {"kind": "connectivity", "src": h1, "dst": h3, "bandwidth_mbps": 0.2}
            try:
                status, intent = stack.request(
                    "POST", "/v1/intents", {**body, "ip_proto": 17, "dst_port": port}
                )
            except OSError:
                return
            if status != 201:
                return
            acked.append(intent["id"])

    sender = threading.Thread(target=burst)
    sender.start()
    wait_until(lambda: len(acked) >= 6, 20.0, 0.01, "6 intents acknowledged")
    stack.kill_controller()
    sender.join(timeout=30)
    stack.restart_controller()

    def all_final() -> list[dict[str, Any]] | None:
        found = stack.get("/v1/intents")["intents"]
        final = ("INSTALLED", "FAILED", "WITHDRAWN")
        return found if all(i["state"] in final for i in found) else None

    final = wait_until(all_final, 40.0, 0.2, "every intent INSTALLED or FAILED")
    got = {i["id"]: i["state"] for i in final}
    assert set(acked) <= set(got), "an acknowledged intent was lost"
    live = {int(r["id"]) for r in stack.get("/v1/reservations")["reservations"]}

    def orphans() -> set[str]:
        return {
            line
            for line in _owned_rules(stack)
            if (m := OWNED.search(line))
            and m.group(1) in ("10", "11", "20")
            and int(m.group(2)[:10], 16) not in live
        }

    wait_until(lambda: not orphans(), 4 * AUDIT_S + 5, 0.2, "orphan rules deleted")
    assert all(got[i] == "INSTALLED" for i in acked), got
    for ident in got:
        stack.request("DELETE", f"/v1/intents/{ident}")


def test_no_host_is_learned_on_the_link_port_of_a_disconnected_neighbour(stack: Stack) -> None:
    """s2 loses its controller; h2's frames reach s1 and s3 through their link ports."""
    assert stack.net is not None
    sw2 = stack.net.net[stack.net.switch_name[2]]
    target = sw2.cmd(f"ovs-vsctl get-controller {sw2.name}").split()
    h2_ip = stack.net.host("h2").ip

    def h2_attachment() -> dict[str, Any]:
        hosts = stack.get("/v1/topology")["hosts"]
        (h2,) = [h for h in hosts if h["ip"] == h2_ip]
        return dict(h2["attachment"])

    at_first = h2_attachment()
    sw2.cmd(f"ovs-vsctl del-controller {sw2.name}")
    try:
        wait_until(lambda: len(stack.get("/v1/topology")["switches"]) == 3, 10.0, 0.1, "s2 gone")
        stack.net.net["h2"].cmd("ip neigh flush all")  # its next ping starts with an ARP
        stack.net.ping("h2", "h1", count=3, interval=0.2)
        assert h2_attachment() == at_first
    finally:
        sw2.cmd(f"ovs-vsctl set-controller {sw2.name} {' '.join(target)}")
    stack.wait_discovered(20.0)
    assert h2_attachment() == at_first


def _rates(sw: Any) -> dict[int, int]:
    dump = sw.cmd(f"ovs-ofctl -O OpenFlow13 dump-meters {sw.name}")
    found = re.findall(r"^meter=(\d+) .*?\n?type=drop rate=(\d+)", dump, re.MULTILINE)
    return {int(m): int(r) for m, r in found}


def test_meters_converge_and_a_restart_leaks_none(stack: Stack) -> None:
    """A rate changed by hand is set back, an orphan meter goes, a restart adds no meter."""
    assert stack.net is not None
    src, dst = _ip(stack, "h1"), _ip(stack, "h3")
    status, res = stack.request(
        "POST", "/v1/reservations", {"src": src, "dst": dst, "bandwidth_mbps": 3}
    )
    assert status == 201 and res["state"] == "ACTIVE", res
    ingress = next(n for n in (1, 2, 3, 4) if _switch(stack, n).dpid == res["path"][0])
    sw = _switch(stack, ingress)
    meter = _meter_of(stack, ingress, src, dst)
    planned = _rates(sw)[meter]
    sw.cmd(
        f"ovs-ofctl -O OpenFlow13 mod-meter {sw.name} "
        f"meter={meter},kbps,burst,band=type=drop,rate={planned * 3},burst_size=100"
    )
    sw.cmd(
        f"ovs-ofctl -O OpenFlow13 add-meter {sw.name} "
        "meter=77,kbps,burst,band=type=drop,rate=1000,burst_size=100"
    )
    assert _rates(sw)[meter] == planned * 3 and 77 in _rates(sw)

    def converged() -> bool:
        rates = _rates(sw)
        return rates.get(meter) == planned and 77 not in rates

    wait_until(converged, 3 * AUDIT_S + 5, 0.2, "meters back as planned, the orphan gone")

    def reservation_meters() -> dict[int, set[int]]:
        return {n: {m for m in _rates(_switch(stack, n)) if m < 0x30000} for n in (1, 2, 3, 4)}

    before = reservation_meters()
    stack.kill_controller()
    stack.restart_controller()
    _wait_state(stack, f"/v1/reservations/{res['id']}", {"ACTIVE"}, 40.0)
    live = stack.get("/v1/reservations")["reservations"]
    wait_until(lambda: reservation_meters() == before, 3 * AUDIT_S + 5, 0.2, "the same meters")
    assert sum(len(ids) for ids in before.values()) == sum(
        2 if r["bidirectional"] and r["bandwidth_mbps"] > 0 else 1 for r in live
    )
    stack.request("DELETE", f"/v1/reservations/{res['id']}")
