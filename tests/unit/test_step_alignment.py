"""Per-step rates from counters read at jittered instants (vnstitch.predictive.step_alignment)."""

from __future__ import annotations

import random

import pytest

from vnstitch.messages import PairId
from vnstitch.predictive.pair_counters import FlowSample
from vnstitch.predictive.step_alignment import (
    AlignedRounds,
    count_at,
    next_boundary,
    step_bytes,
)

STEP = 300.0
RATES = [1000.0, 4000.0, 0.0, 2500.0, 2500.0, 8000.0, 500.0, 3000.0]  # bytes/s per step


def cumulative(t: float, rates: list[float] = RATES) -> float:
    """Bytes sent by ``t`` under the piecewise-constant schedule (step k: rates[k])."""
    total = 0.0
    for k, rate in enumerate(rates):
        total += rate * min(max(t - k * STEP, 0.0), STEP)
    return total


def test_count_at_interpolates_between_reads_and_is_unknown_after_the_last() -> None:
    reads = [(10.0, 100.0), (20.0, 300.0)]
    assert count_at(reads, 15.0) == pytest.approx(200.0)
    assert count_at(reads, 5.0) == 100.0  # nothing known to have come before the first read
    assert count_at(reads, 20.5) is None
    assert step_bytes(reads, [10.0, 15.0, 21.0]) == [pytest.approx(100.0), None]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_reads_jittered_just_after_the_boundaries_give_each_step_its_own_rate(seed: int) -> None:
    rng = random.Random(seed)
    # a read just after every boundary (request timed to it), late by up to 3 % of a step
    reads = [(k * STEP + rng.uniform(0.0, 0.03) * STEP, 0.0) for k in range(len(RATES) + 1)]
    reads = [(t, cumulative(t)) for t, _ in reads]
    got = step_bytes(reads, [k * STEP for k in range(len(RATES) + 1)])
    for k, rate in enumerate(RATES):
        value = got[k]
        assert value is not None
        # error bounded by the jitter times the changes of rate at the step's two boundaries
        before = RATES[k - 1] if k else rate
        after = RATES[k + 1] if k + 1 < len(RATES) else 0.0  # the schedule ends
        bound = 0.03 * (abs(rate - before) + abs(after - rate)) + 1e-6
        assert value / STEP == pytest.approx(rate, abs=bound)


def test_reads_anywhere_split_a_constant_rate_exactly_by_time() -> None:
    rng = random.Random(7)
    instants = sorted([-10.0, 6.5 * STEP] + [rng.uniform(0.0, 6 * STEP) for _ in range(5)])
    reads = [(t, 2000.0 * (t + STEP)) for t in instants]
    got = step_bytes(reads, [k * STEP for k in range(1, 6)])
    assert [None if g is None else g / STEP for g in got] == pytest.approx([2000.0] * 4)


def test_next_boundary_is_the_next_multiple_of_the_step_not_one_about_to_pass() -> None:
    assert next_boundary(610.0, STEP) == 900.0
    assert next_boundary(899.0, STEP) == 1200.0  # 1 s before 900: too close, take the next
    assert next_boundary(600.0, STEP) == 900.0


def _flow(dpid: int, src: str, dst: str, count: int) -> FlowSample:
    match = {"in_port": 1, "eth_type": 0x800, "ipv4_src": src, "ipv4_dst": dst}
    return FlowSample(dpid, 20000, 1, match, count, duration_s=1000.0)


def test_a_late_reply_lands_in_the_steps_it_was_read_in_not_the_next_round() -> None:
    """Rounds requested near each boundary; replies come back late and out of step (one held
    back past the next request): every published step still carries its own rate."""
    rng = random.Random(11)
    a, b = ("10.0.0.1", "10.0.0.2"), ("10.0.0.3", "10.0.0.4")
    rates_b = [3000.0] * len(RATES)
    rounds = AlignedRounds(STEP)
    published = []
    pending: list[tuple[float, int, float]] = []  # (handled at, dpid, read instant)
    last = {1: 0.0, 2: 0.0}  # one switch's replies come in order (one connection)
    for k in range(len(RATES) + 1):
        asked = k * STEP + rng.uniform(0.0, 0.02) * STEP
        rounds.requested([1, 2], asked)
        for dpid in (1, 2):
            delay = 1.4 * STEP if (dpid, k) == (2, 4) else rng.uniform(0.0, 0.3) * STEP
            last[dpid] = max(last[dpid], asked + delay)
            pending.append((last[dpid], dpid, asked))
        for handled, dpid, read in sorted(p for p in pending if p[0] < (k + 1) * STEP):
            pending.remove((handled, dpid, read))
            pair, rates = (a, RATES) if dpid == 1 else (b, rates_b)
            flows = [_flow(dpid, *pair, round(cumulative(read, rates)))]
            published += rounds.flow_stats(
                dpid, flows, lambda _d, _p: True, lambda _m: None, STEP, handled
            )
    assert [r.start for r in published] == [k * STEP for k in range(1, len(RATES))]
    for r in published:
        k = round(r.start / STEP)
        rates = r.rates_mbps()
        assert rates.get(PairId(*a), 0.0) == pytest.approx(RATES[k] * 8 / 1e6, abs=2e-3)
        assert rates[PairId(*b)] == pytest.approx(3000.0 * 8 / 1e6, rel=0.01)
