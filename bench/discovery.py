"""Discovery time in Mininet: from the network's start to every switch, link and host known.

``python -m bench.discovery [--sizes 10 40] [--json PATH]``. Graphs: connected random graphs
(seeded) with about 1.5 links per switch, so the figure is the controller's, not a topology's.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import networkx as nx

from testbed.stack import Stack


def _graph(n: int, seed: int = 7) -> nx.Graph:
    g = nx.connected_watts_strogatz_graph(n, 3, 0.3, seed=seed)
    return nx.convert_node_labels_to_integers(g, first_label=1)


def measure(n: int) -> dict[str, float]:
    """Build an n-switch network; time the build and the discovery (switches + links)."""
    stack = Stack(_graph(n), hosts_per_switch=1)
    t0 = time.monotonic()
    stack.start(discover_timeout_s=120.0)
    total = time.monotonic() - t0
    try:
        assert stack.net is not None
        build = stack.net.build_time_s
        return {
            "switches": n,
            "links": stack.graph.number_of_edges(),
            "build_s": round(build, 2),
            "discovery_after_build_s": round(total - build, 2),
            "total_s": round(total, 2),
        }
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the sizes and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 40])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = []
    for n in args.sizes:
        print(f"building {n} switches ...", flush=True)
        rows.append(measure(n))
        print(rows[-1], flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
