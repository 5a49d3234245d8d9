"""The replay's schedules: per-host rates, datagram pacing, probes, the schedule file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mininet_scenarios.replay_schedule import (
    FIRST_STEP_SPREAD_S,
    MAX_DATAGRAM,
    MAX_PHASE_S,
    MIN_DATAGRAM,
    HostSchedule,
    build_schedules,
    step_datagrams,
    write_schedule,
)

HOSTS = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
PAIRS = [(a, b) for a in HOSTS for b in HOSTS if a != b]


def test_a_rate_becomes_evenly_spaced_datagrams_carrying_its_bytes() -> None:
    datagrams = step_datagrams(1.0, 1.0, 1400)  # 125,000 bytes in one second
    assert len(datagrams) == 90
    assert sum(size for _, size in datagrams) == pytest.approx(125_000, rel=0.001)
    offsets = [offset for offset, _ in datagrams]
    assert offsets[0] == 0.0 and offsets[-1] < 1.0
    assert offsets[1] - offsets[0] == pytest.approx(1 / 90)


def test_datagram_sizes_stay_within_one_frame_and_a_header() -> None:
    assert step_datagrams(0.0, 1.0, 1400) == []
    (tiny,) = step_datagrams(1e-6, 1.0, 1400)
    assert tiny[1] == MIN_DATAGRAM
    assert all(size <= MAX_DATAGRAM for _, size in step_datagrams(5.0, 1.0, 9000))


def test_a_phase_delays_a_pair_by_at_most_the_spread() -> None:
    slow = step_datagrams(0.01, 1.0, 1400, phase=1.0)  # one datagram a second
    fast = step_datagrams(10.0, 1.0, 1400, phase=0.5)  # a gap of about a millisecond
    assert slow[0][0] == pytest.approx(MAX_PHASE_S)
    assert fast[0][0] == pytest.approx(0.5 / len(fast))  # half the gap of an unshifted step


def test_a_spread_delays_the_first_datagram_and_keeps_the_bytes() -> None:
    plain = step_datagrams(1.0, 1.0, 1400)
    spread = step_datagrams(1.0, 1.0, 1400, phase=0.5, spread_s=0.4)
    assert spread[0][0] == pytest.approx(0.2) and spread[-1][0] < 1.0
    assert sum(size for _, size in spread) == sum(size for _, size in plain)


def test_pairs_already_sending_start_spread_over_the_first_step() -> None:
    rates = {f"10.0.0.{k}": [1.0, 1.0] for k in range(2, 12)}
    schedule = HostSchedule("10.0.0.1", 0, rates, 2)
    firsts = [d.offset_s for d in schedule.datagrams(0) if d.probe]
    assert len(firsts) == 10 and max(firsts) - min(firsts) > 0.2
    assert max(firsts) < FIRST_STEP_SPREAD_S
    later = [d.offset_s for d in schedule.datagrams(1)]
    assert min(later) < MAX_PHASE_S


def test_schedules_hold_every_host_and_only_pairs_that_send() -> None:
    rates = [[0.0, 1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.5, 0.0, 0.0, 0.0]]
    schedules = build_schedules(HOSTS, rates, PAIRS, step_s=0.5)
    assert set(schedules) == set(HOSTS)
    assert schedules["10.0.0.1"].rates == {"10.0.0.3": [1.0, 2.0]}
    assert schedules["10.0.0.2"].rates == {"10.0.0.1": [0.0, 0.5]}
    assert schedules["10.0.0.3"].rates == {} and schedules["10.0.0.3"].steps == 2
    assert [s.index for s in schedules.values()] == [0, 1, 2]


def test_the_first_datagram_of_a_pair_and_every_nth_step_after_it_are_probes() -> None:
    schedule = HostSchedule(
        "10.0.0.1",
        0,
        {"10.0.0.2": [0, 0.1, 0.1, 0.1, 0.1], "10.0.0.3": [0.1] * 5},
        5,
        probe_every=3,
    )
    assert schedule.first_steps() == {"10.0.0.2": 1, "10.0.0.3": 0}
    probes = {step: sorted(d.dst for d in schedule.datagrams(step) if d.probe) for step in range(5)}
    assert probes == {
        0: ["10.0.0.3"],
        1: ["10.0.0.2"],
        2: [],
        3: ["10.0.0.3"],
        4: ["10.0.0.2"],
    }
    first = schedule.datagrams(1)
    assert next(d.probe for d in first if d.dst == "10.0.0.2")
    assert first == sorted(first, key=lambda d: d.offset_s)


def test_the_schedule_file_round_trips(tmp_path: Path) -> None:
    schedule = HostSchedule("10.0.0.2", 1, {"10.0.0.1": [0.5, 0.25]}, 2, step_s=0.5, port=9100)
    path = write_schedule(schedule, tmp_path / "s.json")
    assert HostSchedule.from_json(json.loads(path.read_text())) == schedule
