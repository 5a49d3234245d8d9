"""What protection costs: bookings with shared vs dedicated backup on Abilene and GEANT.

Usage: python -m bench.backup_bookings [--data DIR] [--requests N] [--seed S] [--json PATH]

Drives the real ``StitchService`` (no switches: every job is confirmed at once) on the SNDlib
networks ``abilene.xml`` (12 nodes, 15 links) and ``geant.xml`` (22 nodes, 36 links). Every
link is set to 1,000 Mbit/s (900 bookable with the 10 % headroom), the files' capacities and
demands are ignored; latency is the loader's fibre estimate. One host per node.

The same seeded sequence of ``N`` bidirectional requests between random host pairs, 5-40
Mbit/s each (the ledger books 1.12x), is offered three times until the network is full:

- ``unprotected``: plain reservations;
- ``shared``: ``"protection": true``, backups in the shared pool (per link the worst single
  cable failure, ``vnstitch.resources.backup``);
- ``dedicated``: the same, but every reservation's backup booked on its own (per link the max
  over its own failures, summed over reservations: ``BackupPool(shared=False)``).

Printed per network and mode: reservations admitted and their Mbit/s, refusals by constraint,
the median submit time, and the booked bandwidth summed over links (primary and backup). For
the set the shared mode admitted, the backup it would need booked dedicated is computed too
(same plans, same detours), so the saving of sharing is measured on identical reservations.
Every run checks that one cable failure never over-books a link (recomputed from the plans).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import networkx as nx

from topology.database import TopologyDatabase
from topology.loaders import largest_component, load_sndlib
from topology.model import Attachment, Host, LinkId, Port
from vnstitch.resources.backup import BackupPool
from vnstitch.resources.ledger import Ledger
from vnstitch.stitcher.backups import POOL_OWNER
from vnstitch.stitcher.reservation import ReservationRequest
from vnstitch.stitcher.stitch_service import Refusal, StitchService

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LINK_MBPS = 1_000.0
MIN_MBPS, MAX_MBPS = 5.0, 40.0
NETWORKS = ("abilene.xml", "geant.xml")
MODES = ("unprotected", "shared", "dedicated")


def build_db(graph: nx.Graph) -> TopologyDatabase:
    """The network as a live NTD: node i (sorted) is dpid i, port j towards its j-th
    neighbour, host ``h<i>`` on the port after; every link ``LINK_MBPS``."""
    dpid = {name: i for i, name in enumerate(sorted(graph.nodes), 1)}
    db = TopologyDatabase(default_capacity_mbps=LINK_MBPS)
    port_of: dict[tuple[int, int], int] = {}
    for name in sorted(graph.nodes, key=dpid.__getitem__):
        me = dpid[name]
        neighbours = sorted(dpid[n] for n in graph.neighbors(name))
        for port, other in enumerate(neighbours, 1):
            port_of[me, other] = port
        db.add_switch(me, [Port(p) for p in range(1, len(neighbours) + 2)], 0.0, f"s{me}")
        host = Attachment(me, len(neighbours) + 1)
        mac = f"02:00:00:00:{me >> 8 & 255:02x}:{me & 255:02x}"
        db.add_inventory_host(Host(f"h{me}", mac, f"10.0.{me >> 8}.{me & 255}", host), 0.0)
    for a, b, attrs in graph.edges(data=True):
        u, v = dpid[a], dpid[b]
        for lid in (
            LinkId(u, port_of[u, v], v, port_of[v, u]),
            LinkId(v, port_of[v, u], u, port_of[u, v]),
        ):
            db.link_seen(lid, 0.0, 0.0)
            db.set_link_latency(lid, float(attrs.get("latency_ms") or 1.0), 0.0)
    return db


def requests(db: TopologyDatabase, count: int, seed: int) -> list[tuple[str, str, float]]:
    """``count`` random (src, dst, Mbit/s): distinct hosts, 5-40 Mbit/s."""
    rng = random.Random(seed)
    names = sorted(h.name for h in db.hosts.values())
    out = []
    for _ in range(count):
        src, dst = rng.sample(names, 2)
        out.append((src, dst, round(rng.uniform(MIN_MBPS, MAX_MBPS), 1)))
    return out


def offer(
    db: TopologyDatabase, asks: list[tuple[str, str, float]], mode: str
) -> tuple[StitchService, dict[str, Any]]:
    """Submit every request in ``mode``; refused ones are counted, granted ones confirmed."""
    svc = StitchService(db, Ledger(link_headroom=0.1))
    if mode == "dedicated":
        svc.backups.pool = BackupPool(svc.ledger, POOL_OWNER, shared=False)
    svc.sync_capacities()
    stats: dict[str, Any] = {"refused": {}, "submit_s": [], "granted_s": [], "admitted_mbps": 0.0}
    for i, (src, dst, mbps) in enumerate(asks):
        request = ReservationRequest(
            src, dst, mbps, protection=mode != "unprotected", ip_proto=17, dst_port=1 + i
        )
        t0 = time.perf_counter()
        res, outcome = svc.submit_or_refuse(request, 1.0)
        took = time.perf_counter() - t0
        stats["submit_s"].append(took)
        if isinstance(outcome, Refusal):
            stats["refused"][outcome.constraint] = stats["refused"].get(outcome.constraint, 0) + 1
            continue
        assert res is not None
        svc.confirmed(res.id, outcome.version, 1.0)
        stats["granted_s"].append(took)
        stats["admitted_mbps"] += mbps
    return svc, stats


def _booked(svc: StitchService) -> dict[str, float]:
    """Summed over directed links: primary bookings, the pool's, and dedicated-equivalent."""
    primary = dedicated = 0.0
    for res in svc.live():
        assert res.plan is not None
        primary += sum(v for k, v in res.plan.demands.items() if isinstance(k, LinkId))
        worst: dict[LinkId, float] = {}
        for per_link in res.plan.backup.values():
            for link, mbps in per_link.items():
                worst[link] = max(mbps, worst.get(link, 0.0))
        dedicated += sum(worst.values())
    pool = sum(svc.backups.pool.pool().values())
    return {"primary": primary, "pool": pool, "dedicated_equivalent": dedicated}


def _single_failures_fit(svc: StitchService) -> bool:
    """primary(l) + backup activated on l by any one cable e <= usable(l), from the plans."""
    primary: dict[LinkId, float] = {}
    failures: dict[LinkId, dict[LinkId, float]] = {}
    for res in svc.live():
        assert res.plan is not None
        for key, mbps in res.plan.demands.items():
            if isinstance(key, LinkId):
                primary[key] = primary.get(key, 0.0) + mbps
        for cable, per_link in res.plan.backup.items():
            row = failures.setdefault(cable, {})
            for link, mbps in per_link.items():
                row[link] = row.get(link, 0.0) + mbps
    if svc.backups.pool.shared is False:
        return svc.ledger.violations() == []
    return svc.ledger.violations() == [] and all(
        primary.get(link, 0.0) + mbps <= svc.ledger.usable(link) + 1e-6
        for row in failures.values()
        for link, mbps in row.items()
    )


def run(data: Path, count: int, seed: int) -> dict[str, Any]:
    """Every network, every mode."""
    out: dict[str, Any] = {"requests": count, "seed": seed, "link_mbps": LINK_MBPS, "networks": {}}
    for name in NETWORKS:
        topo = largest_component(load_sndlib(data / "sndlib" / name))
        db = build_db(topo.graph)
        bridges = sum(1 for _ in nx.bridges(topo.graph))
        asks = requests(db, count, seed)
        net: dict[str, Any] = {
            "nodes": topo.graph.number_of_nodes(),
            "links": topo.graph.number_of_edges(),
            "bridges": bridges,
            "assumptions": [*topo.assumptions, f"every link {LINK_MBPS:g} Mbit/s"],
        }
        for mode in MODES:
            svc, stats = offer(db, asks, mode)
            live = list(svc.live())
            net[mode] = {
                "admitted": len(live),
                "admitted_mbps": round(stats["admitted_mbps"], 1),
                "refused": stats["refused"],
                "submit_median_ms": statistics.median(stats["submit_s"]) * 1e3,
                "granted_submit_median_ms": statistics.median(stats["granted_s"] or [0.0]) * 1e3,
                "booked_mbps": {k: round(v, 1) for k, v in _booked(svc).items()},
                "single_failures_fit": _single_failures_fit(svc),
                "detours_per_reservation": (
                    statistics.mean(len(r.plan.detours) for r in live if r.plan) if live else 0.0
                ),
            }
        out["networks"][name] = net
    return out


def report(out: dict[str, Any]) -> None:
    """Print the figures."""
    print(
        f"{out['requests']} bidirectional requests, {MIN_MBPS:g}-{MAX_MBPS:g} Mbit/s, "
        f"every link {out['link_mbps']:g} Mbit/s (seed {out['seed']})"
    )
    for name, net in out["networks"].items():
        print(f"{name}: {net['nodes']} nodes, {net['links']} links, {net['bridges']} bridges")
        for mode in MODES:
            m = net[mode]
            booked = m["booked_mbps"]
            print(
                f"  {mode:11s} admitted {m['admitted']:4d} ({m['admitted_mbps']:8.1f} Mbit/s), "
                f"refused {m['refused'] or 'none'}; submit median {m['submit_median_ms']:.2f} ms "
                f"(granted {m['granted_submit_median_ms']:.2f} ms); "
                f"booked primary {booked['primary']:.0f}, backup {booked['pool']:.0f} "
                f"(dedicated would be {booked['dedicated_equivalent']:.0f}); "
                f"single failures fit: {m['single_failures_fit']}"
            )
        shared = net["shared"]["booked_mbps"]
        if shared["primary"]:
            print(
                f"  shared set: backup = {shared['pool'] / shared['primary']:.2f} x primary "
                f"(dedicated {shared['dedicated_equivalent'] / shared['primary']:.2f} x); "
                f"admitted vs unprotected: shared "
                f"{net['shared']['admitted_mbps'] / net['unprotected']['admitted_mbps']:.2f}, "
                f"dedicated "
                f"{net['dedicated']['admitted_mbps'] / net['unprotected']['admitted_mbps']:.2f}"
            )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print its figures, optionally write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data directory")
    parser.add_argument("--requests", type=int, default=3_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    out = run(args.data, args.requests, args.seed)
    report(out)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    ok = all(net[m]["single_failures_fit"] for net in out["networks"].values() for m in MODES)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
