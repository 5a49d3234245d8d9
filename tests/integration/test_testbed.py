"""The test bed end to end: Mininet + OVS + ryu-manager (simple_switch_13) + the delay relay."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import networkx as nx
import pytest

from testbed import ovs, ownership
from testbed.controller import ControllerProcess, free_tcp_port
from testbed.naming import unique_prefix
from testbed.network import Testbed, build_network
from testbed.wait import wait_until

pytestmark = pytest.mark.integration

DELAY_MS = 20.0
BW_MBPS = 10.0


def _line_graph() -> nx.Graph:
    """s1 --(10 Mbit/s htb)-- s2 --(20 ms relay, 10 Mbit/s)-- s3, one host each."""
    graph = nx.path_graph([1, 2, 3])
    graph.edges[1, 2]["bw_mbps"] = BW_MBPS
    graph.edges[2, 3].update(delay_ms=DELAY_MS, bw_mbps=BW_MBPS)
    return graph


@pytest.fixture(scope="module")
def controller(testbed_host: None) -> Iterator[ControllerProcess]:
    """simple_switch_13 for forwarding plus rest_topology to see what LLDP discovers."""
    apps = ["ryu.app.simple_switch_13", "ryu.app.rest_topology"]
    with ControllerProcess(apps, extra_args=["--observe-links"]) as ctl:
        yield ctl


@pytest.fixture(scope="module")
def line(controller: ControllerProcess) -> Iterator[Testbed]:
    """One 3-switch line network shared by the tests that only read it."""
    with build_network(_line_graph(), controller.of_port, prefix=unique_prefix("vnsa")) as tb:
        tb.wait_flows(min_flows=1)  # simple_switch_13's table-miss entry
        yield tb


def _discovered_links(controller: ControllerProcess) -> set[tuple[int, int, int, int]]:
    with urllib.request.urlopen(f"{controller.rest_url}/v1.0/topology/links", timeout=5) as rsp:
        links = json.load(rsp)
    return {
        (
            int(link["src"]["dpid"], 16),
            int(link["src"]["port_no"], 16),
            int(link["dst"]["dpid"], 16),
            int(link["dst"]["port_no"], 16),
        )
        for link in links
    }


def _expected_links(tb: Testbed, pairs: list[tuple[int, int]]) -> set[tuple[int, int, int, int]]:
    expected = set()
    for u, v in pairs:
        pu, pv = tb.link_ports(u, v)
        expected |= {(tb.dpid[u], pu, tb.dpid[v], pv), (tb.dpid[v], pv, tb.dpid[u], pu)}
    return expected


def test_controller_serves_rest_for_wsgi_apps(controller: ControllerProcess) -> None:
    assert controller.is_running() and controller.has_rest
    assert controller.rest_url.startswith("http://127.0.0.1:")


def test_switches_and_hosts_are_named_numbered_and_addressed_deterministically(
    line: Testbed,
) -> None:
    assert line.dpid == {1: 1, 2: 2, 3: 3}
    for node, name in line.switch_name.items():
        assert name == f"{line.prefix}{node}"
        datapath_id = ovs.vsctl("get", "Bridge", name, "datapath_id").strip().strip('"')
        assert int(datapath_id, 16) == node
        assert ovs.vsctl("get", "Bridge", name, "fail_mode").strip() == "secure"
    assert [(h.name, h.ip, h.mac, h.switch) for h in line.hosts] == [
        ("h1", "10.0.0.1", "00:00:00:00:00:01", 1),
        ("h2", "10.0.0.2", "00:00:00:00:00:02", 2),
        ("h3", "10.0.0.3", "00:00:00:00:00:03", 3),
    ]
    for host in line.hosts:
        intf = f"{line.switch_name[host.switch]}-eth{host.port}"
        assert int(ovs.vsctl("get", "Interface", intf, "ofport")) == host.port


def test_bridges_record_this_process_as_owner(line: Testbed) -> None:
    bridges = [b for b in ovs.list_bridges(line.prefix) if b.name in line.switch_name.values()]
    assert len(bridges) == 3
    assert all(b.external_ids[ownership.OWNER_KEY] == str(os.getpid()) for b in bridges)


def test_lldp_sees_direct_links_even_through_the_relay(
    line: Testbed, controller: ControllerProcess
) -> None:
    expected = _expected_links(line, [(1, 2), (2, 3)])
    found = wait_until(
        lambda: _discovered_links(controller) == expected, 10.0, what="LLDP discovery"
    )
    assert found


def test_pingall_on_a_line_loses_nothing(line: Testbed) -> None:
    assert line.pingall() == 0.0


def test_relay_link_adds_its_delay_in_each_direction(line: Testbed) -> None:
    line.ping("h2", "h3", count=2, interval=0.2)  # ARP and flow set-up out of the way
    line.ping("h1", "h2", count=2, interval=0.2)
    result = line.ping("h2", "h3", count=20, interval=0.05)
    # the yardstick, in the same moment: a link without the relay (the machine's own latency,
    # a few ms when it is busy) -- the relay adds its delay on top of it
    plain = line.ping("h1", "h2", count=20, interval=0.05)
    assert result.received == 20 and plain.received == 20
    assert abs(result.median_ms - plain.median_ms - 2 * DELAY_MS) <= 3.0, (result, plain)


def test_path_without_relay_has_sub_5ms_rtt(line: Testbed) -> None:
    line.ping("h1", "h2", count=2, interval=0.2)
    result = line.ping("h1", "h2", count=20, interval=0.05)
    assert result.received == 20
    assert result.median_ms < 5.0


def test_bw_link_limits_tcp_throughput(line: Testbed) -> None:
    mbps = line.iperf3("h1", "h2", seconds=4)
    assert 0.85 * BW_MBPS <= mbps <= 1.05 * BW_MBPS


def test_bw_relay_link_delivers_its_rate_under_udp_overload(line: Testbed) -> None:
    mbps = line.iperf3("h2", "h3", seconds=3, udp_mbps=3 * BW_MBPS)
    assert 0.85 * BW_MBPS <= mbps <= 1.05 * BW_MBPS


def _port_link_down(tb: Testbed, node: int, port: int) -> bool:
    out = subprocess.run(
        ["ovs-ofctl", "-O", "OpenFlow13", "show", tb.switch_name[node]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    section = out.split(f" {port}(", 1)[1].split("\n", 3)
    return "LINK_DOWN" in section[2] or "PORT_DOWN" in section[1]


def test_set_link_down_reports_port_status_and_cuts_traffic(
    line: Testbed, controller: ControllerProcess
) -> None:
    port_on_1, _ = line.link_ports(1, 2)
    try:
        line.set_link_up(1, 2, False)
        wait_until(lambda: _port_link_down(line, 1, port_on_1), 5.0, what="port down in OVS")
        # Ryu drops the link on the port-status message, long before its LLDP timeout
        wait_until(
            lambda: _discovered_links(controller) == _expected_links(line, [(2, 3)]),
            5.0,
            what="the controller to forget the 1-2 link",
        )
        assert line.ping("h1", "h2", count=2, interval=0.2, reply_timeout_s=0.5).received == 0
    finally:
        line.set_link_up(1, 2, True)
    wait_until(lambda: not _port_link_down(line, 1, port_on_1), 5.0, what="port up in OVS")
    wait_until(
        lambda: line.ping("h1", "h2", count=1, reply_timeout_s=0.5).received == 1,
        10.0,
        interval_s=0.2,
        what="h1-h2 to recover",
    )


def test_stop_removes_bridges_veths_and_relays(testbed_host: None) -> None:
    graph = nx.Graph()
    graph.add_edge("a", "b", delay_ms=5)
    prefix = unique_prefix("vnsb")
    tb = build_network(graph, free_tcp_port(), prefix=prefix, wait_connected_s=None)
    assert {b.name for b in ovs.list_bridges(prefix)} == {f"{prefix}1", f"{prefix}2"}
    relay = tb.relays[0]
    tb.stop()
    assert ovs.list_bridges(prefix) == []
    assert ovs.root_interfaces(prefix) == []
    assert relay.proc.returncode == 0  # the relay exits cleanly on SIGTERM
    assert not ownership.prefix_is_claimed(prefix)


def _make_bridge_with_port(bridge: str, owner: subprocess.Popen[bytes] | None) -> str:
    ids = []
    if owner is not None:
        start = ownership.process_start_time(owner.pid)
        ids = [
            f"external_ids:{ownership.OWNER_KEY}={owner.pid}",
            f"external_ids:{ownership.OWNER_START_KEY}={start}",
        ]
    ovs.vsctl("add-br", bridge, "--", "set", "Bridge", bridge, "datapath_type=netdev", *ids)
    port = f"{bridge}-eth1"
    subprocess.run(["ip", "link", "add", port, "type", "veth", "peer", "name", f"{bridge}-p"])
    ovs.vsctl("add-port", bridge, port)
    return port


def test_cleanup_spares_a_live_owner_and_removes_a_dead_one(testbed_host: None) -> None:
    prefix = unique_prefix("vnsc")
    owner = subprocess.Popen(["sleep", "60"])
    bridge = f"{prefix}1"
    try:
        port = _make_bridge_with_port(bridge, owner)
        report = ovs.cleanup_leftovers(prefix)
        assert bridge in report.kept_bridges and port in report.kept_interfaces
        assert [b.name for b in ovs.list_bridges(prefix)] == [bridge]
    finally:
        owner.kill()
        owner.wait()
    report = ovs.cleanup_leftovers(prefix)
    assert report.removed_bridges == [bridge]
    assert ovs.list_bridges(prefix) == [] and ovs.root_interfaces(prefix) == []


def test_cleanup_leaves_ownerless_bridges_unless_asked(testbed_host: None) -> None:
    prefix = unique_prefix("vnsd")
    bridge = f"{prefix}1"
    try:
        _make_bridge_with_port(bridge, owner=None)
        assert ovs.cleanup_leftovers(prefix).kept_bridges == [bridge]
        assert ovs.cleanup_leftovers(prefix, include_ownerless=True).removed_bridges == [bridge]
        assert ovs.root_interfaces(prefix) == []
    finally:
        ovs.vsctl("--if-exists", "del-br", bridge)
        subprocess.run(["ip", "link", "del", f"{bridge}-eth1"], capture_output=True)


def test_a_claimed_prefix_protects_veths_that_have_no_bridge_yet(testbed_host: None) -> None:
    prefix = unique_prefix("vnse")
    veths = [f"{prefix}1-eth1", f"{prefix}2-eth1"]
    claim = ownership.claim_prefix(prefix)
    try:
        subprocess.run(["ip", "link", "add", veths[0], "type", "veth", "peer", "name", veths[1]])
        assert sorted(ovs.cleanup_leftovers(prefix).kept_interfaces) == veths
        with pytest.raises(ownership.PrefixInUseError):
            ownership.claim_prefix(prefix)
    finally:
        claim.release()
    assert sorted(ovs.cleanup_leftovers(prefix).removed_interfaces) == veths
    assert ovs.root_interfaces(prefix) == []


def test_cleanup_never_deletes_a_veth_whose_peer_is_protected(testbed_host: None) -> None:
    base = unique_prefix("vnsf")
    live, dead = f"{base}l1-eth1", f"{base}d1-eth1"  # run prefixes base+"l" and base+"d"
    claim = ownership.claim_prefix(f"{base}l")
    try:
        subprocess.run(["ip", "link", "add", dead, "type", "veth", "peer", "name", live])
        assert sorted(ovs.cleanup_leftovers(base).kept_interfaces) == [dead, live]
    finally:
        claim.release()
    assert sorted(ovs.cleanup_leftovers(base).removed_interfaces) == [dead, live]
    assert ovs.root_interfaces(base) == []


_RECEIVER = """
import json, select, sys, time
from testbed.relay import open_port, read_frame
sock = open_port(sys.argv[1]); print("ready", flush=True)
seen, deadline = [], time.monotonic() + 10
while len(seen) < int(sys.argv[2]) and time.monotonic() < deadline:
    select.select([sock], [], [], 0.2)
    while (frame := read_frame(sock)) is not None:
        if frame[12:14] == b"\\x81\\x00" and frame[16:18] == b"\\x88\\xb5":
            seen.append([int.from_bytes(frame[14:16], "big"), int.from_bytes(frame[18:22], "big")])
print(json.dumps(seen), flush=True)
"""

_SENDER = """
import socket, struct, sys
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); sock.bind((sys.argv[1], 0))
head = bytes.fromhex("020000000002020000000001") + struct.pack("!HHH", 0x8100, 0x6064, 0x88B5)
for seq in range(int(sys.argv[2])):
    sock.send(head + struct.pack("!I", seq) + bytes(42))
"""


def test_relay_keeps_frame_order_and_vlan_tags(root_only: None) -> None:
    from mininet.link import Link
    from mininet.node import Host

    from testbed.mnnodes import RelayNode, start_relay

    prefix = unique_prefix("vnsv")
    side_a, side_b = Host(f"{prefix}a"), Host(f"{prefix}b")
    relay_node = RelayNode(f"{prefix}r")
    relay = None
    try:
        to_a, to_b = Link(side_a, relay_node), Link(relay_node, side_b)
        relay = start_relay(relay_node, str(to_a.intf2), str(to_b.intf1), delay_ms=2)
        count = 200
        receiver = side_b.popen(
            [sys.executable, "-c", _RECEIVER, str(to_b.intf2), str(count)],
            stdout=subprocess.PIPE,
        )
        assert receiver.stdout is not None and receiver.stdout.readline().strip() == b"ready"
        side_a.popen([sys.executable, "-c", _SENDER, str(to_a.intf1), str(count)]).wait(10)
        out, _ = receiver.communicate(timeout=15)
        received = json.loads(out)
        assert [tci for tci, _ in received] == [0x6064] * count  # PCP 3, VLAN 100 intact
        assert [seq for _, seq in received] == list(range(count))
    finally:
        if relay is not None:
            relay.stop()
        for node in (side_a, side_b, relay_node):
            node.terminate()
    assert relay.proc.returncode == 0


def test_controller_that_dies_at_startup_reports_its_log() -> None:
    with pytest.raises(RuntimeError, match="No module named 'no_such_app'"):
        ControllerProcess(["no_such_app"]).start()
