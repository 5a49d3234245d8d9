"""Link failures under traffic, for the protection tests and benchmark: ping through a cut.

``ping_through_cut`` pings at a fast, fixed interval while a cable is pulled (both switch ports
down), optionally with the controller frozen by SIGSTOP for the cut, and counts the echo
requests that got no reply. ``switch_groups`` reads a switch's group table with ovs-ofctl;
``planned_groups`` says, from a reservation's REST document, which fast-failover groups each
switch must hold (type and buckets: watched port and output), so a test can compare both.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Hashable
from typing import Any

from testbed.measure import PingResult, parse_ping
from testbed.network import Testbed

BucketView = tuple[int | None, str]  # (watched port or None, output: a port number or IN_PORT)
GroupView = tuple[str, tuple[BucketView, ...]]  # (type, buckets)

_GROUP_RE = re.compile(r"group_id=(\d+),type=([a-z_]+)((?:,bucket=[^\n]*)?)")
_WATCH_RE = re.compile(r"watch_port:(\d+)")
_OUTPUT_RE = re.compile(r"actions=(?:output:)?([A-Za-z_0-9]+)")


def ping_through_cut(
    net: Testbed,
    src: str,
    dst: str,
    cable: tuple[Hashable, Hashable],
    *,
    frozen: Any | None = None,
    interval_s: float = 0.005,
    before_s: float = 0.5,
    down_s: float = 1.0,
    after_s: float = 0.5,
    marks: dict[str, float] | None = None,
) -> PingResult:
    """Ping ``src`` -> ``dst`` every ``interval_s`` while ``cable`` is pulled.

    Pings run ``before_s`` before the cut, ``down_s`` with the cable out and ``after_s``
    more. ``frozen``: an object with ``pause()``/``resume()`` (the controller process) frozen
    from just before the cut to the end of ``down_s``. The cable stays out on return.
    ``marks`` gets the wall-clock times of the ``cut`` and of the controller's ``resumed``.
    """
    marks = {} if marks is None else marks
    total_s = before_s + down_s + after_s
    count = int(total_s / interval_s)
    host = net.net[src]
    cmd = ["ping", "-n", "-q", "-i", f"{interval_s:g}", "-c", str(count), "-W", "1", net._ip(dst)]
    proc = host.popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    done = threading.Event()
    try:
        done.wait(before_s)
        if frozen is not None:
            frozen.pause()
        try:
            net.set_cable_up(cable[0], cable[1], False)
            marks["cut"] = time.time()
            done.wait(down_s)
        finally:
            if frozen is not None:
                frozen.resume()
            marks["resumed"] = time.time()
        out, _ = proc.communicate(timeout=total_s + 15)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return parse_ping(out.decode(errors="replace"))


def switch_groups(net: Testbed, node: Hashable) -> list[GroupView]:
    """The groups of one switch as ovs-ofctl shows them (ids left out), sorted."""
    out = subprocess.run(
        ["ovs-ofctl", "-O", "OpenFlow13", "--no-names", "dump-groups", net.switch_name[node]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    groups = []
    for match in _GROUP_RE.finditer(out):
        buckets = []
        for text in match.group(3).split(",bucket=")[1:]:
            watch = _WATCH_RE.search(text)
            output = _OUTPUT_RE.search(text)
            buckets.append(
                (int(watch.group(1)) if watch else None, output.group(1) if output else "drop")
            )
        groups.append((match.group(2), tuple(buckets)))
    return sorted(groups)


def planned_groups(net: Testbed, doc: dict[str, Any]) -> dict[Hashable, list[GroupView]]:
    """Per switch, the fast-failover groups a protected reservation's document implies."""
    node_of = {dpid: node for node, dpid in net.dpid.items()}
    src, dst = net.host(doc["src"]), net.host(doc["dst"])
    out: dict[Hashable, list[GroupView]] = {node: [] for node in net.dpid}
    ways = [("forward", doc["path"], src.port)]
    if doc["reverse_path"]:
        ways.append(("reverse", doc["reverse_path"], dst.port))
    for direction, path, host_port in ways:
        nodes = [node_of[int(d, 16)] for d in path]
        for i in range(len(nodes) - 1):
            here, there = nodes[i], nodes[i + 1]
            detour = next(
                b
                for b in doc["backup"]
                if b["direction"] == direction and b["around"] == [path[i], path[i + 1]]
            )
            first = node_of[int(detour["path"][1], 16)]
            primary, backup = net.link_ports(here, there)[0], net.link_ports(here, first)[0]
            in_port = host_port if i == 0 else net.link_ports(here, nodes[i - 1])[0]
            shown = "IN_PORT" if backup == in_port else str(backup)
            out[here].append(("ff", ((primary, str(primary)), (backup, shown))))
    return {node: sorted(groups) for node, groups in out.items()}
