"""Preparing a replay: network for a trace, scaling to the busiest link, window choice."""

from __future__ import annotations

import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from mininet_scenarios.replay_trace import (
    ReplayOptions,
    choose_start,
    late_starters,
    prepare,
    routing_matrix,
    window_scale,
)
from predictor.trace import Trace, save_npz

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_the_routing_matrix_follows_shortest_paths_per_direction() -> None:
    graph = nx.path_graph([1, 2, 3])
    matrix = routing_matrix(graph, 3)
    assert matrix.shape == (9, 4)  # four directed links
    assert matrix[0 * 3 + 2].sum() == 2  # 1 -> 3 crosses two links
    assert matrix[0 * 3 + 1].sum() == 1
    assert not matrix[0].any()  # the diagonal carries nothing


def test_the_scale_puts_the_busiest_link_at_the_target() -> None:
    graph = nx.path_graph([1, 2, 3])
    tm = np.zeros((2, 3, 3))
    tm[0, 0, 2] = 100.0  # 1 -> 3 over both links
    tm[1, 0, 1] = 50.0
    tm[1, 1, 2] = 100.0  # with 1 -> 3 absent, link 2 -> 3 carries 100
    tm[0, 1, 2] = 60.0  # link 2 -> 3 carries 160 in step 0
    assert window_scale(tm, routing_matrix(graph, 3), 8.0) == pytest.approx(8.0 / 160.0)
    with pytest.raises(ValueError, match="no traffic"):
        window_scale(np.zeros((1, 3, 3)), routing_matrix(graph, 3), 8.0)


def test_late_starters_are_silent_at_first_and_send_later() -> None:
    rates = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.5, 1.0, 0.01], [0.0, 0.0, 0.02]])
    assert late_starters(rates, min_rate=0.1) == 1
    assert late_starters(rates, min_rate=0.01) == 2


def test_the_window_is_the_candidate_with_most_starters_unless_fixed() -> None:
    day = 288
    tm = np.full((2 * day, 2, 2), 10.0)
    tm[:, [0, 1], [0, 1]] = 0.0
    tm[day + 60 : day + 66, 0, 1] = 0.0  # silent at 05:00 for half an hour, then back
    trace = Trace(tm, ("a", "b"), 0.0, 300.0)
    routing = routing_matrix(nx.path_graph([1, 2]), 2)
    options = ReplayOptions(steps=12, train_days=1.0, peak_link_mbps=5.0, min_rate_mbps=1.0)
    start, scale = choose_start(trace, routing, options)
    assert start == day + 60 and scale == pytest.approx(0.5)
    fixed = ReplayOptions(steps=12, train_days=1.0, start="10:30")
    assert choose_start(trace, routing, fixed)[0] == day + 126
    with pytest.raises(ValueError, match="too short"):
        choose_start(trace, routing, ReplayOptions(steps=12, train_days=2.0))


def test_a_generated_trace_runs_on_the_zoo_abilene_with_host_addresses() -> None:
    options = ReplayOptions(steps=30, train_days=1.0, peak_link_mbps=4.0, min_rate_mbps=0.05)
    rt = prepare(None, options)
    assert rt.graph.number_of_nodes() == 11 and set(rt.graph.nodes) == set(range(1, 12))
    assert rt.trace.nodes[0] == "10.0.0.1" and rt.label("10.0.0.1") == rt.names[0]
    assert rt.trace.steps == 2 * 288 and rt.start_step >= 288
    window = rt.window()
    assert window.shape == (30, 110)
    assert window[(window > 0)].min() >= 0.05  # below the minimum rate nothing is played
    loads = rt.trace.tm[rt.start_step : rt.start_step + 30].reshape(30, -1)
    assert (loads @ routing_matrix(rt.graph, 11)).max() <= 4.0 + 1e-9


def test_a_real_trace_finds_its_sndlib_network_beside_it(tmp_path: Path) -> None:
    (tmp_path / "sndlib").mkdir()
    (tmp_path / "traffic").mkdir()
    shutil.copy(FIXTURES / "sndlib_tiny.xml", tmp_path / "sndlib" / "tiny.xml")
    tm = np.full((3 * 288, 3, 3), 30.0)
    path = tmp_path / "traffic" / "tiny_trace.npz"
    save_npz(Trace(tm, ("Cc", "Aa", "Bb"), 1_000_000_200.0, 300.0), path)
    rt = prepare(path, ReplayOptions(steps=10, train_days=1.0))
    assert [rt.graph.nodes[i]["label"] for i in (1, 2, 3)] == ["Cc", "Aa", "Bb"]
    assert rt.graph.number_of_edges() == 3
    assert all(d["bw_mbps"] == 50.0 for _, _, d in rt.graph.edges(data=True))
    with pytest.raises(FileNotFoundError, match="--topology"):
        other = tmp_path / "traffic" / "other.npz"
        save_npz(Trace(tm, ("Xx", "Aa", "Bb"), 0.0, 300.0), other)
        prepare(other, ReplayOptions(steps=10, train_days=1.0))
