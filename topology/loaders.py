"""Load real topology files (Topology Zoo GraphML, SNDlib XML) into one normalised graph.

The result is an undirected simple ``networkx.Graph``. Node keys are unique strings (the
label where it is unique, else ``label#id``); node attributes ``label``, ``lat``, ``lon``
(float or None). Edge attributes ``capacity_mbps`` (float), ``latency_ms`` (one-way, from the
great-circle distance at 5 µs per km, or None when an end has no coordinates) and
``capacity_source`` ("file", or "default" when any link merged into the edge had no speed).
Parallel links are merged with summed capacity (except an SNDlib link listed once per
direction, read as one full-duplex link), self-loops dropped, disconnected graphs kept whole.
Every such decision is written as one sentence into ``LoadedTopology.assumptions``.
"""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from topology.geo import fibre_latency_ms, great_circle_km

DEFAULT_CAPACITY_MBPS = 1000.0

PathLike = str | os.PathLike[str]

_ZOO_SPEED_UNITS_MBPS = {"K": 1e-3, "M": 1.0, "G": 1e3, "T": 1e6}
_SNDLIB_UNITS_MBPS = {"BITPERSEC": 1e-6, "KBITPERSEC": 1e-3, "MBITPERSEC": 1.0, "GBITPERSEC": 1e3}
_LISTED_PAIRS = 3


class TopologyFileError(ValueError):
    """A topology file is missing, unreadable or malformed; the message names file and fault."""


@dataclass
class LoadedTopology:
    """A normalised topology graph, its name and the assumptions made while loading it."""

    name: str
    graph: nx.Graph
    assumptions: list[str] = field(default_factory=list)

    def components(self) -> int:
        """Number of connected components of the graph."""
        return int(nx.number_connected_components(self.graph))


@dataclass(frozen=True)
class _FileNode:
    """A node as the file states it."""

    file_id: str
    label: str | None
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class _FileLink:
    """A link as the file states it; ``capacity_mbps`` is None when the file gives none."""

    name: str
    src: str
    dst: str
    capacity_mbps: float | None


# ---- public entry points ---------------------------------------------------------------------


def load_topology(
    path: PathLike, default_capacity_mbps: float = DEFAULT_CAPACITY_MBPS
) -> LoadedTopology:
    """Load a GraphML or SNDlib XML file, telling them apart by the root element."""
    root = _parse_xml(path)
    kind = _local(root.tag)
    if kind == "graphml":
        return _graphml_topology(path, root, default_capacity_mbps)
    if kind == "network":
        return _sndlib_topology(path, root, default_capacity_mbps)
    raise TopologyFileError(f"{path}: neither GraphML nor SNDlib XML (root element <{kind}>)")


def load_graphml(
    path: PathLike, default_capacity_mbps: float = DEFAULT_CAPACITY_MBPS
) -> LoadedTopology:
    """Load a Topology Zoo GraphML file."""
    root = _parse_xml(path)
    if _local(root.tag) != "graphml":
        raise TopologyFileError(f"{path}: not GraphML (root element <{_local(root.tag)}>)")
    return _graphml_topology(path, root, default_capacity_mbps)


def load_sndlib(
    path: PathLike, default_capacity_mbps: float = DEFAULT_CAPACITY_MBPS
) -> LoadedTopology:
    """Load an SNDlib network file in its native XML format."""
    root = _parse_xml(path)
    if _local(root.tag) != "network":
        raise TopologyFileError(f"{path}: not SNDlib XML (root element <{_local(root.tag)}>)")
    return _sndlib_topology(path, root, default_capacity_mbps)


def largest_component(topo: LoadedTopology) -> LoadedTopology:
    """The biggest connected component (most nodes, then most links) as its own topology."""
    parts = [sorted(c) for c in nx.connected_components(topo.graph)]
    if len(parts) <= 1:
        return LoadedTopology(topo.name, topo.graph.copy(), list(topo.assumptions))
    keep = max(parts, key=lambda c: (len(c), topo.graph.subgraph(c).number_of_edges(), c[0]))
    graph = topo.graph.subgraph(keep).copy()
    note = (
        f"kept the largest component only: {graph.number_of_nodes()} of "
        f"{topo.graph.number_of_nodes()} nodes, {graph.number_of_edges()} of "
        f"{topo.graph.number_of_edges()} links"
    )
    return LoadedTopology(topo.name, graph, [*topo.assumptions, note])


# ---- XML helpers -----------------------------------------------------------------------------


def _parse_xml(path: PathLike) -> ET.Element:
    """Parse a file as XML, turning every failure into a TopologyFileError."""
    p = Path(path)
    if not p.exists():
        raise TopologyFileError(f"{path}: no such file")
    if not p.is_file():
        raise TopologyFileError(f"{path}: not a regular file")
    try:
        return ET.parse(p).getroot()
    except ET.ParseError as err:
        raise TopologyFileError(f"{path}: not XML ({err})") from err
    except OSError as err:
        raise TopologyFileError(f"{path}: cannot read ({err.strerror})") from err


def _local(tag: str) -> str:
    """An element tag without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    """Direct children with the given local tag name."""
    return [c for c in el if _local(c.tag) == name]


def _child(el: ET.Element | None, name: str) -> ET.Element | None:
    """The first direct child with the given local tag name, if any."""
    if el is None:
        return None
    found = _children(el, name)
    return found[0] if found else None


def _text(el: ET.Element | None) -> str | None:
    """Stripped text of an element; None when absent or blank."""
    if el is None or el.text is None or not el.text.strip():
        return None
    return el.text.strip()


def _number(path: PathLike, text: str, what: str) -> float:
    """A finite float, or a TopologyFileError naming the file and the field."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise TopologyFileError(f"{path}: bad number {text!r} for {what}")
    return value


def _coordinates(
    path: PathLike, node_id: str, lat_text: str | None, lon_text: str | None
) -> tuple[float | None, float | None]:
    """Checked (lat, lon) in degrees; (None, None) unless both are given."""
    if lat_text is None or lon_text is None:
        return None, None
    lat = _number(path, lat_text, f"latitude of node {node_id!r}")
    lon = _number(path, lon_text, f"longitude of node {node_id!r}")
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise TopologyFileError(f"{path}: coordinates ({lat}, {lon}) of node {node_id!r} off Earth")
    return lat, lon


# ---- Topology Zoo GraphML --------------------------------------------------------------------


def _graphml_topology(path: PathLike, root: ET.Element, default_mbps: float) -> LoadedTopology:
    """Read nodes and links of the first <graph> of a GraphML document."""
    graph_el = _child(root, "graph")
    if graph_el is None:
        raise TopologyFileError(f"{path}: GraphML without a <graph> element")
    keys = _GraphmlKeys(root)
    notes: list[str] = []
    if graph_el.get("edgedefault") == "directed":
        notes.append("directed graph read as undirected")
    nodes = []
    for el in _children(graph_el, "node"):
        node_id = el.get("id")
        if node_id is None:
            raise TopologyFileError(f"{path}: a <node> has no id")
        attrs = keys.attributes(el, "node")
        lat, lon = _coordinates(path, node_id, attrs.get("Latitude"), attrs.get("Longitude"))
        nodes.append(_FileNode(node_id, attrs.get("label"), lat, lon))
    links = []
    unitless = 0
    for index, el in enumerate(_children(graph_el, "edge")):
        src, dst = el.get("source"), el.get("target")
        name = f"edge {el.get('id')!r}" if el.get("id") else f"edge #{index}"
        if src is None or dst is None:
            raise TopologyFileError(f"{path}: {name} lacks a source or target")
        capacity, had_units = _zoo_speed_mbps(path, name, keys.attributes(el, "edge"))
        unitless += not had_units
        links.append(_FileLink(name, src, dst, capacity))
    if unitless:
        notes.append(
            f"{_count(unitless, 'link')} {_verb(unitless, 'gives', 'give')} "
            "LinkSpeed without units: read as Mbit/s"
        )
    graph_attrs = keys.attributes(graph_el, "graph")
    name = graph_attrs.get("label") or graph_attrs.get("Network") or Path(path).stem
    return _build(path, name, nodes, links, default_mbps, notes)


class _GraphmlKeys:
    """The <key> declarations of a GraphML document: attribute names and default values."""

    def __init__(self, root: ET.Element) -> None:
        self.names: dict[str, str] = {}
        self.defaults: dict[str, dict[str, str]] = {"node": {}, "edge": {}, "graph": {}}
        for key in _children(root, "key"):
            key_id = key.get("id", "")
            name = key.get("attr.name") or key_id
            self.names[key_id] = name
            default = _text(_child(key, "default"))
            domain = key.get("for", "all")
            for target, values in self.defaults.items():
                if default is not None and domain in (target, "all"):
                    values[name] = default

    def attributes(self, el: ET.Element, domain: str) -> dict[str, str]:
        """Attribute name -> text of an element's <data>, over the keys' defaults."""
        attrs = dict(self.defaults.get(domain, {}))
        for data in _children(el, "data"):
            key_id = data.get("key", "")
            value = _text(data)
            if value is not None:
                attrs[self.names.get(key_id, key_id)] = value
        return attrs


def _zoo_speed_mbps(path: PathLike, name: str, attrs: dict[str, str]) -> tuple[float | None, bool]:
    """(capacity in Mbit/s or None, whether units were known) from Zoo speed attributes."""
    raw = attrs.get("LinkSpeedRaw")
    if raw is not None:
        return _speed_or_none(_number(path, raw, f"LinkSpeedRaw of {name}") / 1e6), True
    speed = attrs.get("LinkSpeed")
    if speed is None:
        return None, True
    value = _number(path, speed, f"LinkSpeed of {name}")
    units = attrs.get("LinkSpeedUnits")
    if units is None:
        return _speed_or_none(value), False
    factor = _ZOO_SPEED_UNITS_MBPS.get(units.upper())
    if factor is None:
        raise TopologyFileError(f"{path}: unknown LinkSpeedUnits {units!r} on {name}")
    return _speed_or_none(value * factor), True


def _speed_or_none(mbps: float) -> float | None:
    """A speed that is usable as a capacity; zero or negative counts as no speed."""
    return mbps if mbps > 0 else None


# ---- SNDlib native XML -----------------------------------------------------------------------


def _sndlib_topology(path: PathLike, root: ET.Element, default_mbps: float) -> LoadedTopology:
    """Read nodes and links of an SNDlib <network> document."""
    structure = _child(root, "networkStructure")
    nodes_el = _child(structure, "nodes")
    if structure is None or nodes_el is None:
        raise TopologyFileError(f"{path}: SNDlib XML without <networkStructure><nodes>")
    notes: list[str] = []
    unit_scale = _sndlib_unit_scale(path, root, notes)
    geographic = nodes_el.get("coordinatesType", "geographical") == "geographical"
    nodes = []
    for el in _children(nodes_el, "node"):
        node_id = el.get("id")
        if node_id is None:
            raise TopologyFileError(f"{path}: a <node> has no id")
        coords = _child(el, "coordinates")
        x, y = _text(_child(coords, "x")), _text(_child(coords, "y"))
        lat, lon = _coordinates(path, node_id, y, x) if geographic else (None, None)
        nodes.append(_FileNode(node_id, node_id, lat, lon))
    if not geographic:
        notes.append("coordinates are not geographical: ignored")
    links = []
    from_modules = 0
    links_el = _child(structure, "links")
    for index, el in enumerate([] if links_el is None else _children(links_el, "link")):
        name = el.get("id") or f"link #{index}"
        src, dst = _text(_child(el, "source")), _text(_child(el, "target"))
        if src is None or dst is None:
            raise TopologyFileError(f"{path}: link {name!r} lacks a source or target")
        capacity, pre_installed = _sndlib_capacity(path, name, el)
        from_modules += capacity is not None and not pre_installed
        scaled = None if capacity is None else capacity * unit_scale
        links.append(_FileLink(f"link {name!r}", src, dst, scaled))
    if from_modules:
        notes.append(
            f"{from_modules} of {_count(len(links), 'link')} {_verb(from_modules, 'has', 'have')} "
            "no pre-installed capacity: used the largest installable module"
        )
    return _build(path, Path(path).stem, nodes, _pair_directions(links, notes), default_mbps, notes)


def _pair_directions(links: Sequence[_FileLink], notes: list[str]) -> list[_FileLink]:
    """Read a link listed once per direction (A->B and B->A) as one full-duplex link.

    Such a pair is the two directions of one link, not two parallel links, so capacities are
    not summed: the smaller known one is kept.
    """
    waiting: dict[tuple[str, str], list[int]] = {}
    merged: list[_FileLink] = []
    for link in links:
        partners = waiting.get((link.dst, link.src))
        if link.src != link.dst and partners:
            index = partners.pop(0)
            first = merged[index]
            known = [c for c in (first.capacity_mbps, link.capacity_mbps) if c is not None]
            name = f"{first.name} (with {link.name})"
            merged[index] = _FileLink(name, first.src, first.dst, min(known, default=None))
            continue
        waiting.setdefault((link.src, link.dst), []).append(len(merged))
        merged.append(link)
    paired = len(links) - len(merged)
    if paired:
        notes.append(
            f"{2 * paired} of {_count(len(links), 'link')} come in opposite-direction pairs: "
            "each pair read as one full-duplex link of the smaller capacity"
        )
    return merged


def _sndlib_unit_scale(path: PathLike, root: ET.Element, notes: list[str]) -> float:
    """Factor from the file's capacity unit to Mbit/s (Mbit/s assumed when unstated)."""
    unit = _text(_child(_child(root, "meta"), "unit"))
    if unit is None:
        notes.append("file states no capacity unit: read capacities as Mbit/s")
        return 1.0
    scale = _SNDLIB_UNITS_MBPS.get(unit.upper())
    if scale is None:
        raise TopologyFileError(f"{path}: unknown capacity unit {unit!r}")
    return scale


def _sndlib_capacity(path: PathLike, name: str, link: ET.Element) -> tuple[float | None, bool]:
    """(capacity, True if pre-installed) of a link; else the largest additional module."""
    pre = _text(_child(_child(link, "preInstalledModule"), "capacity"))
    if pre is not None:
        value = _number(path, pre, f"pre-installed capacity of link {name!r}")
        if value > 0:
            return value, True
    modules_el = _child(link, "additionalModules")
    modules = [] if modules_el is None else _children(modules_el, "addModule")
    sizes = [
        _number(path, text, f"module capacity of link {name!r}")
        for text in (_text(_child(m, "capacity")) for m in modules)
        if text is not None
    ]
    best = max(sizes, default=0.0)
    return (best, False) if best > 0 else (None, False)


# ---- normalisation ---------------------------------------------------------------------------


def _build(
    path: PathLike,
    name: str,
    nodes: Sequence[_FileNode],
    links: Sequence[_FileLink],
    default_mbps: float,
    notes: list[str],
) -> LoadedTopology:
    """Turn the file's nodes and links into the normalised graph, noting every assumption."""
    if not nodes:
        raise TopologyFileError(f"{path}: no nodes")
    keys = _node_keys(path, nodes, notes)
    graph = nx.Graph(name=name)
    for node in nodes:
        graph.add_node(
            keys[node.file_id], label=node.label or node.file_id, lat=node.lat, lon=node.lon
        )
    _add_links(path, graph, keys, links, default_mbps, notes)
    _add_latencies(graph, notes)
    components = nx.number_connected_components(graph)
    if components > 1:
        biggest = max(len(c) for c in nx.connected_components(graph))
        notes.append(
            f"graph has {components} components (largest {biggest} of "
            f"{graph.number_of_nodes()} nodes): kept whole"
        )
    return LoadedTopology(name, graph, notes)


def _node_keys(path: PathLike, nodes: Sequence[_FileNode], notes: list[str]) -> dict[str, str]:
    """File id -> unique string key: the label where unique, else label#id."""
    seen_ids: set[str] = set()
    label_count: dict[str, int] = {}
    for node in nodes:
        if node.file_id in seen_ids:
            raise TopologyFileError(f"{path}: node id {node.file_id!r} appears twice")
        seen_ids.add(node.file_id)
        label = node.label or node.file_id
        label_count[label] = label_count.get(label, 0) + 1
    keys: dict[str, str] = {}
    taken = {label for label, count in label_count.items() if count == 1}
    for node in nodes:
        label = node.label or node.file_id
        key = label
        if label_count[label] > 1:
            key = f"{label}#{node.file_id}"
            while key in taken:
                key += "'"
            taken.add(key)
        keys[node.file_id] = key
    unlabelled = sum(1 for n in nodes if not n.label)
    if unlabelled:
        notes.append(
            f"{_count(unlabelled, 'node')} {_verb(unlabelled, 'has', 'have')} no label: named by id"
        )
    shared = sum(count for count in label_count.values() if count > 1)
    if shared:
        notes.append(
            f"{_count(shared, 'node')} {_verb(shared, 'shares', 'share')} a label: "
            "keyed as label#id"
        )
    return keys


def _add_links(
    path: PathLike,
    graph: nx.Graph,
    keys: dict[str, str],
    links: Sequence[_FileLink],
    default_mbps: float,
    notes: list[str],
) -> None:
    """Add links as edges: drop self-loops, merge parallels, default missing capacities."""
    loops: list[str] = []
    parallel: dict[tuple[str, str], int] = {}
    no_speed = 0
    for link in links:
        for end in (link.src, link.dst):
            if end not in keys:
                raise TopologyFileError(f"{path}: {link.name} names unknown node {end!r}")
        u, v = keys[link.src], keys[link.dst]
        if u == v:
            loops.append(u)
            continue
        no_speed += link.capacity_mbps is None
        capacity = default_mbps if link.capacity_mbps is None else link.capacity_mbps
        source = "file" if link.capacity_mbps is not None else "default"
        if graph.has_edge(u, v):
            edge = graph.edges[u, v]
            edge["capacity_mbps"] += capacity
            if source == "default":
                edge["capacity_source"] = "default"
            pair = (u, v) if u <= v else (v, u)
            parallel[pair] = parallel.get(pair, 1) + 1
        else:
            graph.add_edge(u, v, capacity_mbps=capacity, capacity_source=source, latency_ms=None)
    if loops:
        notes.append(f"{_count(len(loops), 'self-loop')} dropped (at {_listing(loops)})")
    if no_speed:
        notes.append(
            f"{no_speed} of {_count(len(links) - len(loops), 'link')} "
            f"{_verb(no_speed, 'has', 'have')} no speed: "
            f"assumed {default_mbps:g} Mbit/s"
        )
    if parallel:
        notes.append(_parallel_note(parallel))


def _parallel_note(parallel: dict[tuple[str, str], int]) -> str:
    """One sentence on merged parallel links, naming the first few pairs."""
    total = sum(parallel.values())
    if len(parallel) == 1:
        (u, v), n = next(iter(parallel.items()))
        return f"{n} parallel links merged between {u} and {v}, capacities summed"
    pairs = [f"{n} between {u} and {v}" for (u, v), n in parallel.items()]
    return (
        f"{total} parallel links merged into {len(pairs)} links, capacities summed "
        f"({_listing(pairs)})"
    )


def _listing(items: Iterable[str]) -> str:
    """The first few items joined by commas, with a count of the rest."""
    shown = list(items)
    head = ", ".join(shown[:_LISTED_PAIRS])
    rest = len(shown) - _LISTED_PAIRS
    return head if rest <= 0 else f"{head} and {rest} more"


def _add_latencies(graph: nx.Graph, notes: list[str]) -> None:
    """Set each edge's one-way latency from great-circle distance where both ends have one."""
    unknown = 0
    for u, v, edge in graph.edges(data=True):
        a, b = graph.nodes[u], graph.nodes[v]
        if a["lat"] is None or b["lat"] is None:
            unknown += 1
            continue
        km = great_circle_km(a["lat"], a["lon"], b["lat"], b["lon"])
        edge["latency_ms"] = fibre_latency_ms(km)
    missing = sum(1 for _, lat in graph.nodes(data="lat") if lat is None)
    if missing:
        notes.append(
            f"{_count(missing, 'node')} {_verb(missing, 'lacks', 'lack')} coordinates: "
            f"latency unknown on {_count(unknown, 'link')}"
        )


def _count(n: int, noun: str) -> str:
    """``n`` and the noun, plural unless ``n`` is one."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _verb(n: int, singular: str, plural: str) -> str:
    """The verb form agreeing with a count of ``n``."""
    return singular if n == 1 else plural
