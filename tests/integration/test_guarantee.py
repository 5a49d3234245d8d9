"""Guarantee, not only a ceiling: a reservation keeps its rate while best-effort floods."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import networkx as nx
import pytest

from testbed.stack import Stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(testbed_host: None) -> Iterator[Stack]:
    g = nx.Graph()
    g.add_edge(1, 2, bw_mbps=20)  # the 20 Mbit/s bottleneck (htb)
    with Stack(g, hosts_per_switch=2) as s:
        yield s


def test_reservation_keeps_9_mbps_while_udp_floods_the_bottleneck(stack: Stack) -> None:
    assert stack.net is not None
    net = stack.net
    h1, h2 = (h.name for h in net.hosts if h.switch == 1)
    h3, h4 = (h.name for h in net.hosts if h.switch == 2)
    status, res = stack.request(
        "POST", "/v1/reservations", {"src": h1, "dst": h3, "bandwidth_mbps": 10}
    )
    assert status == 201 and res["state"] == "ACTIVE", res
    dst = net.net[h4]
    server = dst.popen(["iperf3", "-s", "-1", "-p", "5202"], stdout=subprocess.DEVNULL)
    try:
        flood = net.net[h2].popen(
            ["iperf3", "-c", net.host(h4).ip, "-u", "-b", "50M", "-t", "8", "-p", "5202"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        reserved = net.iperf3(h1, h3, seconds=5)
        flood.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=5)
    assert reserved >= 9.0, f"reserved flow got {reserved:.2f} Mbit/s under a 50 Mbit/s flood"
    links = stack.get("/v1/links")["links"]
    assert any(lk["reserved_mbps"] > 0 for lk in links)
