"""The resource ledger at scale: 10,000 live reservations on a 750-switch graph.

Usage: python -m bench.ledger_scale [--switches N] [--reservations N] [--reps N] [--seed S]

Builds a seeded connected Watts-Strogatz graph (degree 4, rewiring 0.2), every cable two
directed 10 Gbit/s links, every switch 1,000 meters and 100,000 flow entries. Each reservation
takes a shortest path of 5-8 hops between random switches and asks 0.5-5 Mbit/s on each link,
one flow entry on each switch of the path and one meter at the ingress. Path finding is done
before any timing: only the ledger is measured.

Printed (medians over ``--reps`` fresh ledgers):
- memory per reservation (tracemalloc, ledger growth from empty-with-capacities to full);
- time to allocate all reservations;
- the busiest cable failing (both directions): time to find its owners and release them all,
  and separately, time to move them all make-before-break onto precomputed detours
  (begin_move + commit_move) -- the ledger's share of re-stitching them;
- time of one full ``violations()`` audit.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import networkx as nx

from topology.model import LinkId
from vnstitch.resources.keys import Demands, NodeResource, ResourceKey, ResourceKind
from vnstitch.resources.ledger import Ledger

LINK_MBPS = 10_000.0
METERS_PER_SWITCH = 1_000
FLOWS_PER_SWITCH = 100_000
MIN_HOPS, MAX_HOPS = 5, 8


@dataclass
class Network:
    """The benchmark graph and the directed link id of every edge direction."""

    graph: nx.Graph
    links: dict[tuple[int, int], LinkId]


@dataclass
class Reservation:
    """One reservation: its path and what it asks of the ledger."""

    owner: int
    path: list[int]
    mbps: float


def build_network(switches: int, seed: int) -> Network:
    """A connected random graph with port numbers on both ends of every cable."""
    graph = nx.connected_watts_strogatz_graph(switches, 4, 0.2, seed=seed)
    next_port = dict.fromkeys(graph.nodes, 1)
    links: dict[tuple[int, int], LinkId] = {}
    for a, b in sorted(graph.edges):
        pa, pb = next_port[a], next_port[b]
        next_port[a], next_port[b] = pa + 1, pb + 1
        links[(a, b)] = LinkId(a, pa, b, pb)
        links[(b, a)] = LinkId(b, pb, a, pa)
    return Network(graph, links)


def capacities(net: Network) -> dict[ResourceKey, float]:
    """Link bandwidth, meters and flow entries of the whole network."""
    caps: dict[ResourceKey, float] = dict.fromkeys(net.links.values(), LINK_MBPS)
    for node in net.graph.nodes:
        caps[NodeResource(ResourceKind.METERS, node)] = METERS_PER_SWITCH
        caps[NodeResource(ResourceKind.FLOWS, node)] = FLOWS_PER_SWITCH
    return caps


def random_reservations(net: Network, count: int, rng: random.Random) -> list[Reservation]:
    """``count`` shortest paths of MIN_HOPS..MAX_HOPS hops between random switches."""
    nodes = sorted(net.graph.nodes)
    out: list[Reservation] = []
    while len(out) < count:
        src = rng.choice(nodes)
        paths = nx.single_source_shortest_path(net.graph, src, cutoff=MAX_HOPS)
        far = [p for p in paths.values() if len(p) - 1 >= MIN_HOPS]
        if far:
            out.append(Reservation(len(out) + 1, rng.choice(far), rng.uniform(0.5, 5.0)))
    return out


def demands_of(net: Network, path: list[int], mbps: float) -> Demands:
    """Bandwidth on every link, a flow entry on every switch, a meter at the ingress."""
    asked: dict[ResourceKey, float] = {net.links[(a, b)]: mbps for a, b in itertools.pairwise(path)}
    for node in path:
        asked[NodeResource(ResourceKind.FLOWS, node)] = 1
    asked[NodeResource(ResourceKind.METERS, path[0])] = 1
    return asked


def fresh_ledger(caps: dict[ResourceKey, float]) -> Ledger[int]:
    """An empty ledger knowing every capacity."""
    ledger: Ledger[int] = Ledger(link_headroom=0.1)
    for key, amount in caps.items():
        ledger.set_capacity(key, amount)
    return ledger


def fill(ledger: Ledger[int], demands: dict[int, Demands]) -> None:
    """Allocate every reservation (all fit by construction)."""
    for owner, asked in demands.items():
        ledger.allocate(owner, asked)


def timed(fn: Callable[[], object]) -> float:
    """Wall time of one call, in seconds."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def busiest_cable(net: Network, ledger: Ledger[int]) -> tuple[LinkId, LinkId]:
    """The cable whose two directions together have the most owners."""
    a, b = max(
        net.graph.edges,
        key=lambda e: len(ledger.owners_of(net.links[e]) | ledger.owners_of(net.links[e[::-1]])),
    )
    return net.links[(a, b)], net.links[(b, a)]


def detours(
    net: Network, cable: tuple[LinkId, LinkId], reservations: dict[int, Reservation]
) -> dict[int, Demands]:
    """For each reservation over the cable, demands on its shortest path avoiding it."""
    cut = net.graph.copy()
    cut.remove_edge(cable[0].src, cable[0].dst)
    moved: dict[int, Demands] = {}
    for owner, res in reservations.items():
        path = nx.shortest_path(cut, res.path[0], res.path[-1])
        moved[owner] = demands_of(net, path, res.mbps)
    return moved


def fail_and_release(ledger: Ledger[int], cable: tuple[LinkId, LinkId]) -> int:
    """Take the cable down, find its owners through the index, release them all."""
    owners = ledger.remove_resource(cable[0]) | ledger.remove_resource(cable[1])
    for owner in owners:
        ledger.release(owner)
    return len(owners)


def fail_and_move(
    ledger: Ledger[int], cable: tuple[LinkId, LinkId], moved: dict[int, Demands]
) -> int:
    """Take the cable down, move every owner make-before-break onto its detour."""
    owners = ledger.remove_resource(cable[0]) | ledger.remove_resource(cable[1])
    for owner in owners:
        ledger.begin_move(owner, moved[owner])
        ledger.commit_move(owner)
    return len(owners)


def measure_memory(caps: dict[ResourceKey, float], demands: dict[int, Demands]) -> int:
    """Bytes the ledger grows by when every reservation is allocated (tracemalloc)."""
    tracemalloc.start()
    ledger = fresh_ledger(caps)
    before, _ = tracemalloc.get_traced_memory()
    fill(ledger, demands)
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return after - before


@dataclass
class Timings:
    """Seconds per repetition of each measured step."""

    allocate: list[float]
    release: list[float]
    move: list[float]


def measure_times(
    caps: dict[ResourceKey, float],
    demands: dict[int, Demands],
    cable: tuple[LinkId, LinkId],
    moved: dict[int, Demands],
    reps: int,
) -> Timings:
    """Allocate all, then fail the cable and release (or move) its owners, on fresh ledgers."""
    out = Timings([], [], [])
    for _ in range(reps):
        ledger = fresh_ledger(caps)
        out.allocate.append(timed(functools.partial(fill, ledger, demands)))
        out.release.append(timed(functools.partial(fail_and_release, ledger, cable)))
        assert ledger.violations() == []
        ledger = fresh_ledger(caps)
        fill(ledger, demands)
        out.move.append(timed(functools.partial(fail_and_move, ledger, cable, moved)))
        assert ledger.violations() == [] and not ledger.overbooked()
    return out


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switches", type=int, default=750)
    parser.add_argument("--reservations", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    net = build_network(args.switches, args.seed)
    caps = capacities(net)
    reservations = random_reservations(net, args.reservations, random.Random(args.seed))
    demands = {r.owner: demands_of(net, r.path, r.mbps) for r in reservations}
    keys = statistics.mean(len(d) for d in demands.values())
    hops = statistics.mean(len(r.path) - 1 for r in reservations)
    print(
        f"graph: {net.graph.number_of_nodes()} switches, {len(net.links)} directed links; "
        f"{len(reservations)} reservations, {hops:.1f} hops and {keys:.1f} keys each"
    )
    grown = measure_memory(caps, demands)
    print(f"memory: {grown / len(demands):.0f} B per reservation ({grown / 2**20:.1f} MiB total)")

    ledger = fresh_ledger(caps)
    fill(ledger, demands)
    cable = busiest_cable(net, ledger)
    owners = ledger.owners_of(cable[0]) | ledger.owners_of(cable[1])
    moved = detours(net, cable, {r.owner: r for r in reservations if r.owner in owners})
    audit_s = timed(ledger.violations)
    times = measure_times(caps, demands, cable, moved, args.reps)

    alloc_s = statistics.median(times.allocate)
    print(f"allocate all: {alloc_s * 1e3:.0f} ms ({alloc_s / len(demands) * 1e6:.1f} us each)")
    print(f"busiest cable {cable[0].src}<->{cable[0].dst}: {len(owners)} owners")
    print(f"  find owners + release all: {statistics.median(times.release) * 1e3:.1f} ms")
    move_ms = statistics.median(times.move) * 1e3
    print(f"  find owners + move all make-before-break: {move_ms:.1f} ms")
    print(f"audit violations() over all holdings: {audit_s * 1e3:.0f} ms")
    print(f"(medians of {args.reps} repetitions; path search not included)")


if __name__ == "__main__":
    main()
