"""Data-plane verification of 10,000 reservations on Kdl tables: one audit round's cost.

Usage: python -m bench.verify_trace [--data DIR] [--reservations N] [--seed S] [--rounds R]
                                    [--budget-ms B] [--json PATH]

The network and the reservations are those of ``bench.restitch_scale`` (Kdl, largest
component, one host per switch, random bidirectional pairs 0.5-5 Mbit/s), placed by the real
``StitchService``. Every switch then "reports" exactly what the plans put on it -- the
reservation entries, ARP responders and meters -- plus the control entries every switch gets
on connect (LLDP/ARP to the controller, IPv6 drop, table-miss), as the adapter would translate
them (``FlowCounters`` with instructions, meter configs), and ``ObservedNetwork`` loads them
one switch at a time.

Printed:
- load: all switches' tables into the model (total, and the slowest single switch: the longest
  the event loop is held when one switch's reply is loaded);
- a whole round: every direction of every ACTIVE reservation traced and verified
  (``verify_each``), median of ``--rounds`` rounds (wall clock, and CPU time: the machine is
  shared); per reservation and per direction;
- the process's garbage collector: objects it tracks and what one full collection costs (a
  pause the event loop takes whatever it runs; not verification's own cost);
- sliced with a ``--budget-ms`` budget (stop once the budget is spent, resume next slice):
  the number of slices and the longest slice;
- sanity: every verdict is Ok (our own rules pass), and a foreign drop on a transit switch of
  one reservation turns its verdict into a Failure naming that entry.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.restitch_scale import DEFAULT_DATA, build_db, fill, requests
from vnstitch.core.events import FlowCounters, MeterBand, MeterConfig
from vnstitch.forwarding.control import control_rules
from vnstitch.rules.model import ETH_TYPE_IPV4, FlowRule, Match, MeterSpec
from vnstitch.stitcher.reservation import State
from vnstitch.verify.checks import (
    Failure,
    Ok,
    ReservationCheck,
    reservation_checks,
    verify_each,
    verify_reservation,
)
from vnstitch.verify.tables import ObservedNetwork


def reported_flow(rule: FlowRule) -> FlowCounters:
    """What the adapter hands the core for a switch's entry of ``rule``."""
    return FlowCounters(
        rule.priority,
        rule.cookie,
        rule.match.to_dict(),
        0,
        0.0,
        meter_id=rule.meter_id,
        actions=rule.actions,
    )


def reported_meter(meter: MeterSpec) -> MeterConfig:
    """What the adapter hands the core for a meter-config entry of ``meter``."""
    return MeterConfig(meter.meter_id, (MeterBand("drop", meter.rate_kbps, meter.burst_kb),))


def load(
    net: ObservedNetwork, flows: dict[int, list[FlowCounters]], meters: dict[int, list[MeterConfig]]
) -> tuple[float, float, int]:
    """Load every switch's report; (total s, slowest switch s, its entries)."""
    total, worst, worst_n = 0.0, 0.0, 0
    for dpid, reported in flows.items():
        t0 = time.perf_counter()
        net.set_flows(dpid, reported)
        net.set_meters(dpid, meters.get(dpid, []))
        took = time.perf_counter() - t0
        total += took
        if took > worst:
            worst, worst_n = took, len(reported)
    return total, worst, worst_n


def sliced(net: ObservedNetwork, checks: list[ReservationCheck], budget_s: float) -> list[float]:
    """Durations of the slices of one round, each stopping once ``budget_s`` is spent."""
    slices: list[float] = []
    verdicts = verify_each(net, checks)
    done = False
    while not done:
        t0 = time.perf_counter()
        done = True
        for _ in verdicts:
            if time.perf_counter() - t0 >= budget_s:
                done = False
                break
        slices.append(time.perf_counter() - t0)
    return slices


def run(data: Path, count: int, seed: int, rounds: int, budget_ms: float) -> dict[str, Any]:
    """Every figure of the benchmark."""
    now = 1000.0
    built = build_db(data, now)
    db = built.db
    filled = fill(db, requests(db, count, seed), now, "placed")
    active = [r for r in filled.service.reservations.values() if r.state is State.ACTIVE]

    flows: dict[int, list[FlowCounters]] = {d: [] for d in db.switches}
    meters: dict[int, list[MeterConfig]] = {d: [] for d in db.switches}
    checks: list[ReservationCheck] = []
    for dpid in db.switches:
        flows[dpid] += [reported_flow(r) for r in control_rules(dpid)]
    for res in active:
        assert res.plan is not None
        for rule in res.plan.all_rules():
            flows[rule.dpid].append(reported_flow(rule))
        for meter in res.plan.meters:
            meters[meter.dpid].append(reported_meter(meter))
        src, dst = db.find_host(res.request.src), db.find_host(res.request.dst)
        assert src is not None and dst is not None
        checks += reservation_checks(res.id, res.plan, src, dst)
    entries = sum(len(f) for f in flows.values())

    net = ObservedNetwork(db.links)
    load_s, worst_s, worst_n = load(net, flows, meters)

    gc.collect()
    t0 = time.perf_counter()
    gc.collect()
    full_gc_s = time.perf_counter() - t0
    round_s: list[float] = []
    round_cpu_s: list[float] = []
    verdicts: dict[str, int] = {}
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        results = list(verify_each(net, checks))
        round_s.append(time.perf_counter() - t0)
        round_cpu_s.append(time.process_time() - c0)
    for _, verdict in results:
        verdicts[type(verdict).__name__] = verdicts.get(type(verdict).__name__, 0) + 1
    slices = sliced(net, checks, budget_ms / 1000)
    hops = statistics.mean(len(v.trace.main) for _, v in results if isinstance(v, Ok) and v.trace)

    # A foreign drop on a transit switch of the first reservation's forward direction.
    first = checks[0]
    ok = verify_reservation(net, first)
    assert isinstance(ok, Ok) and ok.trace is not None
    transit = ok.trace.main.hop(len(ok.trace.main) // 2).dpid
    foreign = FlowRule(
        transit,
        30000,
        Match(eth_type=ETH_TYPE_IPV4, ipv4_dst=first.packet.fields["ipv4_dst"]),
        (),
        0xDEAD,
    )
    net.set_flows(transit, [*flows[transit], reported_flow(foreign)])
    broken = verify_reservation(net, first)
    net.set_flows(transit, flows[transit])

    median = statistics.median(round_s)
    return {
        "date": time.strftime("%Y-%m-%d"),
        "topology": f"Kdl largest component: {len(db.switches)} switches, "
        f"{len(db.links)} directed links, {len(db.hosts)} hosts",
        "reservations_asked": count,
        "active": len(active),
        "directions": len(checks),
        "entries": entries,
        "mean_hops": hops,
        "load": {
            "total_ms": load_s * 1e3,
            "slowest_switch_ms": worst_s * 1e3,
            "slowest_switch_entries": worst_n,
            "per_entry_us": load_s / entries * 1e6,
        },
        "process": {"gc_objects": len(gc.get_objects()), "full_gc_ms": full_gc_s * 1e3},
        "round": {
            "rounds_s": round_s,
            "rounds_cpu_s": round_cpu_s,
            "median_s": median,
            "median_cpu_s": statistics.median(round_cpu_s),
            "per_reservation_us": median / len(active) * 1e6,
            "per_direction_us": median / len(checks) * 1e6,
            "verdicts": verdicts,
        },
        "sliced": {
            "budget_ms": budget_ms,
            "slices": len(slices),
            "longest_ms": max(slices) * 1e3,
            "total_ms": sum(slices) * 1e3,
        },
        "foreign_drop": {
            "switch": f"{transit:016x}",
            "verdict": type(broken).__name__,
            "reason": broken.reason if isinstance(broken, Failure) else None,
        },
    }


def report(out: dict[str, Any]) -> None:
    """Print the figures."""
    print(out["topology"])
    print(
        f"{out['active']} ACTIVE reservations, {out['directions']} directions, "
        f"{out['entries']} flow entries, {out['mean_hops']:.1f} hops per direction"
    )
    ld = out["load"]
    print(
        f"load: {ld['total_ms']:.0f} ms for all switches ({ld['per_entry_us']:.2f} us per entry); "
        f"slowest switch {ld['slowest_switch_ms']:.1f} ms ({ld['slowest_switch_entries']} entries)"
    )
    rd = out["round"]
    print(
        f"round: median {rd['median_s'] * 1e3:.0f} ms of {len(rd['rounds_s'])} "
        f"(CPU {rd['median_cpu_s'] * 1e3:.0f} ms; {rd['per_reservation_us']:.1f} us per "
        f"reservation, {rd['per_direction_us']:.1f} us per direction); "
        f"verdicts {rd['verdicts']}"
    )
    pr = out["process"]
    print(
        f"process: {pr['gc_objects']} objects tracked by the GC; one full collection "
        f"{pr['full_gc_ms']:.0f} ms (not part of the figures above)"
    )
    sl = out["sliced"]
    print(
        f"sliced at {sl['budget_ms']:g} ms: {sl['slices']} slices, "
        f"longest {sl['longest_ms']:.1f} ms"
    )
    fd = out["foreign_drop"]
    print(f"foreign drop on {fd['switch']}: {fd['verdict']}: {fd['reason']}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print its figures, optionally write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data directory")
    parser.add_argument("--reservations", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget-ms", type=float, default=50.0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    out = run(args.data, args.reservations, args.seed, args.rounds, args.budget_ms)
    report(out)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    all_ok = out["round"]["verdicts"] == {"Ok": out["directions"]}
    return 0 if all_ok and out["foreign_drop"]["verdict"] == "Failure" else 1


if __name__ == "__main__":
    sys.exit(main())
