"""Load every Topology Zoo graph and print load times, sizes and how many needed assumptions.

Usage: ``python -m bench.zoo_load [--data DIR] [--json OUT] [--repeat N]``.
``DIR`` is the shared data directory (holding ``topologyzoo/``) or the Topology Zoo directory
itself; by default ``$VNSTITCH_SHARED_DATA`` or ``../shared/data`` beside the repository.
Each file is loaded N times (3) and its fastest load is reported.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from topology.loaders import LoadedTopology, TopologyFileError, load_topology

NAMED = ("Abilene", "Geant2012", "Cogentco", "Kdl")
PROGRESS_EVERY = 50
SLOWEST = 5

# Assumption kinds, keyed by a fragment of the loader's sentence.
KINDS = {
    "no speed": "links without speed",
    "coordinates: latency unknown": "nodes without coordinates",
    "parallel links merged": "parallel links merged",
    "components": "disconnected",
    "self-loop": "self-loops dropped",
    "label": "labels missing or shared",
}


@dataclass
class FileResult:
    """One file's outcome: load time, size, and the loader's assumptions or error."""

    file: str
    seconds: float
    nodes: int = 0
    edges: int = 0
    components: int = 0
    assumptions: list[str] | None = None
    error: str | None = None


def default_data_dir() -> Path:
    """``$VNSTITCH_SHARED_DATA`` or ``../shared/data`` relative to the repository root."""
    env = os.environ.get("VNSTITCH_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


def zoo_dir(data: Path) -> Path:
    """The directory holding the GraphML files, given the shared data dir or the zoo dir."""
    return data / "topologyzoo" if (data / "topologyzoo").is_dir() else data


def timed_load(path: Path, repeat: int) -> tuple[LoadedTopology, float]:
    """Load a file ``repeat`` times; the topology and the fastest time in seconds."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        topo = load_topology(path)
        best = min(best, time.perf_counter() - start)
    return topo, best


def load_all(files: list[Path], repeat: int) -> list[FileResult]:
    """Load each file, timing it, printing a progress line every 50 files."""
    results = []
    for index, path in enumerate(files, start=1):
        start = time.perf_counter()
        try:
            topo, seconds = timed_load(path, repeat)
        except TopologyFileError as err:
            results.append(FileResult(path.name, time.perf_counter() - start, error=str(err)))
        else:
            graph = topo.graph
            results.append(
                FileResult(
                    path.name,
                    seconds,
                    graph.number_of_nodes(),
                    graph.number_of_edges(),
                    topo.components(),
                    topo.assumptions,
                )
            )
        if index % PROGRESS_EVERY == 0:
            print(f"  {index}/{len(files)} files loaded", flush=True)
    return results


@dataclass
class Spread:
    """Minimum, median and maximum of a list of sizes."""

    min: int
    median: float
    max: int

    @classmethod
    def of(cls, values: list[int]) -> Spread:
        """The spread of ``values`` (all zero when empty)."""
        if not values:
            return cls(0, 0.0, 0)
        return cls(min(values), float(statistics.median(values)), max(values))


@dataclass
class ZooSummary:
    """Figures over all files: load times, size distribution, assumption counts."""

    files: int
    repeat: int
    loaded: int
    failed: list[FileResult]
    total_s: float
    median_ms: float
    slowest: list[FileResult]
    nodes: Spread
    edges: Spread
    named: dict[str, FileResult]
    with_assumptions: int
    assumption_kinds: dict[str, int]
    disconnected: int


def summarise(results: list[FileResult], repeat: int) -> ZooSummary:
    """Summarise per-file results."""
    loaded = [r for r in results if r.error is None]
    times = [r.seconds for r in results]
    kinds: Counter[str] = Counter()
    for r in loaded:
        for fragment, kind in KINDS.items():
            if any(fragment in a for a in r.assumptions or []):
                kinds[kind] += 1
    by_stem = {Path(r.file).stem: r for r in loaded}
    return ZooSummary(
        files=len(results),
        repeat=repeat,
        loaded=len(loaded),
        failed=[r for r in results if r.error is not None],
        total_s=sum(times),
        median_ms=statistics.median(times) * 1e3 if times else 0.0,
        slowest=sorted(results, key=lambda r: r.seconds, reverse=True)[:SLOWEST],
        nodes=Spread.of([r.nodes for r in loaded]),
        edges=Spread.of([r.edges for r in loaded]),
        named={name: by_stem[name] for name in NAMED if name in by_stem},
        with_assumptions=sum(1 for r in loaded if r.assumptions),
        assumption_kinds=dict(kinds.most_common()),
        disconnected=sum(1 for r in loaded if r.components > 1),
    )


def print_summary(s: ZooSummary, zoo: Path) -> None:
    """Print the summary as a few human-readable lines."""
    print(f"Topology Zoo load benchmark ({zoo})")
    print(f"files: {s.files}  loaded: {s.loaded}  failed: {len(s.failed)}")
    print(
        f"load time (fastest of {s.repeat} per file): total {s.total_s:.3f} s, "
        f"median {s.median_ms:.2f} ms per file"
    )
    print(f"slowest {len(s.slowest)}:")
    for r in s.slowest:
        print(f"  {r.file:<36} {r.seconds * 1e3:8.2f} ms  {r.nodes:4d} nodes {r.edges:4d} edges")
    for what, spread in (("nodes", s.nodes), ("edges", s.edges)):
        print(f"{what}: min {spread.min}, median {spread.median:g}, max {spread.max}")
    for name, r in s.named.items():
        print(f"  {name:<10} {r.nodes:4d} nodes {r.edges:4d} edges {r.seconds * 1e3:8.2f} ms")
    print(f"needed assumptions: {s.with_assumptions} of {s.loaded} files")
    for kind, count in s.assumption_kinds.items():
        print(f"  {kind}: {count} file{'' if count == 1 else 's'}")
    print(f"disconnected (kept whole): {s.disconnected} files")
    for r in s.failed:
        print(f"FAILED {r.file}: {r.error}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when a file fails to load or none is found."""
    parser = argparse.ArgumentParser(prog="python -m bench.zoo_load", description=__doc__)
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--json", type=Path, help="write per-file results and the summary here")
    parser.add_argument(
        "--repeat", type=int, default=3, help="loads per file; the fastest is reported (3)"
    )
    args = parser.parse_args(argv)
    zoo = zoo_dir(args.data)
    files = sorted(zoo.glob("*.graphml"))
    if not files:
        print(f"no .graphml files in {zoo}", file=sys.stderr)
        return 1
    results = load_all(files, max(1, args.repeat))
    summary = summarise(results, max(1, args.repeat))
    print_summary(summary, zoo)
    if args.json:
        document = {"summary": asdict(summary), "files": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(document, indent=1))
        print(f"wrote {args.json}")
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
