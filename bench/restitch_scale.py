"""10,000 live reservations on a 750-switch graph: memory, and re-stitch on a busy link's failure.

Usage: python -m bench.restitch_scale [--data DIR] [--reservations N] [--seed S] [--json PATH]

Drives the real core (``TopologyDatabase``, ``Ledger(link_headroom=0.1)``, ``StitchService``)
with no switches: every install job is confirmed at once, as the switches' barriers would.

Network: Kdl (Topology Zoo), largest component. Switch i (sorted node keys) has dpid i; its
ports are numbered 1..degree, one per neighbour in dpid order, and one host ``h<i>`` (inventory,
10.x.y.z) hangs off port degree + 1. Every link is 10 Gbit/s (9 Gbit/s bookable with 10 %
headroom); latency is the loader's fibre estimate, the median of the others where missing.

Reservations: random distinct host pairs (seeded), named by host name as a REST user would,
0.5-5 Mbit/s each (the meter and the ledger book 1.12x that), bidirectional.

Printed:
- submit time per reservation (``submit`` = endpoints, path search, plan, ledger), median and
  p99, with ``confirmed`` timed separately;
- memory per reservation: tracemalloc growth of service + ledger over a separate, identical
  pass (tracemalloc slows allocation, so the timed pass runs without it);
- a no-op ``on_topology_change`` (nothing broken: the scan every topology event costs);
- the most-booked cable (most owners over both directions) failing: its port on the lower dpid
  goes down with ``db.set_port``, and ``on_topology_change`` re-stitches every reservation that
  crossed it: moved, DEGRADED, total and per-reservation time, ``ledger.violations() == []``;
- yardstick: as many plain ``nx.dijkstra_path`` calls (latency weight, same endpoint switches,
  failed graph) as reservations were affected; ratio of per-reservation re-stitch to one call.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import eventlet
import networkx as nx

from topology.database import TopologyDatabase
from topology.loaders import largest_component, load_graphml
from topology.model import Attachment, Host, LinkId, Port
from vnstitch.resources.ledger import Ledger
from vnstitch.stitcher.install_jobs import Job
from vnstitch.stitcher.reservation import ReservationRequest, State
from vnstitch.stitcher.stitch_service import Refusal, StitchService, take_slice

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LINK_MBPS = 10_000.0
MIN_MBPS, MAX_MBPS = 0.5, 5.0
PROGRESS_EVERY = 1000
GC_PAUSES: list[tuple[float, int]] = []  # (seconds, generation) of collections in the re-stitch


@dataclass
class Built:
    """The database, the cables (lower dpid first) and the assumptions made."""

    db: TopologyDatabase
    cables: list[tuple[LinkId, LinkId]]
    notes: list[str]


def build_db(data: Path, now: float) -> Built:
    """Kdl as a live NTD: switches, both directions of every link with latency, one host each."""
    topo = largest_component(load_graphml(data / "topologyzoo" / "Kdl.graphml"))
    graph = topo.graph
    dpid = {name: i for i, name in enumerate(sorted(graph.nodes), 1)}
    known = [lat for _, _, lat in graph.edges(data="latency_ms") if lat is not None]
    fill = statistics.median(known) if known else 1.0
    db = TopologyDatabase(default_capacity_mbps=LINK_MBPS)
    port_of: dict[tuple[int, int], int] = {}
    for name in sorted(graph.nodes, key=dpid.__getitem__):
        me = dpid[name]
        neighbours = sorted(dpid[n] for n in graph.neighbors(name))
        for port, other in enumerate(neighbours, 1):
            port_of[me, other] = port
        ports = [
            Port(p, f"s{me}-eth{p}", speed_mbps=LINK_MBPS) for p in range(1, len(neighbours) + 2)
        ]
        db.add_switch(me, ports, now, name=f"s{me}")
    cables: list[tuple[LinkId, LinkId]] = []
    filled = 0
    for a, b, attrs in graph.edges(data=True):
        u, v = sorted((dpid[a], dpid[b]))
        fwd = LinkId(u, port_of[u, v], v, port_of[v, u])
        latency = attrs["latency_ms"]
        if latency is None:
            latency, filled = fill, filled + 1
        for lid in (fwd, fwd.reverse()):
            db.link_seen(lid, now, now)
            db.set_link_latency(lid, float(latency), now)
        cables.append((fwd, fwd.reverse()))
    for name, me in dpid.items():
        host_port = graph.degree(name) + 1
        ip = f"10.{me >> 16 & 255}.{me >> 8 & 255}.{me & 255}"
        mac = f"02:00:00:{me >> 16 & 255:02x}:{me >> 8 & 255:02x}:{me & 255:02x}"
        db.add_inventory_host(Host(f"h{me}", mac, ip, Attachment(me, host_port)), now)
    notes = [*topo.assumptions]
    if filled:
        notes.append(f"{filled} links without coordinates given the median latency {fill:.3f} ms")
    notes.append(f"every link {LINK_MBPS:g} Mbit/s (the file's speeds ignored)")
    return Built(db, sorted(cables), notes)


def requests(db: TopologyDatabase, count: int, seed: int) -> list[ReservationRequest]:
    """``count`` bidirectional requests between random distinct hosts, 0.5-5 Mbit/s."""
    rng = random.Random(seed)
    names = sorted(h.name for h in db.hosts.values())
    out = []
    for _ in range(count):
        src, dst = rng.sample(names, 2)
        out.append(ReservationRequest(src, dst, round(rng.uniform(MIN_MBPS, MAX_MBPS), 2)))
    return out


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Filled:
    """A service with every request submitted and confirmed, and what that took."""

    service: StitchService
    ledger: Ledger[int]
    submit_s: list[float]
    confirm_s: list[float]
    refused: dict[str, int]
    submit_s_by_id: dict[int, float]


def fill(db: TopologyDatabase, reqs: list[ReservationRequest], now: float, label: str) -> Filled:
    """Submit every request (timed one by one) and confirm its job as the switches would."""
    ledger: Ledger[int] = Ledger(link_headroom=0.1)
    service = StitchService(db, ledger)
    service.sync_capacities()
    submit_s: list[float] = []
    confirm_s: list[float] = []
    refused: dict[str, int] = {}
    by_id: dict[int, float] = {}
    clock = time.perf_counter
    started = clock()
    for i, req in enumerate(reqs, 1):
        t0 = clock()
        res, outcome = service.submit_or_refuse(req, now)
        t1 = clock()
        submit_s.append(t1 - t0)
        if isinstance(outcome, Refusal):
            refused[outcome.constraint] = refused.get(outcome.constraint, 0) + 1
        else:
            assert res is not None
            by_id[res.id] = t1 - t0
            t0 = clock()
            service.confirmed(res.id, outcome.version, now)
            confirm_s.append(clock() - t0)
        if i % PROGRESS_EVERY == 0 or i == len(reqs):
            print(
                f"  [{label}] {i}/{len(reqs)} submitted, {clock() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    return Filled(service, ledger, submit_s, confirm_s, refused, by_id)


def memory_per_reservation(
    db: TopologyDatabase, reqs: list[ReservationRequest], now: float
) -> dict[str, float]:
    """tracemalloc growth of service + ledger from empty (capacities synced) to all confirmed."""
    gc.collect()
    tracemalloc.start()
    try:
        ledger: Ledger[int] = Ledger(link_headroom=0.1)
        service = StitchService(db, ledger)
        service.sync_capacities()
        gc.collect()
        before, _ = tracemalloc.get_traced_memory()
        for i, req in enumerate(reqs, 1):
            res, outcome = service.submit_or_refuse(req, now)
            if res is not None and isinstance(outcome, Job):
                service.confirmed(res.id, outcome.version, now)
            if i % (2 * PROGRESS_EVERY) == 0 or i == len(reqs):
                print(f"  [memory] {i}/{len(reqs)}", file=sys.stderr, flush=True)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
        ledger_only = _ledger_share(ledger)
    finally:
        tracemalloc.stop()
    live = sum(1 for r in service.reservations.values() if r.state is State.ACTIVE)
    grown = after - before
    return {
        "reservations": live,
        "total_bytes": grown,
        "bytes_per_reservation": grown / live,
        "ledger_holdings_bytes_per_reservation": ledger_only / live,
    }


def _ledger_share(ledger: Ledger[int]) -> int:
    """Approximate bytes of the ledger's per-owner holdings (dict sizes, shallow)."""
    holdings: dict[int, dict[Any, int]] = ledger._holdings
    return sys.getsizeof(holdings) + sum(sys.getsizeof(h) for h in holdings.values())


def sliced_restitch(
    service: StitchService, now: float
) -> tuple[list[Job], float, list[float], float]:
    """The re-stitch as the controller runs it: slices, each one event of an eventlet loop.

    A heartbeat greenthread ticks every millisecond beside it; its largest gap is the longest
    the loop was held. Returns the jobs, total seconds, each slice's seconds and that gap.
    """
    steps = service.topology_steps(now)
    gaps: list[float] = []
    running = True
    started: list[float] = []

    def collected(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            GC_PAUSES.append((time.perf_counter() - started.pop(), info["generation"]))

    gc.callbacks.append(collected)

    def heartbeat() -> None:
        last = time.perf_counter()
        while running:
            eventlet.sleep(0.001)
            tick = time.perf_counter()
            gaps.append(tick - last)
            last = tick

    beat = eventlet.spawn(heartbeat)
    eventlet.sleep(0.002)
    jobs: list[Job] = []
    slices: list[float] = []
    t0 = time.perf_counter()
    while True:
        s0 = time.perf_counter()
        part, more = take_slice(steps)
        slices.append(time.perf_counter() - s0)
        jobs += part
        if not more:
            break
        eventlet.sleep(0)  # the adapter posts the rest behind whatever else is queued
    total = time.perf_counter() - t0
    running = False
    beat.wait()
    gc.callbacks.remove(collected)
    return jobs, total, slices, max(gaps, default=0.0)


def busiest_cable(
    cables: list[tuple[LinkId, LinkId]], ledger: Ledger[int]
) -> tuple[tuple[LinkId, LinkId], frozenset[int]]:
    """The cable with the most owners over both directions, and those owners."""
    best = max(cables, key=lambda c: len(ledger.owners_of(c[0]) | ledger.owners_of(c[1])))
    return best, ledger.owners_of(best[0]) | ledger.owners_of(best[1])


def time_dijkstra(graph: nx.DiGraph, pairs: list[tuple[int, int]], rounds: int) -> list[float]:
    """Seconds for all ``pairs`` of plain ``nx.dijkstra_path`` on latency, per round."""
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for src, dst in pairs:
            nx.dijkstra_path(graph, src, dst, weight="latency_ms")
        out.append(time.perf_counter() - t0)
    return out


def run(
    data: Path, count: int, seed: int, skip_memory: bool, gc_freeze: bool = False
) -> dict[str, Any]:
    """Every figure of the benchmark."""
    now = 1000.0
    built = build_db(data, now)
    db = built.db
    reqs = requests(db, count, seed)
    out: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "topology": f"Kdl largest component: {len(db.switches)} switches, "
        f"{len(db.links)} directed links, {len(db.hosts)} hosts",
        "assumptions": built.notes,
        "reservations_asked": count,
        "seed": seed,
    }
    print(out["topology"], flush=True)
    if not skip_memory:
        out["memory"] = memory_per_reservation(db, reqs, now)
    filled = fill(db, reqs, now, "timed")
    service, ledger = filled.service, filled.ledger
    active = [r for r in service.reservations.values() if r.state is State.ACTIVE]
    hops = statistics.mean(len(r.plan.path) - 1 for r in active if r.plan is not None)
    out["submit"] = {
        "active": len(active),
        "refused": filled.refused,
        "mean_hops": hops,
        "median_ms": statistics.median(filled.submit_s) * 1e3,
        "p99_ms": percentile(filled.submit_s, 0.99) * 1e3,
        "total_s": sum(filled.submit_s),
        "confirm_median_us": statistics.median(filled.confirm_s) * 1e6,
    }
    assert ledger.violations() == []

    if gc_freeze:  # as the controller does once its stored state is restored
        gc.collect()
        gc.freeze()
    out["gc_frozen"] = gc_freeze
    t0 = time.perf_counter()
    noop_jobs = service.on_topology_change(now + 1)
    out["noop_topology_change_ms"] = (time.perf_counter() - t0) * 1e3
    assert noop_jobs == []

    cable, owners = busiest_cable(built.cables, ledger)
    fwd = cable[0]
    reserved = ledger.reserved(fwd) + ledger.reserved(cable[1])
    print(
        f"failing cable s{fwd.src}:{fwd.src_port} <-> s{fwd.dst}:{fwd.dst_port}: "
        f"{len(owners)} owners, {reserved:.0f} Mbit/s booked over both directions",
        flush=True,
    )
    events = db.set_port(fwd.src, Port(fwd.src_port, up=False), now + 2)
    jobs, restitch_s, slices, gap_s = sliced_restitch(service, now + 2)
    out["slices"] = {
        "count": len(slices),
        "max_ms": max(slices) * 1e3,
        "median_ms": statistics.median(slices) * 1e3,
        "heartbeat_max_gap_ms": gap_s * 1e3,
        "gc_max_pause_ms": max((p for p, _ in GC_PAUSES), default=0.0) * 1e3,
        "gc_full_collections": sum(1 for _, g in GC_PAUSES if g == 2),
    }
    violations_after_change = ledger.violations()
    degraded = [r.id for r in service.reservations.values() if r.state is State.DEGRADED]
    moved = {job.reservation_id for job in jobs}
    untouched_ok = all(
        service.reservations[o].state in (State.INSTALLING, State.DEGRADED) for o in owners
    )
    for job in jobs:
        service.confirmed(job.reservation_id, job.version, now + 3)
    violations_after_confirm = ledger.violations()
    still_on_cable = ledger.owners_of(cable[0]) | ledger.owners_of(cable[1])

    pairs = []
    for owner in sorted(owners):
        res = service.reservations[owner]
        src, dst = db.find_host(res.request.src), db.find_host(res.request.dst)
        assert src is not None and dst is not None
        assert src.attachment is not None and dst.attachment is not None
        pairs.append((src.attachment.dpid, dst.attachment.dpid))
    rounds = time_dijkstra(db.graph, pairs, 3)
    dijkstra_each_ms = statistics.median(rounds) / max(1, len(pairs)) * 1e3
    per_res_ms = restitch_s / max(1, len(owners)) * 1e3
    own_submit_ms = statistics.median(filled.submit_s_by_id[o] for o in owners) * 1e3
    out["failure"] = {
        "cable": [fwd.to_dict(), cable[1].to_dict()],
        "topology_events": len(events),
        "affected": len(owners),
        "booked_mbps_both_directions": reserved,
        "moved": len(moved),
        "degraded": len(degraded),
        "restitch_total_ms": restitch_s * 1e3,
        "restitch_per_reservation_ms": per_res_ms,
        "dijkstra_per_call_ms": dijkstra_each_ms,
        "dijkstra_rounds_s": rounds,
        "ratio_vs_dijkstra": per_res_ms / dijkstra_each_ms,
        "affected_submit_median_ms": own_submit_ms,
        "ratio_vs_own_submit": per_res_ms / own_submit_ms,
        "affected_all_rehandled": untouched_ok,
        "violations_after_change": violations_after_change,
        "violations_after_confirm": violations_after_confirm,
        "owners_left_on_failed_cable": len(still_on_cable),
    }
    return out


def report(out: dict[str, Any]) -> None:
    """Print the figures."""
    for note in out["assumptions"]:
        print(f"  assumed: {note}")
    sub = out["submit"]
    print(
        f"submit: {sub['active']} ACTIVE of {out['reservations_asked']} "
        f"(refused: {sub['refused'] or 'none'}), {sub['mean_hops']:.1f} hops on average"
    )
    print(
        f"  per reservation: median {sub['median_ms']:.3f} ms, p99 {sub['p99_ms']:.3f} ms "
        f"(all {sub['total_s']:.1f} s); confirmed() median {sub['confirm_median_us']:.1f} us"
    )
    if "memory" in out:
        mem = out["memory"]
        print(
            f"memory (service + ledger, tracemalloc): {mem['bytes_per_reservation']:.0f} B per "
            f"reservation, {mem['total_bytes'] / 2**20:.1f} MiB for {mem['reservations']}"
        )
    print(f"on_topology_change with nothing broken: {out['noop_topology_change_ms']:.1f} ms")
    fail = out["failure"]
    print(
        f"busiest cable down: {fail['affected']} reservations affected, {fail['moved']} moved, "
        f"{fail['degraded']} DEGRADED"
    )
    print(
        f"  re-stitch (sliced, as the controller runs it): {fail['restitch_total_ms']:.1f} ms "
        f"total, {fail['restitch_per_reservation_ms']:.3f} ms per affected reservation"
    )
    sl = out["slices"]
    print(
        f"  {sl['count']} slices, longest {sl['max_ms']:.1f} ms (median {sl['median_ms']:.1f}); "
        f"heartbeat beside it: largest gap {sl['heartbeat_max_gap_ms']:.1f} ms; "
        f"garbage collection: longest pause {sl['gc_max_pause_ms']:.1f} ms, "
        f"{sl['gc_full_collections']} full"
    )
    print(
        f"  yardstick nx.dijkstra_path x{fail['affected']}: {fail['dijkstra_per_call_ms']:.3f} ms "
        f"per call (median of 3 rounds); ratio {fail['ratio_vs_dijkstra']:.2f}x"
    )
    print(
        f"  the same reservations' own submit: median {fail['affected_submit_median_ms']:.3f} ms; "
        f"re-stitch / submit {fail['ratio_vs_own_submit']:.2f}x"
    )
    ok = not fail["violations_after_change"] and not fail["violations_after_confirm"]
    print(
        f"  ledger.violations() == []: {ok} (after the change and after confirming the moves); "
        f"owners left on the failed cable: {fail['owners_left_on_failed_cable']}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print its figures, optionally write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data directory")
    parser.add_argument("--reservations", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-memory", action="store_true", help="no tracemalloc pass")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="freeze the collector's view of the filled state first (the controller's start)",
    )
    args = parser.parse_args(argv)
    out = run(args.data, args.reservations, args.seed, args.skip_memory, args.gc_freeze)
    report(out)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    fail = out["failure"]
    return 0 if not fail["violations_after_change"] and not fail["violations_after_confirm"] else 1


if __name__ == "__main__":
    sys.exit(main())
