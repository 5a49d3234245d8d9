"""Trace files: the .npz layout, CSV input, the synthetic generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from predictor.cli import main
from predictor.generator import GeneratorConfig, generate
from predictor.trace import load_trace, save_npz


def test_generated_trace_round_trips_through_the_npz_layout(tmp_path: Path) -> None:
    trace = generate(GeneratorConfig(nodes=4, days=2, step_minutes=15))
    path = tmp_path / "t.npz"
    save_npz(trace, path)
    with np.load(path) as data:
        assert set(data.files) == {"tm", "nodes", "times", "step_minutes", "unit"}
        assert data["times"][0] == "20240101-0000" and int(data["step_minutes"]) == 15
    loaded = load_trace(path)
    assert loaded.nodes == trace.nodes and loaded.step_seconds == 900.0
    assert loaded.start == trace.start
    np.testing.assert_allclose(loaded.tm, trace.tm, rtol=1e-6)


def test_generator_has_a_daily_cycle_and_gravity_volumes() -> None:
    trace = generate(GeneratorConfig(nodes=5, days=7, noise=0.0, periodic_share=0.0))
    totals = trace.tm.sum(axis=(1, 2))
    day = trace.steps_per_day
    hourly = totals[:day].reshape(24, -1).mean(axis=1)
    assert hourly.max() > 2 * hourly.min()
    assert np.all(np.diagonal(trace.tm, axis1=1, axis2=2) == 0)
    means = trace.tm.mean(axis=0)
    rank_one = np.outer(means.sum(axis=1), means.sum(axis=0)) / means.sum()
    off = ~np.eye(5, dtype=bool)
    assert np.corrcoef(means[off], rank_one[off])[0, 1] > 0.9


def test_csv_traces_load_in_long_form(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "time,src,dst,mbps\n"
        "20040301-0000,A,B,1.5\n20040301-0000,B,A,2\n"
        "20040301-0005,A,B,3\n20040301-0005,B,A,4\n"
    )
    trace = load_trace(path)
    assert trace.nodes == ("A", "B") and trace.step_seconds == 300.0
    np.testing.assert_array_equal(trace.series(), [[1.5, 2.0], [3.0, 4.0]])


def test_generate_command_writes_a_trace(tmp_path: Path) -> None:
    out = tmp_path / "g.npz"
    assert main(["generate", "--out", str(out), "--nodes", "3", "--days", "1"]) == 0
    assert load_trace(out).tm.shape == (288, 3, 3)
