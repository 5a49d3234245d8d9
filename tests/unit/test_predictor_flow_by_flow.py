"""The Flow-by-Flow protocol: split, normalisation by the training maximum, report and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from predictor import cli as predictor_cli
from predictor.cli import main
from predictor.flow_by_flow import (
    PUBLISHED,
    FlowByFlowReport,
    normalised_mae,
    run_flow_by_flow,
    summary,
)
from predictor.generator import GeneratorConfig, generate
from predictor.models import TrainConfig
from predictor.selection import Candidate
from predictor.trace import save_npz

SMALL = GeneratorConfig(nodes=3, days=5, step_minutes=60, seed=2)
RIDGE = [Candidate("ridge", TrainConfig(kind="ridge"))]


@pytest.fixture(scope="module")
def report() -> FlowByFlowReport:
    return run_flow_by_flow(generate(SMALL), pool=RIDGE)


def test_the_split_is_chronological_70_10_20(report: FlowByFlowReport) -> None:
    assert report["split_steps"] == {"train": 84, "validation": 12, "test": 24}
    assert report["window"] == 12 and report["horizons"] == [1, 3]


def test_last_value_is_normalised_by_each_pair_s_training_maximum(
    report: FlowByFlowReport,
) -> None:
    rates = generate(SMALL).series()
    peak = rates[:84].max(axis=0)
    for k, h in enumerate((1, 3)):
        error = np.abs(rates[96 - h : -h] - rates[96:]).mean(axis=0)
        assert report["normalised_mae"]["last_value"][k] == pytest.approx(np.mean(error / peak))
        assert report["mae_mbps"]["last_value"][k] == pytest.approx(error.mean())


def test_the_report_sets_ours_beside_the_published_figures(report: FlowByFlowReport) -> None:
    scores = report["normalised_mae"]
    assert {"last_value", "ewma", "window12", "full", *PUBLISHED} == set(scores)
    assert scores["lstm (published, Abilene)"] == [1.40e-2, None]
    assert scores["crnn (published, Abilene)"] == [None, 1.54e-2]
    assert set(report["chosen"]) == {"window12", "full"}
    assert "another segment" in report["note"]
    assert "window12" in summary(report)


def test_silent_pairs_are_left_out_of_the_mean() -> None:
    actual = np.array([[1.0, 0.0], [3.0, 0.0]])
    prediction = np.array([[2.0, 5.0], [2.0, 5.0]])
    assert normalised_mae(prediction, actual, np.array([4.0, 0.0])) == pytest.approx(0.25)


def test_cli_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(predictor_cli, "_pool", lambda _args: RIDGE)  # the wiring, not the grid
    trace_path, out = tmp_path / "small.npz", tmp_path / "out"
    save_npz(generate(SMALL), trace_path)
    assert main(["flow-by-flow", "--trace", str(trace_path), "--out", str(out), "--quick"]) == 0
    written = json.loads((out / "flow_by_flow.json").read_text())
    assert written["split_steps"]["test"] == 24
    assert "Flow-by-Flow protocol" in capsys.readouterr().out
