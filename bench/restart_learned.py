"""kill -9 and restart with learned hosts only: rules deleted, pings lost, time to settle.

Usage: python -m bench.restart_learned [--reservations N] [--intents M] [--json PATH]

The scenario of issue #14: a ring of 4 switches with 3 hosts each and **no host inventory**
(every host is learned from its ARP), ``--reservations`` reservations and ``--intents``
connectivity intents between them, then the controller is killed with SIGKILL and started
again on the same state file while one stitched pair pings every 10 ms. Reported: the
reservation/intent flow entries before and after (deleted, added), pings lost, and the time
from the restart until every reservation is ACTIVE and every intent INSTALLED.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import networkx as nx

from testbed.measure import parse_ping
from testbed.stack import Stack
from testbed.wait import wait_until

OWNED = re.compile(r"cookie=0x(1[01]|20|21)[0-9a-f]{14},")
COUNTERS = re.compile(r"(duration|n_packets|n_bytes|idle_age|hard_age)=[^,\s]+,?\s*")


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def owned_rules(stack: Stack) -> set[str]:
    """Every reservation/intent entry on every switch, without counters."""
    out = set()
    for node in stack.graph.nodes:
        for line in stack.dump_flows(node).splitlines():
            if OWNED.search(line):
                out.add(f"{node} {COUNTERS.sub('', line).strip()}")
    return out


def _all_final(stack: Stack, res_ids: list[str], intent_ids: list[str]) -> bool:
    live = {r["id"]: r["state"] for r in stack.get("/v1/reservations")["reservations"]}
    intents = {i["id"]: i["state"] for i in stack.get("/v1/intents")["intents"]}
    return all(live.get(r) == "ACTIVE" for r in res_ids) and all(
        intents.get(i) == "INSTALLED" for i in intent_ids
    )


def run(reservations: int, intents: int) -> dict[str, Any]:
    ring = nx.cycle_graph([1, 2, 3, 4])
    options = {"probe_interval_s": 0.5, "link_timeout_s": 3.5, "audit_interval_s": 2.0}
    with Stack(ring, hosts_per_switch=3, controller=options, inventory=False) as stack:
        assert stack.net is not None
        names = [f"h{i}" for i in range(1, 13)]
        ips = {n: stack.net.host(n).ip for n in names}
        for a, b in zip(names, names[1:] + names[:1], strict=True):  # every host ARPs
            stack.net.ping(a, b, count=1, interval=0.2)
        wait_until(lambda: len(stack.get("/v1/topology")["hosts"]) == 12, 20.0, 0.2, "hosts")
        pairs = list(itertools.combinations(names, 2))
        res_ids: list[str] = []
        for n in range(reservations):
            a, b = pairs[n % len(pairs)]
            body: dict[str, Any] = {"src": ips[a], "dst": ips[b], "bandwidth_mbps": 0.5}
            if n >= len(pairs):
                body.update(ip_proto=6, dst_port=5000 + n)
            status, res = stack.request("POST", "/v1/reservations", body)
            if status != 201:
                raise RuntimeError(f"reservation {body} refused: {res}")
            res_ids.append(res["id"])
        intent_ids: list[str] = []
        for n in range(intents):
            a, b = pairs[n % len(pairs)]
            spec = {"kind": "connectivity", "src": ips[a], "dst": ips[b], "bandwidth_mbps": 0.2}
            spec.update(ip_proto=17, dst_port=6000 + n)
            status, intent = stack.request("POST", "/v1/intents", spec)
            if status != 201:
                raise RuntimeError(f"intent {spec} refused: {intent}")
            intent_ids.append(intent["id"])
        wait_until(lambda: _all_final(stack, res_ids, intent_ids), 60.0, 0.2, "installed")
        wait_until(lambda: stack.get("/v1/stats")["jobs_running"] == 0, 10.0, 0.1, "quiet")
        before = owned_rules(stack)
        _say(f"{len(res_ids)} reservations, {len(intent_ids)} intents: {len(before)} entries")
        pinger = stack.net.net["h1"].popen(
            ["ping", "-n", "-i", "0.01", "-c", "2000", "-W", "1", ips["h7"]],
            stdout=subprocess.PIPE,
            text=True,
        )
        wait_until(lambda: pinger.poll() is None, 2.0, 0.05, "pings running")
        time.sleep(1.0)  # a measurement window: a second of pings before the kill
        stack.kill_controller()
        restarted = time.monotonic()
        stack.restart_controller()
        wait_until(lambda: _all_final(stack, res_ids, intent_ids), 120.0, 0.2, "restored")
        settled_s = time.monotonic() - restarted
        time.sleep(5.0)  # a measurement window: two audit periods, so deletions would show
        audits = stack.get("/v1/stats")["audit_repairs"]
        after = owned_rules(stack)
        out, _ = pinger.communicate(timeout=60)
        ping = parse_ping(out)
    return {
        "reservations": len(res_ids),
        "intents": len(intent_ids),
        "entries_before": len(before),
        "entries_deleted": len(before - after),
        "entries_added": len(after - before),
        "pings_sent": ping.sent,
        "pings_lost": ping.sent - ping.received,
        "restart_to_all_active_s": round(settled_s, 2),
        "audit_repairs_after_restart": int(audits),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reservations", type=int, default=70)
    parser.add_argument("--intents", type=int, default=36)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    out = run(args.reservations, args.intents)
    print(
        f"kill -9 + restart, learned hosts only, {out['reservations']} reservations + "
        f"{out['intents']} intents ({out['entries_before']} entries): "
        f"{out['entries_deleted']} deleted, {out['entries_added']} added, "
        f"{out['pings_lost']} of {out['pings_sent']} pings lost (10 ms), "
        f"all ACTIVE/INSTALLED {out['restart_to_all_active_s']} s after the restart"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
