"""The network a TE backtest runs on: a topology file's graph with the trace's nodes on it.

Node ``k`` of the network (the graph's nodes, sorted) is switch dpid ``k + 1``; its ports are
numbered 1..degree, one per neighbour in node order, and each trace node has one host (named
``h<k>``) on the port after them. Links are directed, one per direction of every cable, with the
file's capacity and the loader's fibre latency (the median of the others where the file gives
no coordinates). :meth:`TeNetwork.database` builds the live NTD the stitcher plans on, exactly
as the controller would hold it after discovery.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from topology.database import TopologyDatabase
from topology.loaders import LoadedTopology, load_topology
from topology.model import Attachment, Host, LinkId, Port

NAMED_TOPOLOGIES = {"abilene": "sndlib/abilene.xml", "geant": "sndlib/geant.xml"}
_MODULE_NOTE = "no pre-installed capacity"  # the loader's note when SNDlib capacities are modules

Pair = tuple[int, int]  # (source node, destination node), network node indices


@dataclass(frozen=True)
class TeNetwork:
    """Nodes, directed links with capacities, and where each trace node sits."""

    name: str
    nodes: tuple[str, ...]  # network node names; node k is dpid k + 1
    links: tuple[Pair, ...]  # directed (u, v) node indices
    capacity_mbps: np.ndarray  # per link
    latency_ms: np.ndarray  # per link
    trace_nodes: tuple[int, ...]  # network node of each trace node
    capacity_from_file: bool  # False: the file gives no (installed) capacity everywhere
    notes: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        """Number of network nodes."""
        return len(self.nodes)

    def scaled(self, factor: float) -> TeNetwork:
        """The same network with every capacity multiplied by ``factor``."""
        return replace(self, capacity_mbps=self.capacity_mbps * factor)

    def link_index(self) -> dict[Pair, int]:
        """Directed link -> its index in :attr:`links`."""
        return {link: k for k, link in enumerate(self.links)}

    def host_name(self, node: int) -> str:
        """The host of network node ``node`` (only trace nodes have one)."""
        return f"h{node}"

    def demand_matrix(self, tm: np.ndarray) -> np.ndarray:
        """A trace matrix (trace nodes) as an (N, N) matrix over the network's nodes."""
        out = np.zeros((self.size, self.size))
        where = np.asarray(self.trace_nodes)
        out[np.ix_(where, where)] = tm
        np.fill_diagonal(out, 0.0)
        return out

    def database(self, now: float = 0.0) -> TopologyDatabase:
        """A live NTD: every switch, both directions of every link with latency, the hosts."""
        neighbours: dict[int, list[int]] = {k: [] for k in range(self.size)}
        for u, v in self.links:
            neighbours[u].append(v)
        port = {}
        db = TopologyDatabase(default_capacity_mbps=float(self.capacity_mbps.max(initial=1.0)))
        capacity = dict(zip(self.links, self.capacity_mbps.tolist(), strict=True))
        for k in range(self.size):
            others = sorted(neighbours[k])
            ports = []
            for p, other in enumerate(others, 1):
                port[k, other] = p
                ports.append(Port(p, f"s{k + 1}-eth{p}", speed_mbps=capacity[k, other]))
            ports.append(Port(len(others) + 1, f"s{k + 1}-eth{len(others) + 1}"))
            db.add_switch(k + 1, ports, now, name=self.nodes[k])
        for (u, v), latency in zip(self.links, self.latency_ms.tolist(), strict=True):
            lid = LinkId(u + 1, port[u, v], v + 1, port[v, u])
            db.link_seen(lid, now, now)
            db.set_link_latency(lid, latency, now)
        for k in sorted(set(self.trace_nodes)):
            attachment = Attachment(k + 1, len(neighbours[k]) + 1)
            mac = f"02:00:00:00:{(k + 1) >> 8 & 255:02x}:{(k + 1) & 255:02x}"
            ip = f"10.0.{(k + 1) >> 8 & 255}.{(k + 1) & 255}"
            db.add_inventory_host(
                Host(self.host_name(k), mac, ip, attachment, source="inventory"), now
            )
        return db


def topology_path(topology: str, data_dir: Path) -> Path:
    """``abilene``/``geant`` under the shared data directory, else the file named."""
    named = NAMED_TOPOLOGIES.get(topology.lower())
    return data_dir / named if named is not None else Path(topology)


def _match_nodes(graph_nodes: list[str], trace_nodes: tuple[str, ...]) -> tuple[list[int], str]:
    """Network node of every trace node: by name, by name ignoring case, else in sorted order."""
    exact = {name: k for k, name in enumerate(graph_nodes)}
    if all(n in exact for n in trace_nodes):
        return [exact[n] for n in trace_nodes], ""
    folded = {name.lower(): k for k, name in enumerate(graph_nodes)}
    if len(folded) == len(graph_nodes) and all(n.lower() in folded for n in trace_nodes):
        return [folded[n.lower()] for n in trace_nodes], "trace nodes matched ignoring case"
    if len(trace_nodes) == len(graph_nodes):
        order = sorted(range(len(trace_nodes)), key=lambda i: trace_nodes[i])
        where = [0] * len(trace_nodes)
        for rank, i in enumerate(order):
            where[i] = rank
        first = ", ".join(f"{trace_nodes[i]}->{graph_nodes[where[i]]}" for i in order[:3])
        return where, f"trace node names not in the topology: mapped in sorted order ({first}, ...)"
    missing = sorted(n for n in trace_nodes if n not in exact)
    raise ValueError(
        f"trace nodes {missing[:5]} are not in the topology ({len(graph_nodes)} nodes) and the "
        f"trace has {len(trace_nodes)} nodes, so they cannot be mapped in order"
    )


def network_from_topology(loaded: LoadedTopology, trace_nodes: tuple[str, ...]) -> TeNetwork:
    """The TE network of a loaded topology file with the trace's nodes placed on it."""
    graph = loaded.graph
    names = sorted(str(n) for n in graph.nodes)
    index = {name: k for k, name in enumerate(names)}
    where, mapping_note = _match_nodes(names, trace_nodes)
    notes = list(loaded.assumptions) + ([mapping_note] if mapping_note else [])
    known = [lat for _, _, lat in graph.edges(data="latency_ms") if lat is not None]
    fill = statistics.median(known) if known else 1.0
    if len(known) < graph.number_of_edges():
        notes.append(f"links without coordinates given the median latency {fill:.3f} ms")
    links: list[Pair] = []
    capacity, latency = [], []
    from_file = not any(_MODULE_NOTE in note for note in loaded.assumptions)
    for a, b, attrs in sorted(graph.edges(data=True), key=lambda e: sorted((e[0], e[1]))):
        u, v = index[str(a)], index[str(b)]
        from_file = from_file and attrs.get("capacity_source") == "file"
        lat = attrs.get("latency_ms")
        for link in ((u, v), (v, u)):
            links.append(link)
            capacity.append(float(attrs["capacity_mbps"]))
            latency.append(fill if lat is None else float(lat))
    return TeNetwork(
        loaded.name,
        tuple(names),
        tuple(links),
        np.array(capacity),
        np.array(latency),
        tuple(where),
        from_file,
        tuple(notes),
    )


def load_network(topology: str, trace_nodes: tuple[str, ...], data_dir: Path) -> TeNetwork:
    """Load ``abilene``, ``geant`` (from ``data_dir``) or a GraphML/SNDlib file for a trace."""
    return network_from_topology(load_topology(topology_path(topology, data_dir)), trace_nodes)
