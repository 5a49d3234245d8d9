"""Failover loss on real OVS: pings lost per link cut, protected vs unprotected reservations.

Usage (root): python -m bench.failover_loss [--cuts N] [--interval-ms MS] [--json PATH]

Network: a cube of eight switches (three cables each), one host each, so every link has a way
around it even with one cable out. A reservation between opposite corners, h1 <-> h8, 5 Mbit/s,
first ``"protection": true`` and then without; per mode ``N`` cuts. A cut: h1 pings h8 every
``MS`` ms (``ping -i``); after 0.5 s one cable of the reservation's current path is pulled (both
switch ports down; the links of the path taken in turn); the pings go on for 2 s more. For the
protected reservation the controller is frozen (SIGSTOP) from just before the cut for 1 s:
only the switches' fast-failover groups act. For the unprotected one the controller runs and
re-stitches (port status -> new path -> barriers). Lost = echo requests without a reply; times
= lost x interval. After each cut the cable is plugged back, and the next cut waits until the
topology is whole and the reservation ACTIVE (and protected again).

Printed per mode: lost pings per cut (all of them), median, p90 and max, in pings and in ms;
for the protected mode also the time from SIGCONT until the reservation was ACTIVE and
protected again on a new path (the time of that state change in its history).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any, cast

import networkx as nx

from testbed.failover import ping_through_cut
from testbed.stack import Stack
from testbed.wait import wait_until
from vnstitch.clock import parse_rfc3339

CUBE = nx.convert_node_labels_to_integers(nx.hypercube_graph(3), first_label=1, ordering="sorted")
BEFORE_S, DOWN_S, AFTER_S = 0.5, 1.0, 1.0


def _nodes(stack: Stack, path: list[str]) -> list[int]:
    assert stack.net is not None
    node_of = {dpid: node for node, dpid in stack.net.dpid.items()}
    return [cast(int, node_of[int(d, 16)]) for d in path]


def _settled(stack: Stack, res_id: str, protection: bool) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        doc: dict[str, Any] = stack.get(f"/v1/reservations/{res_id}")
        ok = doc["state"] == "ACTIVE" and (doc["protected"] or not protection)
        return doc if ok else None

    settled: dict[str, Any] = wait_until(done, 15.0, 0.05, f"reservation {res_id} settled")
    return settled


def cuts(stack: Stack, protection: bool, count: int, interval_s: float) -> dict[str, Any]:
    """``count`` cuts under one reservation; the loss of each, and re-protection times."""
    assert stack.net is not None
    body = {"src": "h1", "dst": "h8", "bandwidth_mbps": 5, "protection": protection}
    status, doc = stack.request("POST", "/v1/reservations", body)
    if status != 201 or doc["state"] != "ACTIVE":
        raise RuntimeError(f"reservation not ACTIVE: {status} {doc}")
    res_id = doc["id"]
    lost: list[int] = []
    sent: list[int] = []
    reprotect_s: list[float] = []
    for k in range(count):
        doc = _settled(stack, res_id, protection)
        nodes = _nodes(stack, doc["path"])
        hop = k % (len(nodes) - 1)
        cable = (nodes[hop], nodes[hop + 1])
        marks: dict[str, float] = {}
        result = ping_through_cut(
            stack.net,
            "h1",
            "h8",
            cable,
            frozen=stack.controller if protection else None,
            interval_s=interval_s,
            before_s=BEFORE_S,
            down_s=DOWN_S,
            after_s=AFTER_S,
            marks=marks,
        )
        lost.append(result.sent - result.received)
        sent.append(result.sent)
        if protection:

            def moved(cut: tuple[int, int] = cable) -> dict[str, Any] | None:
                now: dict[str, Any] = stack.get(f"/v1/reservations/{res_id}")
                pairs = set(itertools.pairwise(_nodes(stack, now["path"])))
                gone = cut not in pairs and cut[::-1] not in pairs
                return now if now["state"] == "ACTIVE" and now["protected"] and gone else None

            doc = wait_until(moved, 15.0, 0.02, "re-protected")
            confirmed = parse_rfc3339(doc["history"][-1]["time"])  # ACTIVE on the new path
            reprotect_s.append(confirmed - marks["resumed"])
        stack.net.set_cable_up(cable[0], cable[1], True)
        stack.wait_discovered()
        print(f"  [{'protected' if protection else 'unprotected'}] cut {k + 1}/{count} "
              f"{cable}: {lost[-1]} of {sent[-1]} lost", file=sys.stderr, flush=True)  # fmt: skip
    stack.request("DELETE", f"/v1/reservations/{res_id}")
    return {"lost": lost, "sent": sent, "reprotect_s": reprotect_s}


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "p90": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
        "max": ordered[-1],
    }


def run(count: int, interval_s: float) -> dict[str, Any]:
    """Both modes on one stack."""
    options = {"probe_interval_s": 0.5, "link_timeout_s": 3.5, "stats_interval_s": 1.0}
    out: dict[str, Any] = {"cuts": count, "interval_ms": interval_s * 1e3}
    with Stack(CUBE, controller=options) as stack:
        for protection in (True, False):
            mode = "protected" if protection else "unprotected"
            got = cuts(stack, protection, count, interval_s)
            got["lost_summary"] = _summary([float(x) for x in got["lost"]])
            got["lost_ms_summary"] = {
                k: v * interval_s * 1e3 for k, v in got["lost_summary"].items()
            }
            if got["reprotect_s"]:
                got["reprotect_summary_s"] = _summary(got["reprotect_s"])
            out[mode] = got
    return out


def report(out: dict[str, Any]) -> None:
    """Print the figures."""
    print(f"{out['cuts']} cuts per mode, pings every {out['interval_ms']:g} ms")
    for mode in ("protected", "unprotected"):
        got = out[mode]
        s, ms = got["lost_summary"], got["lost_ms_summary"]
        print(
            f"  {mode:11s} lost pings per cut: median {s['median']:g}, p90 {s['p90']:g}, "
            f"max {s['max']:g} (= {ms['median']:.0f} / {ms['p90']:.0f} / {ms['max']:.0f} ms); "
            f"all: {got['lost']}"
        )
        if "reprotect_summary_s" in got:
            r = got["reprotect_summary_s"]
            print(
                f"  {'':11s} SIGCONT -> protected again on a new path: median "
                f"{r['median'] * 1e3:.0f} ms, p90 {r['p90'] * 1e3:.0f} ms, "
                f"max {r['max'] * 1e3:.0f} ms"
            )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (as root), print its figures, optionally write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cuts", type=int, default=20)
    parser.add_argument("--interval-ms", type=float, default=5.0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("needs root (Mininet and ping -i below 0.2 s)", file=sys.stderr)
        return 2
    out = run(args.cuts, args.interval_ms / 1e3)
    report(out)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
