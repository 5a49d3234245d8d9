"""Unprotected re-stitch on real OVS: port status to the new path barrier-confirmed.

Usage: python -m bench.restitch_mininet [--cuts N] [--json PATH]

Network: a ring of 8 switches under the real controller (``testbed.stack.Stack``); one
reservation between the hosts of s1 and s5, 4 switch-to-switch hops either way round. Each
cut takes one link of the reservation's current path down on both ends (port status at both
switches); the figure is, on the controller's own clock, from the ``link_remove`` topology
event (the port status arriving) to the reservation's next ACTIVE history entry (the new
path's ingress barriers answered on every switch). The link comes back up, is rediscovered,
and the next cut takes a link of the path the reservation is on now (so cuts alternate
between the two sides of the ring). Reported: every delta, median, p90, max.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import networkx as nx

from testbed.stack import Stack
from testbed.wait import wait_until
from vnstitch.clock import parse_rfc3339

RING = 8


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _node_of(stack: Stack, dpid_hex: str) -> Hashable:
    assert stack.net is not None
    for node, name in stack.net.switch_name.items():
        if stack.net.net[name].dpid == dpid_hex:
            return node
    raise KeyError(dpid_hex)


def cut_once(stack: Stack, res_id: str) -> float:
    """One cut on the current path; returns port status -> ACTIVE in ms."""
    assert stack.net is not None
    res = stack.get(f"/v1/reservations/{res_id}")
    path = [_node_of(stack, d) for d in res["path"]]
    u, v = path[1], path[2]  # a middle link
    since = stack.get("/v1/topology/events?since=0")["version"]
    stack.net.set_link_up(u, v, False)

    def removed() -> float | None:
        events = stack.get(f"/v1/topology/events?since={since}")["events"]
        times = [parse_rfc3339(e["time"]) for e in events if e["kind"] == "link_remove"]
        return min(times) if times else None

    cut_at = wait_until(removed, 10.0, 0.02, "link_remove")

    def active_again() -> float | None:
        body = stack.get(f"/v1/reservations/{res_id}")
        later = [
            parse_rfc3339(h["time"])
            for h in body["history"]
            if h["state"] == "ACTIVE" and parse_rfc3339(h["time"]) >= cut_at
        ]
        return min(later) if later and body["state"] == "ACTIVE" else None

    active_at = wait_until(active_again, 10.0, 0.02, "ACTIVE on the new path")
    stack.net.set_link_up(u, v, True)
    stack.wait_discovered(20.0)
    return (active_at - cut_at) * 1000.0


def run(cuts: int) -> dict[str, Any]:
    ring = nx.cycle_graph(range(1, RING + 1))
    options = {"probe_interval_s": 0.5, "link_timeout_s": 3.5}
    with Stack(ring, controller=options) as stack:
        status, res = stack.request(
            "POST", "/v1/reservations", {"src": "h1", "dst": "h5", "bandwidth_mbps": 5}
        )
        if status != 201:
            raise RuntimeError(f"reservation refused: {res}")
        deltas = []
        for i in range(cuts):
            deltas.append(cut_once(stack, res["id"]))
            _say(f"cut {i + 1}/{cuts}: {deltas[-1]:.1f} ms")
    ordered = sorted(deltas)
    return {
        "cuts": cuts,
        "hops": RING // 2,
        "port_status_to_active_ms": [round(d, 1) for d in deltas],
        "median_ms": round(statistics.median(deltas), 1),
        "p90_ms": round(ordered[max(0, int(0.9 * len(ordered)) - 1)], 1),
        "max_ms": round(max(deltas), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cuts", type=int, default=20)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    started = time.monotonic()
    out = run(args.cuts)
    out["wall_s"] = round(time.monotonic() - started, 1)
    print(
        f"unprotected re-stitch, {out['hops']}-hop path, {out['cuts']} cuts: port status -> "
        f"ACTIVE median {out['median_ms']} ms, p90 {out['p90_ms']} ms, max {out['max_ms']} ms"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
