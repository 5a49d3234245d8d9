"""Dynamic adjustment on real switches: a pair surges on a shared link, the other reservation
moves to the free path within a few statistics rounds, and neither reserved flow loses a packet.

Triangle s1-s2 (direct, shared) and s1-s3-s2 (the free detour), 20 Mbit/s each (htb). Both
reservations take the direct link. Pair A (h1 -> h3) then sends best effort on top of its
reserved flow (best-effort floor 8 Mbit/s, so the surge is let through): the direct link runs
above the configured 50 % for 3 rounds of 0.5 s, and B -- the larger one, moved first -- is
moved make-before-break to s1-s3-s2 while both reserved UDP flows keep running.
"""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import networkx as nx
import pytest

from testbed.controller import is_listening
from testbed.measure import parse_iperf3_udp_loss
from testbed.stack import Stack
from testbed.wait import wait_until

pytestmark = pytest.mark.integration

ADJUSTMENT = """
[adjustment]
enabled = true
congestion_threshold = 0.5
congestion_rounds = 3
"""
FLOW_S = 12


@pytest.fixture(scope="module")
def stack(testbed_host: None) -> Iterator[Stack]:
    g = nx.Graph()
    g.add_edge(1, 2, bw_mbps=20)
    g.add_edge(1, 3, bw_mbps=20)
    g.add_edge(3, 2, bw_mbps=20)
    g.nodes[3]["hosts"] = 0
    controller = {
        "probe_interval_s": 0.5,
        "link_timeout_s": 3.5,
        "stats_interval_s": 0.5,
        "best_effort_floor_mbps": 8,
    }
    with Stack(g, hosts_per_switch=2, controller=controller, extra_config=ADJUSTMENT) as s:
        yield s


def _udp_flow(stack: Stack, src: str, dst: str, port: int, mbps: float) -> Any:
    """Start an iperf3 UDP flow (server first); returns (server, client) processes."""
    assert stack.net is not None
    net = stack.net
    server = net.net[dst].popen(
        ["iperf3", "-s", "-1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: is_listening(port, pid=server.pid), 5.0, what=f"iperf3 on {dst}:{port}")
    cmd = ["iperf3", "-c", net.host(dst).ip, "-p", str(port), "-u", "-b", f"{mbps}M"]
    cmd += ["-t", str(FLOW_S), "-l", "1000", "-J"]
    client = net.net[src].popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return server, client


def _finish(flow: Any) -> str:
    server, client = flow
    try:
        out, _ = client.communicate(timeout=FLOW_S + 20)
        return str(out.decode(errors="replace"))
    finally:
        if server.poll() is None:
            server.terminate()
        server.wait(timeout=5)


def _reserve(stack: Stack, src: str, dst: str, mbps: float, port: int) -> dict[str, Any]:
    body = {"src": src, "dst": dst, "bandwidth_mbps": mbps, "ip_proto": 17, "dst_port": port}
    status, doc = stack.request("POST", "/v1/reservations", body)
    assert status == 201 and doc["state"] == "ACTIVE", doc
    return dict(doc)


def test_surge_on_a_shared_link_moves_the_other_reservation_without_loss(stack: Stack) -> None:
    assert stack.net is not None
    net = stack.net
    s1, s2, s3 = (f"{net.dpid[n]:016x}" for n in (1, 2, 3))
    a = _reserve(stack, "h1", "h3", 3, 5201)
    b = _reserve(stack, "h2", "h4", 4, 5202)
    assert a["path"] == [s1, s2] and b["path"] == [s1, s2], (a, b)
    flows = [
        _udp_flow(stack, "h1", "h3", 5201, 2.5),  # A's reserved flow
        _udp_flow(stack, "h2", "h4", 5202, 3.0),  # B's reserved flow
        _udp_flow(stack, "h1", "h3", 5301, 6.0),  # A's surge: best effort on the same link
    ]
    started = time.monotonic()

    def moved() -> dict[str, Any] | None:
        doc = stack.get(f"/v1/reservations/{b['id']}")
        return dict(doc) if doc["path"] == [s1, s3, s2] and doc["state"] == "ACTIVE" else None

    try:
        doc = wait_until(moved, 8.0, 0.1, "B moved onto s1-s3-s2")
        took = time.monotonic() - started
    finally:
        outputs = [_finish(f) for f in flows]
    lost_a, sent_a = parse_iperf3_udp_loss(outputs[0])
    lost_b, sent_b = parse_iperf3_udp_loss(outputs[1])
    print(f"B moved after {took:.1f} s; lost A {lost_a}/{sent_a}, B {lost_b}/{sent_b}")
    assert sent_a > 1000 and sent_b > 1000
    assert lost_a == 0 and lost_b == 0, (outputs[0][-400:], outputs[1][-400:])
    assert any(h["reason"] and "congestion on" in h["reason"] for h in doc["history"]), doc
    assert stack.get(f"/v1/reservations/{a['id']}")["path"] == [s1, s2]  # A stays
    req = urllib.request.Request(stack.controller.rest_url + "/metrics")
    req.add_header("Authorization", f"Bearer {stack.token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read().decode()
    assert 'vnstitch_adjustment_moves_total{reason="congestion"} 1.0' in text, text[-3000:]
