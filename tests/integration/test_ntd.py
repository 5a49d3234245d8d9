"""NTD on real Open vSwitch in Mininet: discovery, latency, link loss, looped forwarding.

One network for the module: a ring of 4 switches with a chord (a looped topology), one ring
link carrying 20 ms of emulated one-way delay (userspace relay).
"""

from __future__ import annotations

from collections.abc import Iterator

import networkx as nx
import pytest

from testbed.stack import Stack
from testbed.wait import wait_until

pytestmark = pytest.mark.integration

DELAYED = (3, 4)


def _ring_with_chord() -> nx.Graph:
    g = nx.Graph()
    g.add_edges_from([(1, 2), (2, 3), (3, 4), (4, 1), (1, 3)])
    g.edges[DELAYED]["delay_ms"] = 20.0
    return g


@pytest.fixture(scope="module")
def stack(testbed_host: None) -> Iterator[Stack]:
    config_reservation = '\n[[reservation]]\nsrc = "h2"\ndst = "h4"\nbandwidth_mbps = 1\n'
    with Stack(_ring_with_chord(), extra_config=config_reservation) as s:
        yield s


def _dpid_hex(stack: Stack, node: int) -> str:
    assert stack.net is not None
    return f"{stack.net.dpid[node]:016x}"


def test_pingall_on_looped_topology(stack: Stack) -> None:
    assert stack.net is not None
    assert stack.net.pingall() == 0.0


def test_topology_lists_every_switch_link_and_host(stack: Stack) -> None:
    assert stack.net is not None
    topo = stack.get("/v1/topology")
    assert len(topo["switches"]) == 4
    assert len(topo["links"]) == 10  # 5 cables, one entry per direction
    pairs = {(lk["src"], lk["dst"]) for lk in topo["links"]}
    for u, v in stack.graph.edges:
        a, b = _dpid_hex(stack, u), _dpid_hex(stack, v)
        assert (a, b) in pairs and (b, a) in pairs
    hosts = {h["name"]: h for h in topo["hosts"]}
    for info in stack.net.hosts:
        host = hosts[info.name]
        assert host["ip"] == info.ip and host["mac"] == info.mac
        assert host["attachment"] == {"dpid": f"{info.dpid:016x}", "port": info.port}
    for lk in topo["links"]:
        assert {"capacity_mbps", "latency_ms", "zone"} <= set(lk)


def test_delayed_link_latency_is_measured_within_3ms(stack: Stack) -> None:
    a, b = (_dpid_hex(stack, n) for n in DELAYED)

    def measured() -> list[float] | None:
        links = stack.get("/v1/topology")["links"]
        vals = [
            lk["latency_ms"]
            for lk in links
            if {lk["src"], lk["dst"]} == {a, b} and lk["latency_ms"] is not None
        ]
        return vals if len(vals) == 2 else None

    seen: list[list[float]] = []

    def within_3ms() -> bool:
        # the median of the last 9 probes: the first ones on a loaded machine may be off, the
        # median settles within 3 ms of the 20 ms delay
        values = measured()
        seen.append(values or [])
        return values is not None and all(17.0 <= v <= 23.0 for v in values)

    try:
        wait_until(within_3ms, 30.0, 0.2, "the delayed link's latency within 3 ms of 20 ms")
    except TimeoutError:
        pytest.fail(f"latency of the delayed link never within 17-23 ms; last: {seen[-5:]}")
    others = [
        lk["latency_ms"]
        for lk in stack.get("/v1/topology")["links"]
        if {lk["src"], lk["dst"]} != {a, b} and lk["latency_ms"] is not None
    ]
    assert others and max(others) < 5.0


def test_events_are_versioned(stack: Stack) -> None:
    doc = stack.get("/v1/topology/events?since=0")
    versions = [e["version"] for e in doc["events"]]
    assert versions == sorted(versions) and versions[-1] == doc["version"]
    assert {"switch_add", "link_add", "host_add"} <= {e["kind"] for e in doc["events"]}
    later = stack.get(f"/v1/topology/events?since={doc['version']}")
    assert later["events"] == []
    status, body = stack.request("GET", "/v1/topology/events?since=abc")
    assert status == 400 and body["field"] == "since"


def test_link_down_leaves_graph_within_2s_and_traffic_reroutes(stack: Stack) -> None:
    assert stack.net is not None
    net = stack.net
    a, b = _dpid_hex(stack, 1), _dpid_hex(stack, 3)
    h1 = next(h for h in net.hosts if h.switch == 1).name
    h3 = next(h for h in net.hosts if h.switch == 3).name
    assert net.ping(h1, h3, count=3, interval=0.2).received == 3
    net.set_link_up(1, 3, False)
    try:

        def gone() -> bool:
            links = stack.get("/v1/topology")["links"]
            return not any({lk["src"], lk["dst"]} == {a, b} for lk in links)

        wait_until(gone, 2.0, 0.05, "the chord to leave the graph")
        result = net.ping(h1, h3, count=5, interval=0.2)
        assert result.received >= 4, result
    finally:
        net.set_link_up(1, 3, True)
    stack.wait_discovered(10.0)


def test_configured_reservation_is_stitched_once_the_topology_allows(stack: Stack) -> None:
    def active() -> dict[str, object] | None:
        for res in stack.get("/v1/reservations")["reservations"]:
            if res["origin"] == "config" and res["state"] == "ACTIVE":
                return dict(res)
        return None

    res = wait_until(active, 10.0, 0.1, "the configured reservation to become ACTIVE")
    assert res["src"] == "h2" and res["dst"] == "h4"
