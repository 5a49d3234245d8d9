"""Seeding the predictor's history from a trace, and scaling a compressed replay's bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from predictor.engine import BEFORE_SEED, EngineConfig, PredictorEngine
from predictor.publisher import RunConfig, build_engine
from predictor.seeding import host_addresses, parse_moment, seed_from_trace
from predictor.trace import Trace, save_npz
from vnstitch.messages import ForecastBatch, Observations, PairId, PairSample

STEP = 300.0
START = 1_700_000_100.0  # a multiple of 300 s
MBIT = 1e6 / 8


def small_trace(steps: int = 24) -> Trace:
    """Three nodes; only n0 -> n2 sends (2 Mbit/s), n1 -> n0 sends 1 Mbit/s after step 12."""
    tm = np.zeros((steps, 3, 3))
    tm[:, 0, 2] = 2.0
    tm[12:, 1, 0] = 1.0
    return Trace(tm, ("n0", "n1", "n2"), START, STEP)


def engine() -> PredictorEngine:
    return PredictorEngine("p", EngineConfig(horizon=2, step_seconds=STEP, retrain=False))


def test_nodes_become_host_addresses_unless_they_are_addresses() -> None:
    assert host_addresses(("a", "b", "c")) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert host_addresses(("x", "y"), "192.168.1.9") == ["192.168.1.9", "192.168.1.10"]
    assert host_addresses(("10.0.0.7", "10.0.0.3")) == ["10.0.0.7", "10.0.0.3"]


def test_times_parse_as_epoch_trace_format_or_iso() -> None:
    assert parse_moment("1700000100") == 1_700_000_100.0
    assert parse_moment("20231114-2215") == parse_moment("2023-11-14T22:15:00+00:00")
    assert parse_moment("2023-11-14T22:15") == 1_700_000_100.0


def test_the_seed_keeps_the_steps_that_end_by_the_given_time() -> None:
    seed = seed_from_trace(small_trace(), START + 10 * STEP + 120)
    assert seed.rates.shape == (10, 6)
    assert seed.until == START + 10 * STEP
    assert seed.pairs[1] == PairId("10.0.0.1", "10.0.0.3")
    assert seed.rates[0, 1] == 2.0
    with pytest.raises(ValueError, match="starts after"):
        seed_from_trace(small_trace(), START)


def test_a_seeded_engine_forecasts_before_any_live_step() -> None:
    eng = engine()
    eng.seed(seed_from_trace(small_trace(), START + 20 * STEP))
    early = Observations("ctl", 0, START + 18 * STEP, START + 19 * STEP, ())
    (batch,) = eng.handle(early)
    assert isinstance(batch, ForecastBatch)
    assert eng.drops.by_reason == {BEFORE_SEED: 1}
    by_pair = {f.pair: f for f in batch.forecasts}
    assert set(by_pair) == {PairId("10.0.0.1", "10.0.0.3"), PairId("10.0.0.2", "10.0.0.1")}
    forecast = by_pair[PairId("10.0.0.2", "10.0.0.1")]  # silent live, known from the seed
    assert forecast.valid_from == START + 20 * STEP
    assert forecast.mean_mbps[0] == pytest.approx(1.0)


def test_live_observations_continue_the_seeded_history() -> None:
    eng = engine()
    eng.seed(seed_from_trace(small_trace(), START + 20 * STEP))
    sample = PairSample(PairId("10.0.0.1", "10.0.0.3"), round(6.0 * MBIT * STEP))
    straddling = Observations("ctl", 1, START + 19.5 * STEP, START + 21 * STEP, (sample,))
    out = eng.handle(straddling)
    assert eng.history.rows == 21  # the seed's 20 steps and the first live one
    assert eng.history.first_index == round(START / STEP)
    (batch,) = [m for m in out if isinstance(m, ForecastBatch)]
    assert batch.forecasts[0].valid_from == START + 21 * STEP
    column = eng.history.column(PairId("10.0.0.1", "10.0.0.3"))
    assert eng.history.array()[-1, column] == pytest.approx(4.0)  # 2/3 of the bytes, 1 step


def test_bytes_are_scaled_for_a_time_compressed_replay() -> None:
    eng = PredictorEngine(
        "p", EngineConfig(horizon=1, step_seconds=STEP, retrain=False, bytes_scale=300.0)
    )
    # one wall second of 3 Mbit/s, stamped as a five-minute interval
    sample = PairSample(PairId("10.0.0.1", "10.0.0.2"), round(3.0 * MBIT))
    for k in range(2):
        eng.handle(Observations("ctl", k, START + k * STEP, START + (k + 1) * STEP, (sample,)))
    assert eng.history.array()[-1, 0] == pytest.approx(3.0)


def test_a_seed_mismatching_the_model_step_is_refused() -> None:
    trace = small_trace()
    halved = Trace(trace.tm, trace.nodes, trace.start, STEP / 2)
    with pytest.raises(ValueError, match="seed step"):
        engine().seed(seed_from_trace(halved, START + 5 * STEP))


def test_the_publisher_seeds_its_engine_from_a_trace_file(tmp_path: Path) -> None:
    path = tmp_path / "seed.npz"
    save_npz(small_trace(), path)
    config = RunConfig(
        "tcp://127.0.0.1:1",
        "tcp://127.0.0.1:2",
        tmp_path / "models",
        seed_trace=path,
        seed_until=START + 6 * STEP,
        bytes_scale=2.0,
    )
    eng = build_engine(config)
    assert eng.seeded_until == START + 6 * STEP
    assert eng.history.rows == 6
    assert eng.config.bytes_scale == 2.0


def test_pairs_idle_less_than_a_week_are_still_forecast() -> None:
    """A pair that went quiet days ago is forecast (the controller may give it standing rules),
    also once live steps overflow the history; one idle for longer than ``idle_days`` is not."""
    day = round(86_400 / STEP)
    steps = 8 * day
    tm = np.zeros((steps, 3, 3))
    tm[:, 0, 2] = 2.0  # always busy
    tm[steps - 5 * day, 2, 1] = 1.0  # one step five days before the end
    tm[5, 1, 0] = 1.0  # one step eight days before the end
    trace = Trace(tm, ("n0", "n1", "n2"), START, STEP)
    until = START + steps * STEP
    forecast = {}
    for idle_days in (7.0, 1.0):
        config = EngineConfig(horizon=1, step_seconds=STEP, retrain=False, idle_days=idle_days)
        eng = PredictorEngine("p", config)
        eng.seed(seed_from_trace(trace, until))  # fills the 8-day history
        out = []
        for k in range(3):  # live steps past the full history: its oldest rows go
            live = Observations("ctl", k, until + k * STEP, until + (k + 1) * STEP, ())
            out += [m for m in eng.handle(live) if isinstance(m, ForecastBatch)]
        assert eng.history.rows >= 7 * day
        forecast[idle_days] = {f.pair for f in out[-1].forecasts}
    busy, days_ago = PairId("10.0.0.1", "10.0.0.3"), PairId("10.0.0.3", "10.0.0.2")
    assert forecast[7.0] == {busy, days_ago}
    assert forecast[1.0] == {busy}
    assert EngineConfig().idle_days == 7.0
