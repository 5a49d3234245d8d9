"""Forecast timeliness in a replay report (mininet_scenarios.replay_timeliness)."""

from __future__ import annotations

from typing import Any

import pytest

from mininet_scenarios.replay_monitor import MonitorRecord
from mininet_scenarios.replay_report import Timeline
from mininet_scenarios.replay_timeliness import timeliness
from vnstitch.clock import rfc3339

START = 1_700_001_000.0 - 1_700_001_000.0 % 300.0
A, B = ("10.0.0.1", "10.0.0.2"), ("10.0.0.2", "10.0.0.1")
# wall 0 is the controller's start; the replay's step 0 begins at wall 10
TIMELINE = Timeline(10.0, 1.0, 0.0, 0.0, START - 3000.0, 300.0, START, 300.0)


def _entry(pair: tuple[str, str], valid_from: float, age_s: float) -> dict[str, Any]:
    return {
        "pair": list(pair),
        "valid_from": rfc3339(valid_from),
        "valid_until": rfc3339(valid_from + 900.0),
        "age_s": age_s,
    }


def test_a_step_is_on_time_only_if_a_forecast_covering_it_was_held_before_it_began() -> None:
    record = MonitorRecord()
    # wall 9.5 (half a step before the replay): A's forecast from the seed
    record.forecasts.append((9.5, [_entry(A, START - 300.0, 0.0)]))
    # wall 11.3 = traffic START + 390: both forecasts for step 1 on, taken 90 s into step 1
    record.forecasts.append((11.3, [_entry(A, START + 300.0, 0.0), _entry(B, START + 300.0, 0.0)]))
    got = timeliness(record, [A, B], 3, TIMELINE)
    # A: steps 0, 1 (seed forecast), 2 (held from 90 s into step 1) on time; B: step 1 late,
    # step 2 on time, step 0 never forecast (not counted)
    assert got["pair_steps_forecast"] == 5
    assert got["late_pair_steps"] == 1 and got["steps_with_late_forecasts"] == [1]
    assert got["on_time_percent"] == 80.0
    late = got["one_step_lateness_ms"]
    assert late["per_step_median"][1] == pytest.approx(300.0)  # 90 traffic s = 0.3 wall s
