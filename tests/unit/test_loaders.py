"""Topology file loaders: normalisation rules, recorded assumptions, errors, real files."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topology.geo import fibre_latency_ms, great_circle_km
from topology.loaders import (
    LoadedTopology,
    TopologyFileError,
    largest_component,
    load_graphml,
    load_sndlib,
    load_topology,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
SHARED_DATA = Path(os.environ.get("VNSTITCH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
ZOO = SHARED_DATA / "topologyzoo"
SNDLIB = SHARED_DATA / "sndlib"
needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"shared data not found at {SHARED_DATA}"
)

ONE_DEGREE_KM = 2 * math.pi * 6371.0 / 360


@pytest.fixture(scope="module")
def mixed() -> LoadedTopology:
    """The hand-made GraphML fixture that exercises every normalisation rule."""
    return load_graphml(FIXTURES / "zoo_mixed.graphml")


def _note(topo: LoadedTopology, fragment: str) -> str:
    """The one assumption containing ``fragment``."""
    found = [a for a in topo.assumptions if fragment in a]
    assert len(found) == 1, (fragment, topo.assumptions)
    return found[0]


# ---- geometry --------------------------------------------------------------------------------


def test_great_circle_one_degree_on_equator() -> None:
    assert great_circle_km(0.0, 0.0, 0.0, 1.0) == pytest.approx(ONE_DEGREE_KM)


def test_great_circle_new_york_london() -> None:
    assert great_circle_km(40.7128, -74.0060, 51.5074, -0.1278) == pytest.approx(5570, rel=0.01)


def test_fibre_latency_is_five_microseconds_per_km() -> None:
    assert fibre_latency_ms(1000.0) == pytest.approx(5.0)


# ---- GraphML normalisation -------------------------------------------------------------------


def test_graph_name_and_simple_undirected_graph(mixed: LoadedTopology) -> None:
    assert mixed.name == "Fixture"
    assert not mixed.graph.is_directed()
    assert not mixed.graph.is_multigraph()


def test_node_keys_are_labels_else_label_plus_id(mixed: LoadedTopology) -> None:
    assert set(mixed.graph.nodes) == {
        "Alpha",
        "Beta",
        "Gamma",
        "Twin#3",
        "Twin#4",
        "5",
        "Island",
        "Islet",
    }
    assert mixed.graph.nodes["Twin#3"]["label"] == "Twin"
    _note(mixed, "2 nodes share a label: keyed as label#id")
    _note(mixed, "1 node has no label: named by id")


def test_node_coordinates_are_floats_or_none(mixed: LoadedTopology) -> None:
    assert mixed.graph.nodes["Beta"]["lat"] == 0.0
    assert mixed.graph.nodes["Beta"]["lon"] == 1.0
    assert mixed.graph.nodes["Gamma"]["lat"] is None
    assert mixed.graph.nodes["Gamma"]["lon"] is None


def test_parallel_links_merge_with_summed_capacity(mixed: LoadedTopology) -> None:
    edge = mixed.graph.edges["Alpha", "Beta"]
    assert edge["capacity_mbps"] == pytest.approx(10_000 + 2_500)
    assert edge["capacity_source"] == "file"
    note = _note(mixed, "parallel links merged")
    assert note.startswith("4 parallel links merged into 2 links")
    assert "2 between Alpha and Beta" in note


def test_parallel_link_without_speed_marks_edge_default(mixed: LoadedTopology) -> None:
    edge = mixed.graph.edges["Island", "Islet"]
    assert edge["capacity_mbps"] == pytest.approx(1000 + 1000)
    assert edge["capacity_source"] == "default"


def test_speed_units_and_raw_speed(mixed: LoadedTopology) -> None:
    assert mixed.graph.edges["Beta", "Twin#3"]["capacity_mbps"] == pytest.approx(155.0)
    assert mixed.graph.edges["Twin#3", "Twin#4"]["capacity_mbps"] == pytest.approx(0.1)


def test_link_without_speed_gets_default_and_is_noted(mixed: LoadedTopology) -> None:
    edge = mixed.graph.edges["Beta", "Gamma"]
    assert edge["capacity_mbps"] == 1000.0
    assert edge["capacity_source"] == "default"
    _note(mixed, "3 of 8 links have no speed: assumed 1000 Mbit/s")


def test_default_capacity_is_a_parameter() -> None:
    topo = load_graphml(FIXTURES / "zoo_mixed.graphml", default_capacity_mbps=40.0)
    assert topo.graph.edges["Beta", "Gamma"]["capacity_mbps"] == 40.0
    _note(topo, "assumed 40 Mbit/s")


def test_self_loop_dropped_and_noted(mixed: LoadedTopology) -> None:
    assert not mixed.graph.has_edge("Gamma", "Gamma")
    _note(mixed, "1 self-loop dropped (at Gamma)")


def test_latency_from_great_circle_distance(mixed: LoadedTopology) -> None:
    latency = mixed.graph.edges["Alpha", "Beta"]["latency_ms"]
    assert latency == pytest.approx(ONE_DEGREE_KM * 0.005)


def test_latency_unknown_where_an_end_lacks_coordinates(mixed: LoadedTopology) -> None:
    assert mixed.graph.edges["Beta", "Gamma"]["latency_ms"] is None
    assert mixed.graph.edges["Twin#4", "5"]["latency_ms"] is None
    _note(mixed, "2 nodes lack coordinates: latency unknown on 2 links")


def test_disconnected_graph_kept_whole(mixed: LoadedTopology) -> None:
    assert mixed.components() == 2
    assert mixed.graph.number_of_nodes() == 8
    _note(mixed, "graph has 2 components (largest 6 of 8 nodes)")


def test_largest_component_keeps_biggest_part(mixed: LoadedTopology) -> None:
    main = largest_component(mixed)
    assert main.components() == 1
    assert set(main.graph.nodes) == {"Alpha", "Beta", "Gamma", "Twin#3", "Twin#4", "5"}
    assert main.assumptions[:-1] == mixed.assumptions
    assert main.assumptions[-1] == "kept the largest component only: 6 of 8 nodes, 5 of 6 links"
    assert mixed.graph.number_of_nodes() == 8  # the input is left alone


def test_largest_component_of_connected_graph_adds_nothing() -> None:
    topo = load_graphml(FIXTURES / "zoo_triangle.graphml")
    main = largest_component(topo)
    assert main.assumptions == topo.assumptions
    assert set(main.graph.edges) == set(topo.graph.edges)


def test_clean_file_needs_no_assumptions() -> None:
    topo = load_graphml(FIXTURES / "zoo_triangle.graphml")
    assert topo.name == "Triangle"
    assert topo.assumptions == []
    assert topo.components() == 1
    assert all(e["capacity_source"] == "file" for _, _, e in topo.graph.edges(data=True))
    ab = topo.graph.edges["North", "West"]["latency_ms"]
    assert ab == pytest.approx(topo.graph.edges["North", "East"]["latency_ms"])


# ---- SNDlib ----------------------------------------------------------------------------------


def test_sndlib_capacity_preinstalled_else_largest_module() -> None:
    topo = load_sndlib(FIXTURES / "sndlib_tiny.xml")
    assert topo.name == "sndlib_tiny"
    assert topo.graph.edges["Aa", "Bb"]["capacity_mbps"] == 9920.0
    assert topo.graph.edges["Bb", "Cc"]["capacity_mbps"] == 10000.0
    assert topo.graph.edges["Cc", "Aa"]["capacity_source"] == "default"
    _note(topo, "1 of 3 links has no pre-installed capacity: used the largest installable module")
    _note(topo, "1 of 3 links has no speed: assumed 1000 Mbit/s")


def test_sndlib_x_is_longitude_y_is_latitude() -> None:
    topo = load_sndlib(FIXTURES / "sndlib_tiny.xml")
    assert topo.graph.nodes["Bb"]["lon"] == 1.0
    assert topo.graph.nodes["Bb"]["lat"] == 0.0
    assert topo.graph.edges["Aa", "Bb"]["latency_ms"] == pytest.approx(ONE_DEGREE_KM * 0.005)


def test_sndlib_capacity_unit_converted(tmp_path: Path) -> None:
    text = (FIXTURES / "sndlib_tiny.xml").read_text(encoding="latin-1")
    path = tmp_path / "gbit.xml"
    path.write_text(text.replace("MBITPERSEC", "GBITPERSEC"), encoding="latin-1")
    assert load_sndlib(path).graph.edges["Aa", "Bb"]["capacity_mbps"] == 9920.0 * 1000


def _sndlib_links(tmp_path: Path, links: list[tuple[str, str, float]]) -> Path:
    """An SNDlib file with nodes A, B and the given links (source, target, module capacity)."""
    body = "".join(
        f"<link id='L{i}'><source>{u}</source><target>{v}</target><additionalModules>"
        f"<addModule><capacity>{c}</capacity></addModule></additionalModules></link>"
        for i, (u, v, c) in enumerate(links)
    )
    path = tmp_path / "directed.xml"
    path.write_text(
        "<network><meta><unit>MBITPERSEC</unit></meta><networkStructure><nodes>"
        "<node id='A'/><node id='B'/></nodes>"
        f"<links>{body}</links></networkStructure></network>"
    )
    return path


def test_sndlib_opposite_directions_read_as_one_full_duplex_link(tmp_path: Path) -> None:
    topo = load_sndlib(_sndlib_links(tmp_path, [("A", "B", 64.0), ("B", "A", 32.0)]))
    assert topo.graph.edges["A", "B"]["capacity_mbps"] == 32.0
    _note(topo, "2 of 2 links come in opposite-direction pairs")
    assert not any("parallel" in a for a in topo.assumptions)


def test_sndlib_same_direction_duplicates_still_summed(tmp_path: Path) -> None:
    links = [("A", "B", 64.0), ("B", "A", 64.0), ("A", "B", 10.0)]
    topo = load_sndlib(_sndlib_links(tmp_path, links))
    assert topo.graph.edges["A", "B"]["capacity_mbps"] == 74.0
    _note(topo, "2 parallel links merged between A and B")


def test_load_topology_dispatches_on_content(tmp_path: Path) -> None:
    renamed = tmp_path / "network.data"
    renamed.write_bytes((FIXTURES / "sndlib_tiny.xml").read_bytes())
    assert set(load_topology(renamed).graph.nodes) == {"Aa", "Bb", "Cc"}
    assert load_topology(FIXTURES / "zoo_triangle.graphml").name == "Triangle"


# ---- errors ----------------------------------------------------------------------------------


def _error(path: Path) -> str:
    with pytest.raises(TopologyFileError) as info:
        load_topology(path)
    return str(info.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.graphml"
    message = _error(path)
    assert str(path) in message and "no such file" in message


def test_malformed_xml_rejected() -> None:
    message = _error(FIXTURES / "malformed.graphml")
    assert "malformed.graphml" in message and "not XML" in message


def test_edge_to_unknown_node_rejected() -> None:
    message = _error(FIXTURES / "missing_node.graphml")
    assert "missing_node.graphml" in message and "unknown node '9'" in message


def test_other_xml_rejected(tmp_path: Path) -> None:
    path = tmp_path / "page.xml"
    path.write_text("<html><body/></html>")
    assert "neither GraphML nor SNDlib" in _error(path)


def test_wrong_format_for_specific_loader() -> None:
    with pytest.raises(TopologyFileError, match="not SNDlib"):
        load_sndlib(FIXTURES / "zoo_triangle.graphml")
    with pytest.raises(TopologyFileError, match="not GraphML"):
        load_graphml(FIXTURES / "sndlib_tiny.xml")


def test_bad_number_rejected(tmp_path: Path) -> None:
    text = (FIXTURES / "zoo_triangle.graphml").read_text()
    path = tmp_path / "bad.graphml"
    path.write_text(text.replace(">10.0<", ">ten<", 1))
    message = _error(path)
    assert "bad number 'ten'" in message and "latitude of node 'a'" in message


def test_graph_without_nodes_rejected(tmp_path: Path) -> None:
    path = tmp_path / "empty.graphml"
    path.write_text('<graphml><graph edgedefault="undirected"/></graphml>')
    assert "no nodes" in _error(path)


def test_duplicate_node_id_rejected(tmp_path: Path) -> None:
    path = tmp_path / "dup.graphml"
    path.write_text('<graphml><graph><node id="x"/><node id="x"/></graph></graphml>')
    assert "node id 'x' appears twice" in _error(path)


def test_error_is_a_value_error() -> None:
    assert issubclass(TopologyFileError, ValueError)


# ---- property: merging preserves pairs and total capacity ------------------------------------

_links = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(1, 100)), min_size=1, max_size=20
)


@settings(max_examples=50, deadline=None)
@given(_links)
def test_merge_preserves_pairs_and_capacity(links: list[tuple[int, int, int]]) -> None:
    edges = "".join(
        f'<edge source="{u}" target="{v}"><data key="s">{mbps * 1e6}</data></edge>'
        for u, v, mbps in links
    )
    nodes = "".join(f'<node id="{i}"/>' for i in range(6))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "multi.graphml"
        path.write_text(
            '<graphml><key id="s" for="edge" attr.name="LinkSpeedRaw"/>'
            f"<graph>{nodes}{edges}</graph></graphml>"
        )
        topo = load_graphml(path)
    pairs = {frozenset((str(u), str(v))) for u, v, _ in links if u != v}
    assert {frozenset(e) for e in topo.graph.edges} == pairs
    total = sum(mbps for u, v, mbps in links if u != v)
    assert sum(c for _, _, c in topo.graph.edges(data="capacity_mbps")) == pytest.approx(total)


# ---- real data (skipped without /work/shared/data) -------------------------------------------


@needs_shared_data
def test_zoo_abilene_has_eleven_nodes() -> None:
    topo = load_graphml(ZOO / "Abilene.graphml")
    assert topo.graph.number_of_nodes() == 11
    assert topo.graph.number_of_edges() == 14


@needs_shared_data
def test_every_zoo_file_loads() -> None:
    files = sorted(ZOO.glob("*.graphml"))
    assert len(files) == 276
    for path in files:
        topo = load_topology(path)
        assert topo.graph.number_of_nodes() > 0, path


@needs_shared_data
def test_sndlib_geant_sizes() -> None:
    topo = load_sndlib(SNDLIB / "geant.xml")
    assert topo.graph.number_of_nodes() == 22
    assert topo.graph.number_of_edges() == 36
    assert all(c == 40000.0 for _, _, c in topo.graph.edges(data="capacity_mbps"))
