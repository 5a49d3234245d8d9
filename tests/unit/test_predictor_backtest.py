"""Backtest report layout and figures on a small synthetic trace."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from predictor import cli as predictor_cli
from predictor.backtest import BacktestReport, run_backtest
from predictor.cli import main
from predictor.generator import GeneratorConfig, generate
from predictor.model_kinds import MODEL_KINDS
from predictor.models import TrainConfig
from predictor.selection import LAST_VALUE, Candidate
from predictor.trace import save_npz

SMALL = GeneratorConfig(nodes=3, days=5, step_minutes=60, seed=4)
# one candidate per kind (their defaults) keeps these tests quick; the CLI runs the whole grid
DEFAULTS = [Candidate(kind, TrainConfig(kind=kind)) for kind in MODEL_KINDS]
RIDGE = [c for c in DEFAULTS if c.config.kind == "ridge"]


@pytest.fixture(scope="module")
def report() -> BacktestReport:
    return run_backtest(generate(SMALL), train_days=4, pool=DEFAULTS).report


def test_report_has_the_stable_layout(report: BacktestReport) -> None:
    assert list(report)[:4] == ["chosen_model", "horizons", "forecasters", "provisioning"]
    assert list(report) == ["chosen_model", "horizons", "forecasters", "provisioning", "validation"]
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


def test_the_model_is_chosen_on_the_training_days_not_on_the_test_days(
    report: BacktestReport,
) -> None:
    validation = report["validation"]
    assert validation["fit_steps"] + validation["validation_steps"] == 4 * 24
    mae = validation["mae"]
    assert isinstance(mae, dict) and set(mae) == {LAST_VALUE, *MODEL_KINDS}
    chosen = validation["chosen"]
    assert report["chosen_model"] == chosen  # one candidate per kind: named by its kind
    eligible = [k for k in MODEL_KINDS if k not in validation["dropped"]]  # type: ignore[operator]
    if eligible:
        relative = {k: np.mean(np.divide(mae[k], mae[LAST_VALUE])) for k in eligible}
        assert chosen == min(relative, key=lambda k: relative[k])
    else:
        assert chosen == LAST_VALUE


def test_last_value_scores_match_a_direct_computation() -> None:
    trace = generate(SMALL)
    report = run_backtest(trace, train_days=4, horizons=(1, 2), pool=RIDGE).report
    rates = trace.series()
    split = 4 * 24
    error = np.abs(rates[split - 2 : -2] - rates[split:])
    scores = report["forecasters"]["last_value"]
    assert scores["mae"][1] == pytest.approx(error.mean())
    assert scores["nmae"][1] == pytest.approx(error.sum() / rates[split:].sum())


def test_static_peak_never_under_provisions_below_the_training_peak() -> None:
    trace = generate(GeneratorConfig(nodes=3, days=5, step_minutes=60, seed=4, noise=0.0))
    report = run_backtest(trace, train_days=4, horizons=(1,), pool=RIDGE).report
    static = report["provisioning"]["static_peak"]
    assert static["under_provisioned_share"] == 0.0  # no noise: no day exceeds the first days
    assert static["reserved_over_actual"] > 1.0


def test_cli_writes_json_and_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(predictor_cli, "_pool", lambda _args: RIDGE)  # the wiring, not the grid
    trace_path = tmp_path / "small.npz"
    save_npz(generate(SMALL), trace_path)
    out = tmp_path / "out"
    assert (
        main(
            [
                "backtest",
                "--trace",
                str(trace_path),
                "--train-days",
                "4",
                "--out",
                str(out),
                "--quick",
            ]
        )
        == 0
    )
    written = json.loads((out / "backtest.json").read_text())
    assert written["horizons"] == [1, 3, 6, 12]
    assert json.loads(capsys.readouterr().out) == written
    assert sorted(p.name for p in out.glob("*.png")) == [
        "busiest_pair.png",
        "error_by_horizon.png",
        "provisioning.png",
    ]


def test_quick_validates_each_kind_s_defaults_only() -> None:
    from vnstitch.northbound.cli import build_parser

    for command in ("backtest", "te-backtest", "flow-by-flow"):
        args = ["predictor", command, "--trace", "t.npz"]
        args += ["--topology", "abilene"] if command == "te-backtest" else []
        quick = predictor_cli._pool(build_parser().parse_args([*args, "--quick"]))
        assert [c.name for c in quick] == list(MODEL_KINDS)
        assert len(predictor_cli._pool(build_parser().parse_args(args))) > len(MODEL_KINDS)
