"""The stitcher on real OVS in Mininet: proactive metered paths, latency, zones, failover.

Two paths from s1 to s4: via s2 (zone red, fast) and via s3 (zone default, 15 ms of one-way
delay on s1-s3). Hosts h1..h4 hang off s1..s4. One network for the module; tests that move or
break things put them back.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import networkx as nx
import pytest

from testbed.measure import parse_ping
from testbed.stack import Stack
from testbed.wait import wait_until
from vnstitch.clock import parse_rfc3339

pytestmark = pytest.mark.integration


def _two_paths() -> nx.Graph:
    g = nx.Graph()
    g.add_edges_from([(1, 2), (2, 4), (1, 3), (3, 4)])
    g.edges[1, 3]["delay_ms"] = 15.0
    g.nodes[2]["zone"] = "red"
    return g


@pytest.fixture(scope="module")
def stack(testbed_host: None) -> Iterator[Stack]:
    ctl = {"probe_interval_s": 0.5, "link_timeout_s": 3.5, "audit_interval_s": 2.0}
    with Stack(_two_paths(), controller=ctl) as s:

        def latencies_known() -> bool:
            return all(lk["latency_ms"] is not None for lk in s.get("/v1/topology")["links"])

        wait_until(latencies_known, 20.0, 0.2, "every link's latency")
        yield s


def _reserve(stack: Stack, **body: Any) -> dict[str, Any]:
    status, res = stack.request("POST", "/v1/reservations", {"src": "h1", "dst": "h4", **body})
    assert status == 201, res
    assert res["state"] == "ACTIVE", res
    return res


def _release(stack: Stack, res: dict[str, Any]) -> None:
    status, _ = stack.request("DELETE", f"/v1/reservations/{res['id']}")
    assert status == 200


def _names(stack: Stack, path: list[str]) -> list[int]:
    assert stack.net is not None
    by_dpid = {f"{d:016x}": n for n, d in stack.net.dpid.items()}
    return [by_dpid[p] for p in path]


def _pings(stack: Stack, count: int, interval: float) -> subprocess.Popen[str]:
    assert stack.net is not None
    h1 = stack.net.net["h1"]
    cmd = ["ping", "-n", "-i", str(interval), "-c", str(count), "-W", "1", "10.0.0.4"]
    proc: subprocess.Popen[str] = h1.popen(cmd, stdout=subprocess.PIPE, text=True)
    return proc


def _wait_packets_through(stack: Stack, node: int, packets: int) -> None:
    """Poll until the reservation's rule for h1 -> h4 on switch ``node`` has seen packets."""

    def counted() -> bool:
        for line in stack.dump_flows(node).splitlines():
            if "priority=20000" in line and "nw_dst=10.0.0.4" in line:
                return int(line.split("n_packets=")[1].split(",")[0]) >= packets
        return False

    wait_until(counted, 10.0, 0.05, f"{packets} packets through switch {node}")


def test_stitched_pair_never_reaches_the_controller(stack: Stack) -> None:
    res = _reserve(stack, bandwidth_mbps=5)
    try:
        flows = stack.dump_flows(1)
        assert "priority=20000" in flows and "nw_dst=10.0.0.4" in flows
        before = stack.get("/v1/stats")["packet_in"].get("ipv4", 0)
        assert stack.net is not None
        result = stack.net.ping("h1", "h4", count=5, interval=0.1)
        assert result.received == 5
        after = stack.get("/v1/stats")["packet_in"].get("ipv4", 0)
        assert after == before, "an IPv4 packet of the stitched pair reached the controller"
    finally:
        _release(stack, res)
    assert "priority=20000" not in stack.dump_flows(1)


def test_meter_holds_tcp_to_the_reserved_rate(stack: Stack) -> None:
    res = _reserve(stack, bandwidth_mbps=10)
    try:
        assert stack.net is not None
        assert "meter" in stack.dump_flows(1)
        mbps = stack.net.iperf3("h1", "h4", seconds=5)
        assert 9.0 <= mbps <= 11.5, mbps
    finally:
        _release(stack, res)


def _path_latency(stack: Stack, names: list[int]) -> float:
    """The measured one-way latency of a path of switches (inf while a link is unmeasured)."""
    assert stack.net is not None
    dpid = {n: f"{stack.net.dpid[n]:016x}" for n in names}
    links = stack.get("/v1/topology")["links"]
    per_link = {(lk["src"], lk["dst"]): lk["latency_ms"] for lk in links}
    hops = [per_link.get((dpid[a], dpid[b])) for a, b in itertools.pairwise(names)]
    return math.inf if None in hops else float(sum(hops))


def _paths_told_apart(stack: Stack) -> None:
    """Wait until the measured latencies tell the two paths apart (the slow one carries 15 ms
    of delay): medians of probes on a shared machine, and a link that came back is unmeasured
    for a few probes."""

    def apart() -> bool:
        slow, fast = _path_latency(stack, [1, 3, 4]), _path_latency(stack, [1, 2, 4])
        return math.isfinite(slow) and slow - fast >= 8.0

    wait_until(apart, 30.0, 0.2, "the measured latencies of the two paths to differ")


def test_latency_bound_takes_the_fast_path_and_refuses_the_impossible(stack: Stack) -> None:
    _paths_told_apart(stack)  # then bound between them
    bound = round(_path_latency(stack, [1, 2, 4]) + 4.0, 1)
    res = _reserve(stack, max_latency_ms=bound)
    try:
        assert _names(stack, res["path"]) == [1, 2, 4]
    finally:
        _release(stack, res)
    status, body = stack.request(
        "POST",
        "/v1/reservations",
        {"src": "h1", "dst": "h4", "max_latency_ms": bound, "avoid_zones": ["red"]},
    )
    assert status == 409 and body["constraint"] == "latency", body
    assert body["near_miss"] is not None


def test_zone_restriction_never_crosses_the_avoided_switch(stack: Stack) -> None:
    res = _reserve(stack, avoid_zones=["red"])
    try:
        assert _names(stack, res["path"]) == [1, 3, 4]
        assert "priority=20000" not in stack.dump_flows(2)
        assert "priority=20000" in stack.dump_flows(3)
    finally:
        _release(stack, res)
    status, body = stack.request(
        "POST", "/v1/reservations", {"src": "h1", "dst": "h4", "zones": ["red"]}
    )
    assert status == 409 and body["constraint"] == "zone", body
    assert stack.net is not None
    stack.net.set_link_up(1, 3, False)  # now only the path through the red switch is left
    try:
        a, c = f"{stack.net.dpid[1]:016x}", f"{stack.net.dpid[3]:016x}"

        def chord_gone() -> bool:
            links = stack.get("/v1/topology")["links"]
            return not any({lk["src"], lk["dst"]} == {a, c} for lk in links)

        wait_until(chord_gone, 5.0, 0.05, "the 1-3 link to leave the graph")
        status, body = stack.request(
            "POST", "/v1/reservations", {"src": "h1", "dst": "h4", "avoid_zones": ["red"]}
        )
        if status == 201:  # do not leak a reservation into the next tests
            stack.request("DELETE", f"/v1/reservations/{body['id']}")
        assert status == 409 and body["constraint"] == "zone", body
    finally:
        stack.net.set_link_up(1, 3, True)
    stack.wait_discovered(10.0)


def test_bad_request_names_the_field(stack: Stack) -> None:
    for body, field in [
        ({"src": "h1"}, "dst"),
        ({"src": "h1", "dst": "h4", "bandwidth_mbps": "ten"}, "bandwidth_mbps"),
        ({"src": "h1", "dst": "h4", "colour": "blue"}, "colour"),
    ]:
        status, answer = stack.request("POST", "/v1/reservations", body)
        assert status == 400 and answer["field"] == field, answer
    status, answer = stack.request("POST", "/v1/reservations", {"src": "h1", "dst": "nowhere"})
    assert status == 409 and answer["constraint"] == "endpoint"


def test_audit_restores_a_rule_deleted_by_hand(stack: Stack) -> None:
    res = _reserve(stack, bandwidth_mbps=2)
    try:
        assert stack.net is not None
        sw = stack.net.net[stack.net.switch_name[4]]
        sw.cmd(f"ovs-ofctl -O OpenFlow13 del-flows {sw.name} ip,nw_src=10.0.0.1,nw_dst=10.0.0.4")
        assert "nw_src=10.0.0.1,nw_dst=10.0.0.4" not in stack.dump_flows(4)
        wait_until(
            lambda: "nw_src=10.0.0.1,nw_dst=10.0.0.4" in stack.dump_flows(4),
            8.0,
            0.2,
            "the audit to re-install the rule",
        )
    finally:
        _release(stack, res)


def test_planned_move_is_make_before_break(stack: Stack) -> None:
    _paths_told_apart(stack)
    res = _reserve(stack, bandwidth_mbps=5)
    try:
        assert _names(stack, res["path"]) == [1, 2, 4]
        pings = _pings(stack, 200, 0.01)
        _wait_packets_through(stack, 2, 30)  # the pings run on the old path before the move
        status, moved = stack.request(
            "PATCH", f"/v1/reservations/{res['id']}", {"avoid_zones": ["red"]}
        )
        assert status == 200 and moved["state"] == "ACTIVE", moved
        assert _names(stack, moved["path"]) == [1, 3, 4]
        out, _ = pings.communicate(timeout=30)
        result = parse_ping(out)
        assert result.sent == 200 and result.received == 200, out[-300:]
    finally:
        _release(stack, res)


def test_link_failure_moves_the_reservation_within_2s(stack: Stack) -> None:
    assert stack.net is not None
    _paths_told_apart(stack)
    res = _reserve(stack, bandwidth_mbps=5)
    if _names(stack, res["path"]) != [1, 2, 4]:
        _release(stack, res)  # do not leak it into the next tests
        pytest.fail(f"the fast path was not chosen: {res['path']}")
    pings = _pings(stack, 500, 0.01)
    _wait_packets_through(stack, 2, 50)  # traffic flows on the path that is about to break
    stack.net.set_link_up(1, 2, False)
    failed_at = time.monotonic()
    try:

        def moved() -> bool:
            now = stack.get(f"/v1/reservations/{res['id']}")
            return now["state"] == "ACTIVE" and _names(stack, now["path"]) == [1, 3, 4]

        wait_until(moved, 2.0, 0.02, "the reservation to move off the failed link")
        took = time.monotonic() - failed_at
        out, _ = pings.communicate(timeout=60)
        result = parse_ping(out)
        assert result.sent == 500 and result.received >= 485, (took, out[-300:])
    finally:
        stack.net.set_link_up(1, 2, True)
        _release(stack, res)
    stack.wait_discovered(10.0)


def test_state_changes_need_the_bearer_token(stack: Stack) -> None:
    body = {"src": "h1", "dst": "h4"}
    status, answer = stack.request("POST", "/v1/reservations", body, token=None)
    assert status == 401 and answer["field"] == "Authorization"
    status, _ = stack.request("POST", "/v1/reservations", body, token="wrong")
    assert status == 403
    status, _ = stack.request("GET", "/v1/topology", token=None)
    assert status == 401  # reads are closed unless [api] open_reads = true
    assert stack.get("/v1/reservations")["reservations"] is not None


def test_times_in_the_api_are_wall_clock_utc(stack: Stack) -> None:
    before = time.time()
    res = _reserve(stack, bandwidth_mbps=2)
    try:
        shown = stack.get(f"/v1/reservations/{res['id']}")
        for key in ("created_at", "updated_at", "installed_at"):
            assert shown[key].endswith("Z"), shown
            assert before - 1.0 <= parse_rfc3339(shown[key]) <= time.time() + 1.0, (key, shown)
        events = stack.get("/v1/topology/events")["events"]
        assert events and all(e["time"].endswith("Z") for e in events)
    finally:
        _release(stack, res)
