"""Build a Mininet network of OVS switches from a networkx graph, and drive it from tests.

One switch per graph node (sorted order: node i is f"{prefix}{i}" with dpid i), hosts first
on each switch's low ports, then one link per edge: `bw_mbps` shapes it with htb, `delay_ms`
(> 0) puts a testbed.relay node in its middle while keeping the two switch ports facing each
other for LLDP. The run claims its prefix for its lifetime, so parallel runs must use different
prefixes, and cleanup never touches a live run's bridges.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import subprocess
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import networkx as nx
from mininet.link import Link, TCIntf, TCLink
from mininet.log import lg as mininet_logger
from mininet.log import setLogLevel
from mininet.net import Mininet

from testbed import naming, ovs, ownership
from testbed.controller import established_to
from testbed.mnnodes import (
    OwnedOVSSwitch,
    QuietRemoteController,
    RelayNode,
    RelayProcess,
    start_relay,
)
from testbed.probes import Probes
from testbed.wait import wait_until

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HostInfo:
    """A host: its name, addresses, and the graph node, dpid and port it hangs off."""

    name: str
    ip: str
    mac: str
    switch: Hashable
    dpid: int
    port: int


@dataclass(frozen=True)
class LinkInfo:
    """A switch-to-switch link: ports and root-namespace interfaces at both ends."""

    u: Hashable
    v: Hashable
    port_u: int
    port_v: int
    intf_u: str
    intf_v: str
    relay: str | None = None


@dataclass
class Testbed(Probes):
    """A running network: names, dpids, ports, and the operations tests need."""

    __test__ = False  # not a pytest test class despite the name

    net: Any
    prefix: str
    controller_port: int
    switch_name: dict[Hashable, str]
    dpid: dict[Hashable, int]
    hosts: list[HostInfo]
    links: dict[frozenset[Hashable], LinkInfo]
    relays: list[RelayProcess] = field(default_factory=list)
    claim: ownership.PrefixClaim | None = None
    build_time_s: float = 0.0
    _stopped: bool = False

    def host(self, name: str) -> HostInfo:
        """The HostInfo of a host by name."""
        for info in self.hosts:
            if info.name == name:
                return info
        raise KeyError(name)

    def link(self, u: Hashable, v: Hashable) -> LinkInfo:
        """The link between graph nodes u and v."""
        return self.links[frozenset((u, v))]

    def link_ports(self, u: Hashable, v: Hashable) -> tuple[int, int]:
        """Switch port numbers of the u-v link: (port on u, port on v)."""
        info = self.link(u, v)
        return (info.port_u, info.port_v) if info.u == u else (info.port_v, info.port_u)

    def switch_intf(self, u: Hashable, v: Hashable) -> str:
        """Root-namespace interface of switch u on its link towards v."""
        info = self.link(u, v)
        return info.intf_u if info.u == u else info.intf_v

    def set_link_up(self, u: Hashable, v: Hashable, up: bool) -> None:
        """Set u's switch-side interface of the u-v link down or up (OVS sends port-status).

        Only u's end is set; the peer of a veth pair loses its carrier too, but see
        :meth:`set_cable_up` to take both switch ports down for certain.
        """
        state = "up" if up else "down"
        subprocess.run(["ip", "link", "set", self.switch_intf(u, v), state], check=True)

    def set_cable_up(self, u: Hashable, v: Hashable, up: bool) -> None:
        """Pull (or plug back) the u-v cable: both switch-side interfaces down (or up) at
        once, so both switches see their port go down and report it."""
        state = "up" if up else "down"
        for a, b in ((u, v), (v, u)):
            subprocess.run(["ip", "link", "set", self.switch_intf(a, b), state], check=True)

    def wait_connected(self, timeout_s: float = 15.0) -> None:
        """Wait until every switch has an open TCP connection to the controller port.

        OVS publishes `Controller.is_connected` only every 5 s, so this counts established
        connections to the controller port instead (OpenFlow handshake follows within ms).
        """
        wanted = len(self.switch_name)
        wait_until(
            lambda: established_to(self.controller_port) >= wanted,
            timeout_s,
            what=f"{wanted} switches to connect to port {self.controller_port}",
        )

    def flow_count(self, node: Hashable) -> int:
        """Number of flow entries in the switch of graph node `node` (all tables)."""
        out = subprocess.run(
            ["ovs-ofctl", "-O", "OpenFlow13", "dump-aggregate", self.switch_name[node]],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        match = re.search(r"flow_count=(\d+)", out)
        return int(match.group(1)) if match else 0

    def wait_flows(self, min_flows: int = 1, timeout_s: float = 10.0) -> None:
        """Wait until every switch holds at least min_flows flow entries (e.g. a table-miss)."""
        for node in self.switch_name:
            wait_until(
                functools.partial(self._has_flows, node, min_flows),
                timeout_s,
                what=f"{min_flows} flow(s) on {self.switch_name[node]}",
            )

    def _has_flows(self, node: Hashable, min_flows: int) -> bool:
        return self.flow_count(node) >= min_flows

    def stop(self) -> None:
        """Stop relays and Mininet, delete this run's bridges and veths, release the prefix."""
        if self._stopped:
            return
        self._stopped = True
        for relay in self.relays:
            relay.stop()
        try:
            self.net.stop()
        finally:
            _remove_own_objects(self.prefix)
            if self.claim:
                self.claim.release()

    def __enter__(self) -> Testbed:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _QuietHtbWarning(logging.Filter):
    """Drop tc's harmless 'quantum of class is big' warning that Mininet logs as an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "quantum of class" not in record.getMessage()


def _quiet_mininet(level: str) -> None:
    setLogLevel(level)
    if not any(isinstance(f, _QuietHtbWarning) for f in mininet_logger.filters):
        mininet_logger.addFilter(_QuietHtbWarning())


def _remove_own_objects(prefix: str) -> None:
    """Delete bridges and root-namespace interfaces of run prefix `prefix` (ours, at stop)."""
    for bridge in ovs.list_bridges(prefix):
        if ownership.run_prefix_of(bridge.name) == prefix:
            ovs.vsctl("--if-exists", "del-br", bridge.name, check=False)
    for name in ovs.root_interfaces(prefix):
        if ownership.run_prefix_of(name) == prefix:
            subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)


def _sorted_nodes(graph: nx.Graph) -> list[Hashable]:
    try:
        return sorted(graph.nodes)
    except TypeError:
        return sorted(graph.nodes, key=repr)


def check_name_lengths(graph: nx.Graph, prefix: str, hosts_per_switch: int) -> None:
    """Fail early, with a clear message, if some interface name would exceed 15 characters."""
    most_ports = max(
        (int(graph.nodes[n].get("hosts", hosts_per_switch)) + graph.degree(n) for n in graph),
        default=0,
    )
    naming.check_intf_name(naming.intf_name(naming.switch_name(prefix, len(graph)), most_ports))
    relays = sum(1 for _, _, d in graph.edges(data=True) if d.get("delay_ms"))
    naming.check_intf_name(naming.intf_name(naming.relay_name(prefix, relays), 1))


def _check_free(prefix: str, names: list[str]) -> None:
    """Refuse to clobber bridges/interfaces of our names that cleanup could not remove."""
    wanted = set(names)
    taken = [b.name for b in ovs.list_bridges(prefix) if b.name in wanted]
    taken += [n for n in ovs.root_interfaces(prefix) if n.split("-", 1)[0] in wanted]
    if taken:
        raise ownership.PrefixInUseError(
            f"objects named like prefix {prefix!r} exist and their owner is alive: {taken}"
        )


def _shaping(bw_mbps: float | None) -> dict[str, Any] | None:
    """TCIntf parameters for an htb rate limit, or None for an unshaped link."""
    if bw_mbps is None:
        return None
    if not 0 < bw_mbps <= 1000:
        raise ValueError(f"bw_mbps must be in (0, 1000], got {bw_mbps}")
    return {"bw": float(bw_mbps), "txo": False, "gro": False}


def build_network(
    graph: nx.Graph,
    controller_port: int,
    *,
    prefix: str = "vns",
    hosts_per_switch: int = 1,
    controller_ip: str = "127.0.0.1",
    wait_connected_s: float | None = 15.0,
    mininet_log_level: str | None = None,
) -> Testbed:
    """Build and start the network for graph, connected to a controller on controller_port.

    Mininet logs at level `mininet_log_level` (default: $VNSTITCH_MININET_LOG or "error").
    """
    started = time.monotonic()
    ownership.validate_prefix(prefix)
    check_name_lengths(graph, prefix, hosts_per_switch)
    _quiet_mininet(mininet_log_level or os.environ.get("VNSTITCH_MININET_LOG", "error"))
    ovs.ensure_ovs_running()
    ovs.cleanup_leftovers(prefix)
    claim = ownership.claim_prefix(prefix)
    nodes = _sorted_nodes(graph)
    names = {node: naming.switch_name(prefix, i) for i, node in enumerate(nodes, 1)}
    try:
        _check_free(prefix, list(names.values()))
        datapath = "kernel" if ovs.kernel_datapath_works() else "user"
        net = Mininet(topo=None, build=False, controller=None, autoSetMacs=False)
    except BaseException:
        claim.release()
        raise
    testbed = Testbed(
        net=net,
        prefix=prefix,
        controller_port=controller_port,
        switch_name=names,
        dpid={node: i for i, node in enumerate(nodes, 1)},
        hosts=[],
        links={},
        claim=claim,
    )
    try:
        _populate(testbed, graph, nodes, hosts_per_switch, datapath, controller_ip, controller_port)
        net.build()
        net.start()
        for info in testbed.hosts:
            net[info.name].cmd(f"ethtool -K {info.name}-eth0 tx off")
        _start_relays(testbed, graph)
        if wait_connected_s is not None:
            testbed.wait_connected(wait_connected_s)
    except BaseException:
        testbed.stop()
        raise
    testbed.build_time_s = time.monotonic() - started
    return testbed


def _populate(
    testbed: Testbed,
    graph: nx.Graph,
    nodes: list[Hashable],
    hosts_per_switch: int,
    datapath: str,
    controller_ip: str,
    controller_port: int,
) -> None:
    """Add the controller, switches, hosts and links to the (not yet built) Mininet."""
    net, prefix = testbed.net, testbed.prefix
    net.addController(
        "c0", controller=QuietRemoteController, ip=controller_ip, port=controller_port
    )
    owner_ids = ownership.owner_external_ids(prefix)
    switches = {}
    for node in nodes:
        name = testbed.switch_name[node]
        switches[node] = net.addSwitch(
            name,
            cls=OwnedOVSSwitch,
            dpid=f"{testbed.dpid[node]:016x}",
            datapath=datapath,
            protocols="OpenFlow13",
            failMode="secure",
            owner_ids=owner_ids,
        )
    index = 0
    for node in nodes:
        count = int(graph.nodes[node].get("hosts", hosts_per_switch))
        for _ in range(count):
            index += 1
            name, ip, mac = naming.host_name(index), naming.host_ip(index), naming.host_mac(index)
            link = net.addLink(net.addHost(name, ip=f"{ip}/8", mac=mac), switches[node])
            port = switches[node].ports[link.intf2]
            testbed.hosts.append(HostInfo(name, ip, mac, node, testbed.dpid[node], port))
    edges = sorted(
        graph.edges(data=True), key=lambda e: sorted((testbed.dpid[e[0]], testbed.dpid[e[1]]))
    )
    relays = 0
    for a, b, attrs in edges:
        u, v = (a, b) if testbed.dpid[a] < testbed.dpid[b] else (b, a)
        relays += 1 if attrs.get("delay_ms") else 0
        info = _add_edge(testbed, switches, u, v, attrs, relays)
        testbed.links[frozenset((u, v))] = info


def _add_edge(
    testbed: Testbed,
    switches: dict[Hashable, Any],
    u: Hashable,
    v: Hashable,
    attrs: dict[str, Any],
    relay_index: int,
) -> LinkInfo:
    """Add the u-v link: direct, or through a relay node when it has a delay."""
    net = testbed.net
    shaping = _shaping(attrs.get("bw_mbps"))
    delay = attrs.get("delay_ms")
    if delay is not None and delay < 0:
        raise ValueError(f"delay_ms must be >= 0 on edge {u}-{v}, got {delay}")
    relay_name = None
    if delay:
        relay = net.addHost(naming.relay_name(testbed.prefix, relay_index), cls=RelayNode)
        relay_name = relay.name
        # Shape on the relay's two outputs (one per direction): the relay counts its own drops,
        # whereas userspace OVS sending into a full htb qdisc loses frames it never reports.
        to_u = {"cls2": TCIntf, "params2": shaping} if shaping else {}
        to_v = {"cls1": TCIntf, "params1": shaping} if shaping else {}
        intf_u = net.addLink(switches[u], relay, cls=Link, **to_u).intf1
        intf_v = net.addLink(relay, switches[v], cls=Link, **to_v).intf2
    else:
        link_cls = TCLink if shaping else Link
        link = net.addLink(switches[u], switches[v], cls=link_cls, **(shaping or {}))
        intf_u, intf_v = link.intf1, link.intf2
    return LinkInfo(
        u,
        v,
        switches[u].ports[intf_u],
        switches[v].ports[intf_v],
        str(intf_u),
        str(intf_v),
        relay_name,
    )


def _start_relays(testbed: Testbed, graph: nx.Graph) -> None:
    """Start a testbed.relay in every relay node, between its two interfaces."""
    for info in testbed.links.values():
        if info.relay is None:
            continue
        node = testbed.net[info.relay]
        if_a, if_b = (str(intf) for intf in node.intfList())
        delay = float(graph.edges[info.u, info.v]["delay_ms"])
        testbed.relays.append(start_relay(node, if_a, if_b, delay))
