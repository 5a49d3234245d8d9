"""The traffic a replay plays: a trace and its network, scaled down to Mininet rates.

The trace is a real one (``--trace``, the ``.npz`` layout of ``/work/shared/data``) on the
SNDlib network file with the same nodes (``../sndlib/*.xml`` beside the trace's folder), or a
synthetic one from ``predictor.generator`` on the Topology Zoo Abilene fixture (11 nodes).
Trace node ``i`` becomes switch ``i + 1`` with host ``h(i+1)`` at ``10.0.0.(i+1)``, and the
prepared trace names its nodes by those addresses, so its pairs are the ones the controller
counts. Rates are scaled so that the busiest link in the replay window carries
``peak_link_mbps`` on shortest paths; rates below ``min_rate_mbps`` are not played (a pair
*starts sending* when its scaled rate first reaches it), in training, seed and replay alike.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np

from predictor.generator import GeneratorConfig, generate
from predictor.trace import Trace, load_trace
from testbed import naming
from topology.loaders import (
    LoadedTopology,
    TopologyFileError,
    largest_component,
    load_graphml,
    load_sndlib,
)

ZOO_ABILENE = (
    Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "zoo" / "Abilene.graphml"
)
START_CANDIDATE_STEP = 6  # candidate window starts every 30 min of five-minute steps


@dataclass(frozen=True)
class ReplayOptions:
    """What to replay and how hard."""

    steps: int = 90  # replay window, in trace steps (one per wall second by default)
    train_days: float = 10.0  # model trained on the trace's first days; replay on the day after
    peak_link_mbps: float = 12.0  # the busiest link's load in the window, after scaling
    min_rate_mbps: float = 0.1  # a pair sends in a step only at this scaled rate or above
    start: str | None = None  # "HH:MM" (UTC) of the replay day; None: most pairs starting
    link_mbps: float = 50.0  # capacity (htb) of every Mininet link
    generator_seed: int = 1


@dataclass(frozen=True)
class ReplayTrace:
    """A prepared trace (Mbit/s, host-addressed nodes), its network and its replay window."""

    trace: Trace
    names: tuple[str, ...]  # the original node names, in trace order
    graph: nx.Graph  # int-labelled: node i + 1 is trace node i
    start_step: int
    steps: int
    scale: float
    min_rate_mbps: float
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def start_time(self) -> float:
        """Trace time (epoch s) at which the replay starts."""
        return self.trace.start + self.start_step * self.trace.step_seconds

    def window(self) -> np.ndarray:
        """Rates (steps, pairs) of the replay window, pairs in ``trace.pairs()`` order."""
        return self.trace.series()[self.start_step : self.start_step + self.steps]

    def label(self, ip: str) -> str:
        """The original node name of a host address."""
        return self.names[self.trace.nodes.index(ip)]


def _find_topology(trace_path: Path, nodes: tuple[str, ...]) -> LoadedTopology:
    """The SNDlib file in ``../sndlib`` beside the trace's folder with exactly these nodes."""
    folder = trace_path.resolve().parent.parent / "sndlib"
    candidates = sorted(folder.glob("*.xml"), key=lambda p: (p.stem not in trace_path.stem, p))
    for path in candidates:
        try:
            topo = load_sndlib(path)
        except (TopologyFileError, OSError):
            continue
        if set(topo.graph.nodes) == set(nodes):
            return topo
    raise FileNotFoundError(
        f"no SNDlib network with the trace's {len(nodes)} nodes in {folder} (pass --topology FILE)"
    )


def int_graph(topo: LoadedTopology, nodes: tuple[str, ...], link_mbps: float) -> nx.Graph:
    """The topology with node ``nodes[i]`` as ``i + 1``; every link shaped to ``link_mbps``."""
    if set(topo.graph.nodes) != set(nodes):
        missing = sorted(set(nodes) ^ set(topo.graph.nodes))
        raise ValueError(f"topology and trace nodes differ: {missing}")
    index = {name: i + 1 for i, name in enumerate(nodes)}
    graph = nx.Graph()
    for name, i in index.items():
        graph.add_node(i, label=name)
    for u, v in topo.graph.edges:
        graph.add_edge(index[u], index[v], bw_mbps=link_mbps)
    return graph


def load_source(
    trace_path: Path | None, options: ReplayOptions, topology: Path | None = None
) -> tuple[Trace, nx.Graph, str, list[str]]:
    """The raw trace, its int-labelled network, a description and the loaders' notes."""
    if trace_path is None:
        topo = largest_component(load_graphml(ZOO_ABILENE))
        names = tuple(sorted(topo.graph.nodes))
        days = replay_day(options) + 1
        config = GeneratorConfig(nodes=len(names), days=days, seed=options.generator_seed)
        raw = generate(config)
        trace = Trace(raw.tm, names, raw.start, raw.step_seconds)
        source = f"generated ({len(names)} nodes, {days} days, seed {options.generator_seed})"
    else:
        trace = load_trace(trace_path)
        topo = (
            _find_topology(trace_path, trace.nodes)
            if topology is None
            else largest_component(
                load_sndlib(topology) if topology.suffix == ".xml" else load_graphml(topology)
            )
        )
        source = f"{trace_path} on {topo.name}"
    graph = int_graph(topo, trace.nodes, options.link_mbps)
    return trace, graph, source, list(topo.assumptions)


def replay_day(options: ReplayOptions) -> int:
    """Index of the day the replay plays: the first day after the training days."""
    return max(math.ceil(options.train_days), 1)


def routing_matrix(graph: nx.Graph, n: int) -> np.ndarray:
    """(n*n, directed links) 0/1: which links the shortest path of pair (i, j) crosses."""
    paths = dict(nx.all_pairs_shortest_path(graph))
    links: dict[tuple[int, int], int] = {}
    cells: list[tuple[int, int]] = []
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            path = paths[i + 1][j + 1]
            for a, b in itertools.pairwise(path):
                cells.append((i * n + j, links.setdefault((a, b), len(links))))
    matrix = np.zeros((n * n, len(links)))
    for row, column in cells:
        matrix[row, column] = 1.0
    return matrix


def window_scale(tm: np.ndarray, routing: np.ndarray, peak_link_mbps: float) -> float:
    """Factor that makes the busiest link of ``tm`` (steps, n, n) carry ``peak_link_mbps``."""
    loads = tm.reshape(tm.shape[0], -1) @ routing
    peak = float(loads.max())
    if peak <= 0:
        raise ValueError("the replay window carries no traffic")
    return peak_link_mbps / peak


def late_starters(rates: np.ndarray, min_rate: float, settle: int = 2) -> int:
    """Pairs (columns) silent in the first ``settle`` steps that send later."""
    sending = rates >= min_rate
    return int((sending[settle:].any(axis=0) & ~sending[:settle].any(axis=0)).sum())


def choose_start(trace: Trace, routing: np.ndarray, options: ReplayOptions) -> tuple[int, float]:
    """The window start on the replay day, and its scale factor.

    ``options.start`` ("HH:MM") fixes it; otherwise the candidate (every 30 min) with the most
    pairs that start sending after the window's first steps wins (earliest on ties).
    """
    day = trace.steps_per_day
    first = replay_day(options) * day
    if first + options.steps > trace.steps:
        raise ValueError(
            f"the trace has {trace.steps} steps: too short for {options.train_days} training "
            f"days and a {options.steps}-step replay on the next day"
        )
    if options.start is not None:
        hours, minutes = (int(x) for x in options.start.split(":"))
        candidates = [first + round((hours * 3600 + minutes * 60) / trace.step_seconds)]
    else:
        candidates = list(range(first, first + day, START_CANDIDATE_STEP))
    best: tuple[int, int, float] | None = None
    mask = ~np.eye(len(trace.nodes), dtype=bool)
    for start in candidates:
        if start + options.steps > trace.steps:
            continue
        window = trace.tm[start : start + options.steps]
        scale = window_scale(window, routing, options.peak_link_mbps)
        score = late_starters(window[:, mask] * scale, options.min_rate_mbps)
        if best is None or score > best[1]:
            best = (start, score, scale)
    if best is None:
        raise ValueError(f"no {options.steps}-step window fits at {options.start}")
    return best[0], best[2]


def prepare(
    trace_path: Path | None, options: ReplayOptions, topology: Path | None = None
) -> ReplayTrace:
    """Load or generate the trace, pick the window, scale, floor and rename its nodes."""
    raw, graph, source, notes = load_source(trace_path, options, topology)
    n = len(raw.nodes)
    start, scale = choose_start(raw, routing_matrix(graph, n), options)
    tm = raw.tm * scale
    tm[tm < options.min_rate_mbps] = 0.0
    ips = tuple(naming.host_ip(i + 1) for i in range(n))
    prepared = Trace(tm, ips, raw.start, raw.step_seconds)
    return ReplayTrace(
        prepared,
        raw.nodes,
        graph,
        start,
        options.steps,
        scale,
        options.min_rate_mbps,
        source,
        notes,
    )
