"""What the audit asks per switch on Kdl with 10,000 reservations: the per-switch plan index.

Usage: python -m bench.audit_lookup [--data DIR] [--reservations N] [--seed S] [--switches K]
                                    [--json PATH]

The network and reservations are those of ``bench.restitch_scale`` (Kdl, random bidirectional
pairs, placed and confirmed by the real ``StitchService``). For ``--switches`` switches (spread
over the network) it times what one switch's audit asks of the stitcher -- the rules, meters
and groups the installed plans put there (``expected_rules/meters/groups``) -- and, as the
yardstick in the same run, the walk over every plan's every entry that answered before the
index (the same filter, ``vnstitch.stitcher.plan_index`` docstring). It checks both give the
same entries, and prints medians per switch and the CPU of one audit round over every switch.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.restitch_scale import DEFAULT_DATA, build_db, fill, requests
from vnstitch.stitcher.reservation import State
from vnstitch.stitcher.stitch_service import StitchService


def walked(svc: StitchService, dpid: int) -> tuple[list[Any], list[Any], list[Any]]:
    """The audit's question answered by walking every plan (before the index)."""
    plans = [
        r.plan
        for r in svc.reservations.values()
        if r.plan is not None
        and (r.state in (State.ACTIVE, State.INSTALLING) or svc.held_degraded(r.id))
    ]
    return (
        [x for p in plans for x in p.all_rules() if x.dpid == dpid],
        [m for p in plans for m in p.meters if m.dpid == dpid],
        [g for p in plans for g in p.groups if g.dpid == dpid],
    )


def indexed(svc: StitchService, dpid: int) -> tuple[list[Any], list[Any], list[Any]]:
    """The audit's question as the controller asks it."""
    return svc.expected_rules(dpid), svc.expected_meters(dpid), svc.expected_groups(dpid)


def run(data: Path, count: int, seed: int, sample: int) -> dict[str, Any]:
    """Fill Kdl, then time both ways on ``sample`` switches."""
    built = build_db(data, 0.0)
    filled = fill(built.db, requests(built.db, count, seed), 0.0, "fill")
    svc = filled.service
    nodes = sorted(built.db.graph.nodes)
    step = max(1, len(nodes) // sample)
    chosen = nodes[::step][:sample]
    times: dict[str, list[float]] = {"indexed": [], "walked": []}
    entries: list[int] = []
    for dpid in chosen:
        answers = {}
        for name, ask in (("indexed", indexed), ("walked", walked)):
            t0 = time.perf_counter()
            answers[name] = ask(svc, dpid)
            times[name].append(time.perf_counter() - t0)
        a, b = answers["indexed"], answers["walked"]
        if any(Counter(x) != Counter(y) for x, y in zip(a, b, strict=True)):
            raise SystemExit(f"switch {dpid}: the index and the walk disagree")
        entries.append(len(a[0]))
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    switches = len(nodes)
    return {
        "reservations_active": sum(1 for r in svc.reservations.values() if r.state is State.ACTIVE),
        "switches": switches,
        "switches_timed": len(chosen),
        "rules_per_switch_median": statistics.median(entries),
        "indexed_ms_per_switch_median": med["indexed"],
        "walked_ms_per_switch_median": med["walked"],
        "speedup": med["walked"] / med["indexed"],
        "indexed_round_s": med["indexed"] * switches / 1e3,
        "walked_round_s": med["walked"] * switches / 1e3,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print its figures, optionally write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data directory")
    parser.add_argument("--reservations", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--switches", type=int, default=60, help="switches timed")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    out = run(args.data, args.reservations, args.seed, args.switches)
    print(
        f"{out['reservations_active']} ACTIVE reservations on {out['switches']} switches; "
        f"{out['switches_timed']} switches timed, median {out['rules_per_switch_median']:.0f} "
        "reservation rules each"
    )
    print(
        f"per switch, median: indexed {out['indexed_ms_per_switch_median']:.3f} ms, "
        f"walk over every plan (yardstick) {out['walked_ms_per_switch_median']:.3f} ms "
        f"({out['speedup']:.0f}x)"
    )
    print(
        f"one audit round over every switch: {out['indexed_round_s']:.2f} s of CPU "
        f"(walk: {out['walked_round_s']:.1f} s)"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
