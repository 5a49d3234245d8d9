"""Binning observations into steps, the rate history, anomaly streaks."""

from __future__ import annotations

import numpy as np
import pytest

from predictor.anomaly import AnomalyDetector, Interval
from predictor.live import RateHistory, StepAggregator
from vnstitch.messages import Observations, PairId, PairSample

A = PairId("10.0.0.1", "10.0.0.2")
B = PairId("10.0.0.3", "10.0.0.4")
MBIT = 1e6 / 8  # bytes in one megabit


def obs(start: float, end: float, **megabits: float) -> Observations:
    pairs = {"a": A, "b": B}
    samples = tuple(PairSample(pairs[k], round(v * MBIT)) for k, v in megabits.items())
    return Observations("ctl", 0, start, end, samples)


def test_polls_inside_a_step_add_up_and_the_step_closes_at_its_end() -> None:
    agg = StepAggregator(step_seconds=60)
    assert agg.add(obs(600, 630, a=30)) == []
    (step,) = agg.add(obs(630, 660, a=90, b=6))
    assert step.index == 10
    assert step.rates[A] == pytest.approx(2.0)  # 120 Mbit over 60 s
    assert step.rates[B] == pytest.approx(0.1)
    assert step.coverage == 1.0 and not step.gap


def test_an_interval_spanning_two_steps_is_split_by_overlap() -> None:
    agg = StepAggregator(step_seconds=60)
    agg.add(obs(0, 30, a=30))
    (first,) = agg.add(obs(30, 90, a=120))
    assert first.rates[A] == pytest.approx((30 + 60) / 60)
    (second,) = agg.add(obs(90, 120, a=60))
    assert second.rates[A] == pytest.approx((60 + 60) / 60)


def test_a_partly_covered_step_reports_the_rate_over_the_covered_part() -> None:
    agg = StepAggregator(step_seconds=60)
    agg.add(obs(0, 60, a=60))
    (step,) = agg.add(obs(90, 120, a=30))
    assert step.index == 1
    assert step.rates[A] == pytest.approx(1.0) and step.coverage == 0.5


def test_the_step_grid_follows_the_first_observation_so_each_poll_fills_one_step() -> None:
    agg = StepAggregator(step_seconds=60)
    first = agg.add(obs(1_000_000_020, 1_000_000_080, a=60))
    second = agg.add(obs(1_000_000_080, 1_000_000_140, a=120))
    assert [s.rates[A] for s in first + second] == [1.0, 2.0]
    assert agg.step_start(second[0].index) == 1_000_000_080


def test_steps_without_observations_come_out_as_gaps() -> None:
    agg = StepAggregator(step_seconds=60)
    agg.add(obs(0, 60, a=60))
    steps = agg.add(obs(180, 240, a=60))
    assert [(s.index, s.gap) for s in steps] == [(1, True), (2, True), (3, False)]


def test_late_observations_are_dropped_and_counted() -> None:
    agg = StepAggregator(step_seconds=60)
    agg.add(obs(0, 60, a=60))
    assert agg.add(obs(0, 60, a=60)) == []
    assert agg.late == 1


def test_a_jump_beyond_the_gap_limit_restarts_the_timeline() -> None:
    agg = StepAggregator(step_seconds=60, max_gap_steps=5)
    agg.add(obs(0, 60, a=60))
    (step,) = agg.add(obs(6000, 6060, a=60))
    assert step.index == 100 and agg.resets == 1


def test_history_forward_fills_gaps_and_adds_pairs_with_zero_past() -> None:
    history = RateHistory(capacity=10)
    history.append(5, {A: 1.0})
    history.append(6, None)
    history.append(7, {A: 2.0, B: 3.0})
    np.testing.assert_array_equal(history.array(), [[1, 0], [1, 0], [2, 3]])
    assert history.first_index == 5


def test_history_keeps_the_latest_rows_when_full() -> None:
    history = RateHistory(capacity=4)
    for index in range(10):
        history.append(index, {A: float(index)})
    rows = history.array()[:, 0].tolist()
    assert rows == list(range(10 - len(rows), 10))
    assert history.first_index == 10 - len(rows)


def test_history_columns_grow_past_the_initial_width() -> None:
    history = RateHistory(capacity=3)
    pairs = [PairId(f"10.0.{i // 250}.{i % 250}", "10.1.0.1") for i in range(200)]
    history.append(0, {p: 1.0 for p in pairs[:10]})
    history.append(1, {p: 2.0 for p in pairs})
    assert history.array().shape == (2, 200)
    assert history.array()[0].sum() == 10 and history.array()[1].sum() == 400


def test_anomaly_is_reported_once_after_enough_consecutive_steps() -> None:
    detector = AnomalyDetector(steps_to_report=3)
    path = {A: [Interval(1.0, 2.0)]}
    results = [detector.check(path, {A: 5.0}) for _ in range(5)]
    assert [len(r) for r in results] == [0, 0, 1, 0, 0]
    assert results[2][0].direction == "above" and detector.reported == 1
    detector.check(path, {A: 1.5})  # back inside: the next excursion counts again
    assert [len(detector.check(path, {})) for _ in range(3)] == [0, 0, 1]
    assert detector.reported == 2


def test_an_excursion_is_judged_against_the_path_forecast_before_it() -> None:
    detector = AnomalyDetector(steps_to_report=3)
    before = [Interval(1.0, 2.0), Interval(1.0, 3.0)]
    detector.check({A: before}, {A: 10.0})
    # newer forecasts have followed the surge; the excursion still counts against `before`
    followed = {A: [Interval(8.0, 12.0), Interval(8.0, 12.0)]}
    assert detector.check(followed, {A: 10.0}) == []
    (excursion,) = detector.check(followed, {A: 10.0})
    assert excursion.interval == Interval(1.0, 3.0)
    assert detector.check(followed, {A: 10.0}) == []  # reported once per excursion


def test_history_keeps_at_least_keep_rows_once_full() -> None:
    history = RateHistory(capacity=10, keep=7)
    held = []
    for index in range(30):
        history.append(index, {A: float(index)})
        held.append(history.rows)
    assert held[10:] == [8, 9, 10] * 6 + [8, 9]  # the 7 newest and the one appended, and on
    assert history.array()[:, 0].tolist() == list(range(30 - history.rows, 30))
    assert RateHistory(capacity=8).keep == 4  # the default: half
