"""Backtest report layout and figures on a small synthetic trace."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from predictor.backtest import BacktestReport, run_backtest
from predictor.cli import main
from predictor.generator import GeneratorConfig, generate
from predictor.model_kinds import MODEL_KINDS
from predictor.trace import save_npz

SMALL = GeneratorConfig(nodes=3, days=5, step_minutes=60, seed=4)


@pytest.fixture(scope="module")
def report() -> BacktestReport:
    return run_backtest(generate(SMALL), train_days=4).report


def test_report_has_the_stable_layout(report: BacktestReport) -> None:
    assert list(report) == ["chosen_model", "horizons", "forecasters", "provisioning"]
    assert report["horizons"] == [1, 3, 6, 12]
    forecasters = report["forecasters"]
    assert {"last_value", "seasonal_naive", "ewma", *MODEL_KINDS} <= set(forecasters)
    for scores in forecasters.values():
        assert list(scores) == ["mae", "rmse", "nmae"]
        assert all(len(v) == 4 and all(math.isfinite(x) for x in v) for v in scores.values())
    assert report["chosen_model"] in MODEL_KINDS
    provisioning = report["provisioning"]
    learned = {f"{kind}_p95" for kind in MODEL_KINDS}
    assert {"static_peak", "last_value_p95", *learned} <= set(provisioning)
    for figures in provisioning.values():
        assert list(figures) == ["reserved_over_actual", "under_provisioned_share"]


def test_chosen_model_is_the_kind_with_the_lowest_mean_nmae(report: BacktestReport) -> None:
    forecasters = report["forecasters"]
    nmae = {k: np.mean(forecasters[k]["nmae"]) for k in MODEL_KINDS}
    assert report["chosen_model"] == min(nmae, key=lambda k: nmae[k])


def test_last_value_scores_match_a_direct_computation() -> None:
    trace = generate(SMALL)
    report = run_backtest(trace, train_days=4, horizons=(1, 2)).report
    rates = trace.series()
    split = 4 * 24
    error = np.abs(rates[split - 2 : -2] - rates[split:])
    scores = report["forecasters"]["last_value"]
    assert scores["mae"][1] == pytest.approx(error.mean())
    assert scores["nmae"][1] == pytest.approx(error.sum() / rates[split:].sum())


def test_static_peak_never_under_provisions_below_the_training_peak() -> None:
    trace = generate(GeneratorConfig(nodes=3, days=5, step_minutes=60, seed=4, noise=0.0))
    report = run_backtest(trace, train_days=4, horizons=(1,)).report
    static = report["provisioning"]["static_peak"]
    assert static["under_provisioned_share"] == 0.0  # no noise: no day exceeds the first days
    assert static["reserved_over_actual"] > 1.0


def test_cli_writes_json_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace_path = tmp_path / "small.npz"
    save_npz(generate(SMALL), trace_path)
    out = tmp_path / "out"
    assert (
        main(["backtest", "--trace", str(trace_path), "--train-days", "4", "--out", str(out)]) == 0
    )
    written = json.loads((out / "backtest.json").read_text())
    assert written["horizons"] == [1, 3, 6, 12]
    assert json.loads(capsys.readouterr().out) == written
    assert sorted(p.name for p in out.glob("*.png")) == [
        "busiest_pair.png",
        "error_by_horizon.png",
        "provisioning.png",
    ]
