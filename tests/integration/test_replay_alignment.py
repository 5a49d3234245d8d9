"""A short replay with known rates: the controller measures the schedule's per-step rates.

Three switches in a line, three pairs sending a generated schedule (rates change every step,
one step per wall second, five-minute steps of traffic time) through the replay's own senders.
The controller's statistics rounds are timed to the step boundaries and its counters are
interpolated onto them, so every step it publishes must carry the rate its senders put on the
wire in that step (within a few percent); and the predictor (seeded, last-value fallback) must
have every step covered by a forecast the controller held before the step began.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from mininet_scenarios.replay_monitor import ControllerMonitor
from mininet_scenarios.replay_processes import collect_results, launch_senders, stop_senders
from mininet_scenarios.replay_report import Timeline, measured_rates, sent_rates
from mininet_scenarios.replay_schedule import build_schedules
from mininet_scenarios.replay_timeliness import timeliness
from predictor.trace import Trace, save_npz
from testbed.revalidator import revalidator_period
from testbed.stack import Stack
from testbed.wait import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

ROOT = Path(__file__).resolve().parents[2]
STEP = 300.0  # traffic seconds per step
STEP_WALL = 1.0
SCALE = STEP / STEP_WALL
LEAD_S = 8.0
REVALIDATOR_MS = 100  # OVS sweeps counters every 100 ms (default 500: half a step)
COUNTER_LAG_S = 0.1  # so a counter read is about this old
START = 1_700_000_100.0 - 1_700_000_100.0 % STEP + 3600.0  # on the grid
HOSTS = ("10.0.0.1", "10.0.0.2", "10.0.0.3")
PAIRS = [("10.0.0.1", "10.0.0.3"), ("10.0.0.3", "10.0.0.1"), ("10.0.0.2", "10.0.0.3")]
SCHEDULE = np.array(  # Mbit/s per step, one column per pair; steps change by 15-25 %
    [
        [2.0, 1.5, 3.0],
        [2.4, 1.5, 2.5],
        [2.0, 1.5, 3.0],
        [1.6, 1.5, 3.6],
        [2.0, 1.5, 3.0],
        [2.4, 1.5, 2.5],
        [2.9, 1.5, 2.0],
        [2.4, 1.5, 2.5],
        [2.0, 1.5, 3.0],
        [2.0, 1.5, 3.0],
    ]
)


def _seed(path: Path) -> None:
    """Two hours before the replay, each pair at its first step's rate."""
    steps = 24
    tm = np.zeros((steps, 3, 3))
    for column, (src, dst) in enumerate(PAIRS):
        tm[:, HOSTS.index(src), HOSTS.index(dst)] = SCHEDULE[0, column]
    save_npz(Trace(tm, HOSTS, START - steps * STEP, STEP), path)


def test_the_controller_measures_each_step_s_rate_and_forecasts_come_before_their_step(
    tmp_path: Path,
) -> None:
    seed = tmp_path / "seed.npz"
    _seed(seed)
    origin = START - LEAD_S * SCALE
    graph = nx.path_graph([1, 2, 3])
    nx.set_edge_attributes(graph, 50.0, "bw_mbps")
    stack = Stack(
        graph,
        controller={"probe_interval_s": 0.5, "link_timeout_s": 5.0, "stats_interval_s": STEP_WALL},
        predictor={
            "threshold_mbps": 0.2,
            "time_scale": SCALE,
            "time_origin": origin,
            "counter_lag_s": COUNTER_LAG_S,
        },
    )
    argv = [sys.executable, "-m", "predictor", "run", "--no-retrain"]
    argv += ["--observations", stack.observations_endpoint, "--forecasts", stack.forecasts_endpoint]
    argv += ["--model-dir", str(tmp_path / "models"), "--step-seconds", str(STEP)]
    argv += ["--seed-trace", str(seed), "--seed-until", repr(START), "--bytes-scale", repr(SCALE)]
    argv += ["--key-dir", str(stack.key_dir)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with (tmp_path / "predictor.log").open("wb") as log:
        predictor = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        with revalidator_period(REVALIDATOR_MS), stack:
            monitor = ControllerMonitor(stack, origin, SCALE, round_lag_s=COUNTER_LAG_S)
            monitor.start()
            try:
                t0 = monitor.wait_clock_start() + LEAD_S
                assert t0 - time.time() > 1.5, "the lead-in is over before the senders start"
                schedules = build_schedules(
                    list(HOSTS), SCHEDULE.tolist(), PAIRS, step_s=STEP_WALL, probe_every=100
                )
                senders = launch_senders(stack, schedules, tmp_path, t0)
                try:
                    steps = len(SCHEDULE)
                    results = collect_results(senders, t0 + steps * STEP_WALL + 10.0)
                finally:
                    stop_senders(senders)
                wait_until(
                    lambda: any(
                        end >= START + steps * STEP for _, end, _ in monitor.record.observations
                    ),
                    10.0,
                    0.1,
                    "the last step's observation",
                )
            finally:
                record = monitor.stop()
    finally:
        predictor.terminate()
        predictor.wait(timeout=10)
    timeline = Timeline(
        t0,
        STEP_WALL,
        time.time() - time.monotonic(),
        monitor.clock_start() or t0 - LEAD_S,
        origin,
        SCALE,
        START,
        STEP,
    )
    sent = sent_rates(results, PAIRS, len(SCHEDULE), STEP_WALL)
    measured = measured_rates(record, PAIRS, len(SCHEDULE), timeline)
    assert sent == pytest.approx(SCHEDULE, rel=0.02)  # the senders kept to the schedule
    # every observation is exactly one step of the grid
    assert all(round(end - start) == STEP for start, end, _ in record.observations)
    # the controller's per-step rates: the schedule's, within a few percent (the residue:
    # OVS's counters are up to a sweep old, the senders run up to tens of ms late)
    assert measured == pytest.approx(sent, rel=0.05)
    on_time = timeliness(record, PAIRS, len(SCHEDULE), timeline)
    assert on_time["pairs"] == len(PAIRS)
    assert on_time["on_time_percent"] == 100.0, on_time
