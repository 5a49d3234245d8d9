"""The TE backtest's per-step costs: the optimum LP and the stitcher's placement, by network size.

Usage: python -m bench.te_optimum [--data DIR] [--steps N] [--json PATH]

Networks: SNDlib Abilene (12 nodes) and GEANT (22), Topology Zoo Geant2012 (40, largest
component) and Cogentco (197). Demands: a gravity-model traffic matrix per step (the
project's generator, 5-minute steps, one per node of the network) scaled so that the optimum's
busiest link sits near 0.6. Printed per network: the LP's size (variables, rows), its solve time
(median and max over ``--steps`` matrices, 3 on the larger networks), and for
the networks up to 40 nodes the stitcher placement of one reservation per pair (lowest budget
at which all fit, as ``predictor te-backtest`` does each step): median time, trials, budget
over the optimum.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from predictor.generator import GeneratorConfig, generate
from predictor.te.backtest import TE_UTILISATION_MS, te_weights
from predictor.te.network import TeNetwork, network_from_topology
from predictor.te.optimum import OptimalMlu
from predictor.te.placement import StitcherPlacement
from topology.loaders import largest_component, load_topology

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NETWORKS = {
    "abilene": "sndlib/abilene.xml",
    "geant": "sndlib/geant.xml",
    "Geant2012": "topologyzoo/Geant2012.graphml",
    "Cogentco": "topologyzoo/Cogentco.graphml",
}
PLACE_UP_TO = 40  # nodes: larger networks get the LP only
LARGE_SOLVES = 3  # matrices solved on networks larger than that (seconds each)


def _network(data: Path, name: str) -> TeNetwork:
    topo = largest_component(load_topology(data / NETWORKS[name]))
    nodes = tuple(sorted(str(n) for n in topo.graph.nodes))
    return network_from_topology(topo, nodes)


def run(data: Path, steps: int) -> dict[str, Any]:
    """Every figure, per network."""
    out: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "steps": steps, "networks": {}}
    for name in NETWORKS:
        network = _network(data, name)
        n, e = network.size, len(network.links)
        trace = generate(GeneratorConfig(nodes=n, days=steps / 288, seed=n))
        matrices = [network.demand_matrix(trace.tm[t]) for t in range(trace.steps)]
        optimum = OptimalMlu(n, network.links, network.capacity_mbps)
        peak = max(optimum.solve(m) for m in matrices[:3])
        network = network.scaled(peak / 0.6)
        optimum = OptimalMlu(n, network.links, network.capacity_mbps)
        solve_s, values = [], []
        if n > PLACE_UP_TO:
            matrices = matrices[:LARGE_SOLVES]
        for matrix in matrices:
            t0 = time.perf_counter()
            values.append(optimum.solve(matrix))
            solve_s.append(time.perf_counter() - t0)
        figures: dict[str, Any] = {
            "nodes": n,
            "directed_links": e,
            "lp_variables": n * e + 1,
            "lp_rows": n * n + e,
            "solve_median_ms": statistics.median(solve_s) * 1e3,
            "solve_max_ms": max(solve_s) * 1e3,
            "optimal_mlu_median": statistics.median(values),
        }
        if n <= PLACE_UP_TO:
            placement = StitcherPlacement(network, optimum, weights=te_weights(TE_UTILISATION_MS))
            place_s, trials, over = [], [], []
            for matrix, value in zip(matrices, values, strict=True):
                rows, cols = np.nonzero(matrix)
                sizes = {
                    (int(s), int(t)): float(matrix[s, t]) for s, t in zip(rows, cols, strict=True)
                }
                t0 = time.perf_counter()
                placed = placement.place(sizes)
                place_s.append(time.perf_counter() - t0)
                trials.append(placed.trials)
                over.append(placed.budget / 1.12 / value)
            figures |= {
                "reservations": len(sizes),
                "place_median_ms": statistics.median(place_s) * 1e3,
                "place_trials_median": statistics.median(trials),
                "budget_over_optimum_median": statistics.median(over),
            }
        out["networks"][name] = figures
        print(f"{name}: {json.dumps(figures)}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print its figures, optionally write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data directory")
    parser.add_argument("--steps", type=int, default=20, help="traffic matrices per network")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    out = run(args.data, args.steps)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
