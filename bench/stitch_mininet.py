"""Stitching on real OVS in Mininet: request-to-ACTIVE time and first-packet RTT.

Usage: python -m bench.stitch_mininet [--runs N] [--pairs P] [--json PATH]

Network: a line of 5 switches s1-s2-s3-s4-s5 under the real controller
(``testbed.stack.Stack``, userspace OVS where there is no kernel datapath); hosts hang off s1
and s5 only, so every pair used below is 4 switch-to-switch hops apart (5 switches on the path).

(a) Request to ACTIVE: ``POST /v1/reservations`` (10 Mbit/s, bidirectional) for one 4-hop
    pair, timed until the 201 ACTIVE answer arrives (the controller answers only after every
    switch confirmed both install phases with barriers), ``--runs`` times after 2 untimed
    warm-ups; the reservation is withdrawn (``DELETE``) between runs and the next run starts
    once ``/v1/stats`` reports no job in flight. The controller's own share comes from its
    ``vnstitch_stitch_seconds`` histogram (sum delta per run: from INSTALLING, i.e. after path
    search, through the durable write to the last ingress barrier). Yardsticks in the same
    run: the round trip of ``GET /v1/stats`` (the REST floor), timed between the runs, and one
    committed ``StateStore.put_reservation`` (SQLite, synchronous=FULL) in a scratch file next
    to the stack's own state file -- the write the controller makes before it installs.
(b) First-packet RTT / steady RTT, ``--pairs`` trials; each trial uses three fresh host pairs
    (never used before, so host ARP caches are empty and no reactive rule or OVS megaflow
    for the pair exists): a stitched pair (reserved first, ARP answered in the data plane by
    the responder rule), a baseline pair (reactive forwarding: ARP and the first IPv4 packet
    go to the controller), and a stitched pair whose hosts get static ARP entries before the
    first ping (isolates OVS's own first-packet upcalls from the ARP exchange). Each pair:
    ``ping -c 10 -i 0.1``; first RTT / median of the other 9. Order of the three kinds
    rotates per trial. Packet-ins other than LLDP are counted around every ping.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from testbed.network import HostInfo
from testbed.stack import Stack
from testbed.wait import wait_until
from vnstitch.clock import rfc3339
from vnstitch.store.records import ReservationRecord
from vnstitch.store.sqlite import StateStore

LINE = 5  # switches: 4 hops end to end
GOAL_ACTIVE_MS = 20.0
GOAL_RATIO = 1.2
PINGS = 10
PING_INTERVAL_S = 0.1
KINDS = ("stitched", "baseline", "stitched+static ARP")


def line_graph(hosts_per_end: int) -> nx.Graph:
    """s1 .. s5 in a line, ``hosts_per_end`` hosts on s1 and on s5, none in between."""
    graph = nx.path_graph(range(1, LINE + 1))
    for node in graph.nodes:
        graph.nodes[node]["hosts"] = hosts_per_end if node in (1, LINE) else 0
    return graph


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _quiet(stack: Stack, timeout_s: float = 5.0) -> None:
    """Wait until the controller has no install or removal job in flight."""
    wait_until(lambda: stack.get("/v1/stats")["jobs_running"] == 0, timeout_s, 0.01, "no jobs")


def _reserve(stack: Stack, src: str, dst: str) -> tuple[float, dict[str, Any]]:
    """POST a 10 Mbit/s reservation; (milliseconds to the answer, the ACTIVE reservation)."""
    t0 = time.perf_counter()
    status, res = stack.request(
        "POST", "/v1/reservations", {"src": src, "dst": dst, "bandwidth_mbps": 10}
    )
    ms = (time.perf_counter() - t0) * 1e3
    if status != 201 or res.get("state") != "ACTIVE":
        raise RuntimeError(f"reserve {src}->{dst}: HTTP {status} {res}")
    if len(res["path"]) != LINE:
        raise RuntimeError(f"reserve {src}->{dst}: expected a 4-hop path, got {res['path']}")
    return ms, res


def _release(stack: Stack, res: dict[str, Any]) -> None:
    status, body = stack.request("DELETE", f"/v1/reservations/{res['id']}")
    if status != 200:
        raise RuntimeError(f"release {res['id']}: HTTP {status} {body}")
    _quiet(stack)


def _stats_ms(stack: Stack) -> float:
    t0 = time.perf_counter()
    stack.get("/v1/stats")
    return (time.perf_counter() - t0) * 1e3


def _stitch_seconds_sum(stack: Stack) -> float:
    """The controller's ``vnstitch_stitch_seconds_sum`` (Prometheus text from /metrics)."""
    req = urllib.request.Request(stack.controller.rest_url + "/metrics")
    req.add_header("Authorization", f"Bearer {stack.token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read().decode()
    found = re.search(r"^vnstitch_stitch_seconds_sum(?:\{\})? (\S+)$", text, re.MULTILINE)
    if found is None:
        raise RuntimeError("no vnstitch_stitch_seconds_sum in /metrics")
    return float(found.group(1))


def sqlite_commit_ms(directory: Path, count: int = 30) -> list[float]:
    """Times of ``count`` committed reservation writes, as the controller makes them."""
    out = []
    with (
        tempfile.TemporaryDirectory(dir=directory) as scratch,
        StateStore(Path(scratch) / "yardstick.db", now=time.time()) as store,
    ):
        for i in range(1, count + 1):
            record: ReservationRecord = {
                "id": i,
                "request": {"src": "h1", "dst": "h2", "bandwidth_mbps": 10.0},
                "state": "INSTALLING",
                "reason": None,
                "origin": "request",
                "origin_ref": None,
                "created_at": rfc3339(time.time()),
                "updated_at": rfc3339(time.time()),
                "plan": None,
            }
            t0 = time.perf_counter()
            with store.atomic():
                store.put_reservation(record)
                store.raise_counter("reservation", i + 1)
            out.append((time.perf_counter() - t0) * 1e3)
    return out


def request_to_active(stack: Stack, src: str, dst: str, runs: int) -> dict[str, Any]:
    """Figure (a): POST-to-201-ACTIVE times for a 4-hop pair, the controller's share, floors."""
    for _ in range(2):
        _release(stack, _reserve(stack, src, dst)[1])
    active_ms: list[float] = []
    inside_ms: list[float] = []
    floor_ms: list[float] = []
    for i in range(runs):
        floor_ms.append(_stats_ms(stack))
        before = _stitch_seconds_sum(stack)
        ms, res = _reserve(stack, src, dst)
        inside_ms.append((_stitch_seconds_sum(stack) - before) * 1e3)
        active_ms.append(ms)
        _release(stack, res)
        if (i + 1) % 10 == 0 or i + 1 == runs:
            _say(f"  (a) {i + 1}/{runs}: median so far {statistics.median(active_ms):.2f} ms")
    return {
        "pair": [src, dst],
        "runs": runs,
        "active_ms": active_ms,
        "median_ms": statistics.median(active_ms),
        "p90_ms": percentile(active_ms, 0.9),
        "min_ms": min(active_ms),
        "max_ms": max(active_ms),
        "installing_to_active_median_ms": statistics.median(inside_ms),
        "installing_to_active_p90_ms": percentile(inside_ms, 0.9),
        "rest_floor_median_ms": statistics.median(floor_ms),
        "ratio_to_rest_floor": statistics.median(active_ms) / statistics.median(floor_ms),
        "sqlite_commit_median_ms": statistics.median(sqlite_commit_ms(stack.config_path.parent)),
    }


def _other_packet_ins(stack: Stack) -> int:
    counts: dict[str, int] = stack.get("/v1/stats")["packet_in"]
    return sum(n for kind, n in counts.items() if "lldp" not in kind.lower())


def _static_arp(stack: Stack, a: HostInfo, b: HostInfo) -> None:
    """Permanent neighbour entries on both hosts for each other (no ARP on the first ping)."""
    assert stack.net is not None
    for me, other in ((a, b), (b, a)):
        node = stack.net.net[me.name]
        node.cmd(f"ip neigh replace {other.ip} lladdr {other.mac} dev {me.name}-eth0 nud permanent")


@dataclass
class Trial:
    """One first-packet trial of one kind."""

    kind: str
    src: str
    dst: str
    first_ms: float
    steady_ms: float
    other_packet_ins: int

    @property
    def ratio(self) -> float:
        """First RTT over steady RTT."""
        return self.first_ms / self.steady_ms

    @property
    def excess_ms(self) -> float:
        """What the first packet costs beyond a steady round trip."""
        return self.first_ms - self.steady_ms


def _ping_trial(stack: Stack, kind: str, a: HostInfo, b: HostInfo) -> Trial:
    assert stack.net is not None
    if kind != "baseline":
        _, res = _reserve(stack, a.name, b.name)
        if kind == "stitched+static ARP":
            _static_arp(stack, a, b)
        _quiet(stack)
    before = _other_packet_ins(stack)
    result = stack.net.ping(a.name, b.name, count=PINGS, interval=PING_INTERVAL_S)
    packet_ins = _other_packet_ins(stack) - before
    if len(result.rtts_ms) < PINGS:
        raise RuntimeError(f"{kind} {a.name}->{b.name} lost pings: {result}")
    steady = statistics.median(result.rtts_ms[1:])
    trial = Trial(kind, a.name, b.name, result.rtts_ms[0], steady, packet_ins)
    if kind != "baseline":
        _release(stack, res)
    return trial


def first_packet(stack: Stack, left: list[HostInfo], right: list[HostInfo]) -> list[Trial]:
    """Figure (b): one trial of every kind per fresh pair triple, kinds in rotating order."""
    trials = []
    pairs = list(zip(left, right, strict=True))
    for t in range(len(pairs) // len(KINDS)):
        order = KINDS[t % len(KINDS) :] + KINDS[: t % len(KINDS)]
        for j, kind in enumerate(order):
            a, b = pairs[t * len(KINDS) + j]
            trial = _ping_trial(stack, kind, a, b)
            trials.append(trial)
            _say(
                f"  (b) trial {t + 1} {kind:20s} {a.name}->{b.name}: first {trial.first_ms:.3f} "
                f"ms, steady {trial.steady_ms:.3f} ms, ratio {trial.ratio:.2f}, "
                f"packet-ins {trial.other_packet_ins}"
            )
    return trials


def summarise(trials: list[Trial]) -> dict[str, dict[str, float]]:
    """Medians per kind."""
    out = {}
    for kind in KINDS:
        mine = [t for t in trials if t.kind == kind]
        out[kind] = {
            "trials": len(mine),
            "first_ms": statistics.median(t.first_ms for t in mine),
            "steady_ms": statistics.median(t.steady_ms for t in mine),
            "ratio": statistics.median(t.ratio for t in mine),
            "excess_ms": statistics.median(t.excess_ms for t in mine),
            "packet_ins": statistics.median(t.other_packet_ins for t in mine),
        }
    return out


def run(runs: int, pairs: int) -> dict[str, Any]:
    """Build the line, measure (a) and (b), tear it down."""
    per_end = 1 + pairs * len(KINDS)
    graph = line_graph(per_end)
    _say(f"building a line of {LINE} switches with {per_end} hosts on each end")
    t0 = time.monotonic()
    with Stack(graph) as stack:
        assert stack.net is not None
        _say(f"network up and discovered in {time.monotonic() - t0:.1f} s")
        left = [h for h in stack.net.hosts if h.switch == 1]
        right = [h for h in stack.net.hosts if h.switch == LINE]
        _say(f"(a) request to ACTIVE, {left[0].name}->{right[0].name}, {runs} runs")
        active = request_to_active(stack, left[0].name, right[0].name, runs)
        _say(f"(b) first-packet RTT, {pairs} trials x {len(KINDS)} kinds, fresh pairs")
        trials = first_packet(stack, left[1:], right[1:])
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "network": f"line of {LINE} switches, {per_end} hosts on each end, 4-hop pairs",
        "request_to_active": active,
        "first_packet": {
            "pings": PINGS,
            "interval_s": PING_INTERVAL_S,
            "trials": [{**vars(t), "ratio": t.ratio, "excess_ms": t.excess_ms} for t in trials],
            "medians": summarise(trials),
        },
    }


def report(out: dict[str, Any]) -> None:
    """Print the summary table."""
    act = out["request_to_active"]
    print(f"\n=== {out['network']} ===")
    verdict = "met" if act["median_ms"] < GOAL_ACTIVE_MS else "MISSED"
    print(
        f"(a) POST -> 201 ACTIVE, 4 hops, {act['runs']} runs: median {act['median_ms']:.2f} ms, "
        f"p90 {act['p90_ms']:.2f} ms (min {act['min_ms']:.2f}, max {act['max_ms']:.2f}); "
        f"goal < {GOAL_ACTIVE_MS:g} ms median: {verdict}"
    )
    print(
        f"    inside the controller, INSTALLING -> ACTIVE (durable write + both barrier phases): "
        f"median {act['installing_to_active_median_ms']:.2f} ms, "
        f"p90 {act['installing_to_active_p90_ms']:.2f} ms"
    )
    print(
        f"    yardsticks: REST floor GET /v1/stats median {act['rest_floor_median_ms']:.2f} ms "
        f"(POST is {act['ratio_to_rest_floor']:.1f}x); one committed SQLite reservation write "
        f"median {act['sqlite_commit_median_ms']:.2f} ms"
    )
    med = out["first_packet"]["medians"]
    print(f"(b) first-packet RTT / steady RTT (medians over fresh 4-hop pairs, ping -c {PINGS}):")
    print(
        f"    {'kind':22s} {'trials':>6s} {'first ms':>9s} {'steady ms':>9s} {'excess ms':>9s} "
        f"{'ratio':>6s} {'pkt-in':>6s}"
    )
    for kind, row in med.items():
        print(
            f"    {kind:22s} {row['trials']:6d} {row['first_ms']:9.3f} {row['steady_ms']:9.3f} "
            f"{row['excess_ms']:9.3f} {row['ratio']:6.2f} {row['packet_ins']:6.1f}"
        )
    stitched = med["stitched"]["ratio"]
    verdict = "met" if stitched <= GOAL_RATIO else "MISSED"
    print(
        f"    goal stitched <= {GOAL_RATIO:g}: {verdict} ({stitched:.2f}; baseline "
        f"{med['baseline']['ratio']:.2f}, ratio of ratios "
        f"{med['baseline']['ratio'] / stitched:.2f})"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="request-to-ACTIVE repetitions")
    parser.add_argument("--pairs", type=int, default=6, help="first-packet trials per kind")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    out = run(args.runs, args.pairs)
    report(out)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
