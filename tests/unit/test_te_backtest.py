"""TE backtest: the network, placement by the stitcher, routing, and a replay of a tiny trace."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from predictor import cli as predictor_cli
from predictor.cli import main
from predictor.generator import GeneratorConfig, generate
from predictor.models import TrainConfig
from predictor.selection import Candidate
from predictor.te.backtest import (
    POLICIES,
    TE_QUANTILE,
    TE_UTILISATION_MS,
    TeConfig,
    TeResult,
    run_te_backtest,
    te_weights,
)
from predictor.te.network import TeNetwork, network_from_topology
from predictor.te.optimum import OptimalMlu
from predictor.te.placement import StitcherPlacement
from predictor.te.routing import Routing
from predictor.trace import save_npz
from topology.loaders import LoadedTopology

NODES = ("n00", "n01", "n02", "n03")
# a square n00-n01-n03 (fast) / n00-n02-n03 (slow), and a slow diagonal n01-n02
CABLES = [("n00", "n01", 1.0), ("n01", "n03", 1.0), ("n00", "n02", 5.0), ("n02", "n03", 5.0)]
CABLES.append(("n01", "n02", 9.0))
RIDGE = [Candidate("ridge", TrainConfig(kind="ridge"))]
TINY = GeneratorConfig(nodes=4, days=4, step_minutes=60, seed=3)


def square(capacity: float = 100.0, source: str = "default") -> TeNetwork:
    graph = nx.Graph(name="square")
    for name in NODES:
        graph.add_node(name, label=name, lat=None, lon=None)
    for a, b, latency in CABLES:
        graph.add_edge(a, b, capacity_mbps=capacity, latency_ms=latency, capacity_source=source)
    return network_from_topology(LoadedTopology("square", graph), NODES)


def booked_utilisation(
    network: TeNetwork, paths: dict[tuple[int, int], tuple[int, ...]], booked: float
) -> np.ndarray:
    routing = Routing(network)
    load = np.zeros(len(network.links))
    for path in paths.values():
        load[routing.links_of(path)] += booked
    return np.asarray(load / network.capacity_mbps)


def test_the_network_builds_the_ntd_the_stitcher_plans_on() -> None:
    network = square()
    db = network.database()
    assert len(db.switches) == 4 and len(db.links) == 10 and len(db.hosts) == 4
    assert not network.capacity_from_file  # the graph says "default": capacities get scaled
    routing = Routing(network, db)
    assert routing.baseline[0, 3] == (0, 1, 3)  # fewest hops, smaller dpid on a tie
    matrix = network.demand_matrix(np.arange(16.0).reshape(4, 4))
    assert matrix[0, 3] == 3.0 and matrix[2, 2] == 0.0


@pytest.mark.parametrize("utilisation_ms", [None, TE_UTILISATION_MS])
def test_placement_finds_the_lowest_budget_at_which_every_reservation_fits(
    utilisation_ms: float | None,
) -> None:
    network = square()
    optimum = OptimalMlu(network.size, network.links, network.capacity_mbps)
    weights = None if utilisation_ms is None else te_weights(utilisation_ms)
    placement = StitcherPlacement(network, optimum, tolerance=0.005, weights=weights)
    sizes = {(0, 3): 60.0, (1, 3): 60.0}  # both want link n01 -> n03; 67.2 booked each
    placed = placement.place(sizes)
    assert set(placed.paths) == set(sizes) and not placed.refused
    assert placed.budget == pytest.approx(0.672, rel=0.01)
    assert placed.paths[0, 3] != (0, 1, 3) or placed.paths[1, 3] != (1, 3)  # they split up
    assert booked_utilisation(network, placed.paths, 67.2).max() <= placed.budget + 1e-9


def test_a_reservation_larger_than_any_path_is_refused_and_its_traffic_rides_the_baseline() -> None:
    network = square()
    placement = StitcherPlacement(
        network, OptimalMlu(network.size, network.links, network.capacity_mbps)
    )
    placed = placement.place({(0, 3): 95.0, (1, 2): 10.0})  # 106.4 booked on 100 Mbit/s links
    assert placed.refused == frozenset({(0, 3)}) and set(placed.paths) == {(1, 2)}
    assert placed.budget == 1.0
    routing = Routing(network, placement.db)
    routed = routing.route({(0, 3): 95.0, (1, 2): 20.0}, {(1, 2): 10.0}, placed.paths)
    assert routed.covered_mbps == 10.0 and routed.total_mbps == 115.0
    on_baseline = routing.links_of(routing.baseline[1, 2])
    reserved_path = routing.links_of(placed.paths[1, 2])
    expected = np.zeros(len(network.links))
    expected[routing.links_of(routing.baseline[0, 3])] += 95.0
    expected[reserved_path] += 10.0
    expected[on_baseline] += 10.0  # the 10 Mbit/s above the reservation
    assert np.allclose(routed.load_mbps, expected)


@pytest.fixture(scope="module")
def replay() -> tuple[TeResult, TeConfig]:
    config = TeConfig(train_days=3.0)
    return run_te_backtest(generate(TINY), square(), config, pool=RIDGE), config


def test_the_report_has_exactly_the_issue_s_shape(replay: tuple[TeResult, TeConfig]) -> None:
    result, _ = replay
    report = result.report
    assert list(report) == ["policies", "steps", "capacity_scale"]
    assert list(report["policies"]) == list(POLICIES)
    for figures in report["policies"].values():
        assert list(figures) == ["mlu_over_optimal", "uncovered_share", "reserved_over_actual"]
        assert list(figures["mlu_over_optimal"]) == ["mean", "p50", "p99"]
    assert report["steps"] == 24


def test_no_policy_beats_the_optimum_and_the_baselines_behave(
    replay: tuple[TeResult, TeConfig],
) -> None:
    result, _ = replay
    policies = result.report["policies"]
    for figures in policies.values():
        assert figures["mlu_over_optimal"]["p50"] >= 1.0 - 1e-6
    assert policies["shortest_path"]["uncovered_share"] == 1.0
    assert policies["shortest_path"]["reserved_over_actual"] == 0.0
    oracle = policies["oracle"]  # reserves exactly what each placed pair sends
    assert oracle["reserved_over_actual"] == pytest.approx(1.0 - oracle["uncovered_share"])
    assert oracle["uncovered_share"] < 0.1  # what did not fit at the peak rides the baseline
    for policy in POLICIES:
        assert np.all(result.ratio(policy) >= 1.0 - 1e-6)


def test_capacities_without_a_file_are_scaled_to_the_target_at_the_busiest_step(
    replay: tuple[TeResult, TeConfig],
) -> None:
    result, config = replay
    assert result.optimum.max() == pytest.approx(config.target_utilisation)
    assert result.report["capacity_scale"] != 1.0


SNDLIB = """<?xml version="1.0" encoding="UTF-8"?>
<network xmlns="http://sndlib.zib.de/network" version="1.0">
 <meta><unit>MBITPERSEC</unit></meta>
 <networkStructure>
  <nodes coordinatesType="geographical">
{nodes}
  </nodes>
  <links>
{links}
  </links>
 </networkStructure>
</network>
"""


def sndlib_square(path: Path) -> None:
    where = {"n00": (0.0, 0.0), "n01": (0.0, 1.0), "n02": (1.0, 0.0), "n03": (1.0, 1.0)}
    nodes = "\n".join(
        f'   <node id="{n}"><coordinates><x>{x}</x><y>{y}</y></coordinates></node>'
        for n, (x, y) in where.items()
    )
    links = "\n".join(
        f'   <link id="L{k}"><source>{a}</source><target>{b}</target>'
        "<preInstalledModule><capacity>20000</capacity><cost>0</cost></preInstalledModule></link>"
        for k, (a, b, _) in enumerate(CABLES)
    )
    path.write_text(SNDLIB.format(nodes=nodes, links=links))


def test_cli_writes_the_report_plots_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(predictor_cli, "_pool", lambda _args: RIDGE)  # the wiring, not the grid
    assert predictor_cli.TE_UTILISATION_MS == TE_UTILISATION_MS
    assert predictor_cli.TE_QUANTILE == TE_QUANTILE
    trace_path, topology = tmp_path / "tiny.npz", tmp_path / "square.xml"
    save_npz(generate(TINY), trace_path)
    sndlib_square(topology)
    out = tmp_path / "out"
    args = ["te-backtest", "--trace", str(trace_path), "--topology", str(topology)]
    assert main([*args, "--train-days", "3", "--max-steps", "6", "--out", str(out)]) == 0
    report = json.loads((out / "te_backtest.json").read_text())
    assert report["steps"] == 6 and report["capacity_scale"] == 1.0  # installed capacities
    assert sorted(p.name for p in out.iterdir()) == [
        "te_backtest.json",
        "te_mlu_ratio.png",
        "te_mlu_ratio_cdf.png",
        "te_steps.csv",
    ]
    printed = capsys.readouterr().out
    assert "forecast" in printed and "shortest_path" in printed
