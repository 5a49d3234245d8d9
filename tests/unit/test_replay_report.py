"""The replay's verdicts: rules before the first packet, coverage, one-step forecasts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mininet_scenarios.replay_monitor import MonitorRecord, ReservationTrack
from mininet_scenarios.replay_report import (
    Timeline,
    forecast_errors,
    forecasts_in_force,
    measured_rates,
    pair_results,
    reserved_per_step,
    sent_rates,
    summarize,
)
from vnstitch.clock import rfc3339

T0 = 1000.0  # wall time of replay step 0
TRAFFIC0 = 1_700_000_100.0
A, B, C = "10.0.0.1", "10.0.0.2", "10.0.0.3"
PAIRS = [(A, B), (B, A), (A, C), (C, A)]


def timeline() -> Timeline:
    # monotonic = wall - 500; the controller started 10 s before step 0, 300 trace s per second
    return Timeline(T0, 1.0, 500.0, T0 - 10.0, TRAFFIC0 - 3000.0, 300.0, TRAFFIC0, 300.0)


def record() -> MonitorRecord:
    rec = MonitorRecord()
    # A -> B active 2 s before step 0; C -> A active at step 1.5 (after its first packet)
    rec.reservations["1"] = ReservationTrack("1", (A, B), T0 - 3, T0 - 2 - 500.0, None, 1.0)
    rec.reservations["2"] = ReservationTrack("2", (C, A), T0 + 1.4, T0 + 1.5 - 500.0, None, 0.5)
    for k in range(12):  # polls every 0.25 s from step 0 to 3
        wall = T0 + 0.25 * k + 0.1
        reserved = {(A, B): 1.0 if k < 6 else 2.0}
        if wall >= T0 + 1.5:
            reserved[(C, A)] = 0.5
        rec.reserved.append((wall, reserved))
    return rec


def results() -> dict[str, dict[str, Any]]:
    mbit = 125_000
    return {
        A: {
            "sent": {B: [mbit, 2 * mbit, 2 * mbit], C: [0, 0, mbit // 2]},
            "first": {B: {"step": 0, "wall": T0, "mono": T0 - 500.0}},
            "probes": [
                {"dst": B, "step": 0, "rtt_ms": 1.5},
                {"dst": B, "step": 2, "rtt_ms": 0.5},
            ],
            "received": {C: [0, mbit, 0]},
        },
        B: {"sent": {}, "first": {}, "probes": [], "received": {A: [mbit, 2 * mbit, 0]}},
        C: {
            "sent": {A: [0, mbit, 0]},
            "first": {A: {"step": 1, "wall": T0 + 1.0, "mono": T0 + 1.0 - 500.0}},
            "probes": [{"dst": A, "step": 1, "rtt_ms": 9.0}],
            "received": {},
        },
    }


def test_reserved_rates_are_the_smallest_seen_in_each_step() -> None:
    reserved = reserved_per_step(record(), PAIRS, 4, timeline())
    assert reserved[:, 0].tolist() == [1.0, 1.0, 2.0, 2.0]  # step 3 has no poll: carried over
    assert reserved[:, 3].tolist() == [0.0, 0.0, 0.5, 0.5]  # half of step 1 without it


def test_first_packets_are_judged_against_each_pairs_reservations() -> None:
    tl = timeline()
    sent = sent_rates(results(), PAIRS, 3, 1.0)
    assert sent[:, 0].tolist() == [1.0, 2.0, 2.0]
    reserved = reserved_per_step(record(), PAIRS, 3, tl)
    pairs = {
        tuple(p["pair"]): p for p in pair_results(results(), record(), PAIRS, sent, reserved, tl)
    }
    assert set(pairs) == {(A, B), (C, A)}
    ab, ca = pairs[(A, B)], pairs[(C, A)]
    assert ab["stitched_before_first_packet"] and ab["by"] == "own" and ab["lead_s"] == 2.0
    assert ab["first_rtt_ms"] == 1.5 and ab["steady_rtt_ms"] == 0.5
    assert (ab["steps_sent"], ab["steps_covered"]) == (3, 2)  # 2 Mbit/s over 1 in step 1
    assert not ca["stitched_before_first_packet"]
    assert ca["first_own_activation_after_s"] == 0.5
    assert ca["received_bytes"] == 125_000
    summary = summarize(list(pairs.values()), sent, reserved)
    assert summary["pairs_started"] == 2 and summary["pre_provisioned_percent"] == 50.0
    assert summary["first_rtt_ms_median_stitched"] == 1.5
    assert summary["first_rtt_ms_median_reactive"] == 9.0
    assert summary["steps_covered_percent"] == 40.0  # 2 of 5 sending pair-steps


def test_a_reverse_pairs_reservation_counts_as_rules_in_place() -> None:
    rec = record()
    rec.reservations["3"] = ReservationTrack("3", (A, C), T0 - 5, T0 - 5 - 500.0, T0 + 0.5, 1.0)
    tl = timeline()
    sent = sent_rates(results(), PAIRS, 3, 1.0)
    out = pair_results(results(), rec, PAIRS, sent, np.zeros((3, 4)), tl)
    ca = next(p for p in out if p["pair"] == [C, A])
    assert not ca["stitched_before_first_packet"]  # released before C's first packet
    rec.reservations["3"].gone = None
    out = pair_results(results(), rec, PAIRS, sent, np.zeros((3, 4)), tl)
    ca = next(p for p in out if p["pair"] == [C, A])
    assert ca["stitched_before_first_packet"] and ca["by"] == "reverse"


def test_the_forecast_in_force_is_read_in_the_middle_of_each_step() -> None:
    rec = MonitorRecord()
    entry = {"pair": [A, B], "mean_mbps": 1.2, "upper_mbps": 1.5}
    rec.forecasts = [
        (
            T0 - 1.0,
            [{**entry, "valid_from": rfc3339(TRAFFIC0), "mean_mbps": 7.0}],
        ),  # before the replay
        (T0 + 0.5, [{**entry, "valid_from": rfc3339(TRAFFIC0 - 300.0)}]),  # made two steps ahead
        (
            T0 + 0.9,
            [{**entry, "valid_from": rfc3339(TRAFFIC0), "mean_mbps": 9.0}],
        ),  # not the middle
        (T0 + 1.4, [{**entry, "valid_from": rfc3339(TRAFFIC0 + 300.0), "mean_mbps": 2.0}]),
    ]
    mean, upper, ahead = forecasts_in_force(rec, PAIRS, 3, timeline())
    assert mean[:2, 0].tolist() == [1.2, 2.0] and np.isnan(mean[2, 0])
    assert ahead[:2, 0].tolist() == [2.0, 1.0]
    assert upper[0, 0] == 1.5 and np.isnan(mean[:, 1]).all()
    planned = np.array([[1.0, 0, 0, 0], [2.5, 0, 0, 0], [3.0, 0, 0, 0]])
    errors = forecast_errors(mean, planned, np.array([0.8, 0, 0, 0]), ahead)
    assert errors["cells"] == 2 and errors["one_step_ahead_percent"] == 50.0
    assert errors["mae_mbps"] == pytest.approx(0.35)  # |1.2 - 1| and |2 - 2.5|
    assert errors["last_value_mae_mbps"] == pytest.approx(0.85)  # |0.8 - 1| and |1 - 2.5|


def test_controller_counts_are_split_over_the_steps_they_overlap() -> None:
    rec = MonitorRecord()
    # 300 traffic seconds = one wall second; 250,000 bytes across steps 0 and 1 half and half
    rec.observations = [(TRAFFIC0 + 150.0, TRAFFIC0 + 450.0, {(A, B): 250_000})]
    measured = measured_rates(rec, PAIRS, 3, timeline())
    assert measured[:, 0].tolist() == [1.0, 1.0, 0.0]
