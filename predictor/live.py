"""Live state of the predictor: observations binned into model steps, and the rate history.

Binning uses only the timestamps in the observations, so a time-compressed replay (intervals
stamped five minutes apart, sent once a second) produces the same steps as real time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from vnstitch.messages import Observations, PairId

BITS_PER_MEGABIT = 1e6


@dataclass(frozen=True)
class CompletedStep:
    """One model step: the rate of each pair over it (Mbit/s), or a gap with no observations."""

    index: int  # step number: the step starts at StepAggregator.step_start(index)
    rates: dict[PairId, float]
    coverage: float  # share of the step covered by observations
    gap: bool = False


@dataclass
class StepAggregator:
    """Splits observation intervals over fixed steps and emits each step once it has ended.

    The step grid is aligned to the start of the first observation (and again after a reset),
    so a controller polling once per step fills exactly one step per poll.
    """

    step_seconds: float
    max_gap_steps: int = 288
    phase: float = 0.0  # steps start at phase + k * step_seconds
    current: int | None = None
    late: int = 0
    resets: int = 0
    _bytes: dict[PairId, float] = field(default_factory=dict)
    _covered: float = 0.0

    def reset(self) -> None:
        """Forget the open step (after a restart of the observed timeline)."""
        self.current, self._bytes, self._covered = None, {}, 0.0
        self.resets += 1

    def step_start(self, index: int) -> float:
        """Start time (epoch seconds) of step ``index``."""
        return self.phase + index * self.step_seconds

    def _index(self, moment: float) -> float:
        return (moment - self.phase) / self.step_seconds

    def _close(self) -> CompletedStep:
        assert self.current is not None
        covered = self._covered
        rates = {}
        if covered > 0:
            rates = {p: b * 8 / BITS_PER_MEGABIT / covered for p, b in self._bytes.items()}
        coverage = min(covered / self.step_seconds, 1.0)
        step = CompletedStep(self.current, rates, coverage, gap=covered <= 0)
        self.current, self._bytes, self._covered = self.current + 1, {}, 0.0
        return step

    def add(self, obs: Observations) -> list[CompletedStep]:
        """Add an observation; returns the steps it completed (gaps included), oldest first."""
        if self.current is not None and self._index(obs.interval_start) - self.current > (
            self.max_gap_steps
        ):
            self.reset()
        if self.current is None:
            self.phase = obs.interval_start % self.step_seconds
        first = math.floor(self._index(obs.interval_start) + 1e-9)
        last = math.ceil(self._index(obs.interval_end) - 1e-9) - 1
        if self.current is None:
            self.current = first
        if obs.interval_end <= self.step_start(self.current):
            self.late += 1
            return []
        done: list[CompletedStep] = []
        duration = obs.duration
        for index in range(max(first, self.current), last + 1):
            while self.current < index:
                done.append(self._close())
            begin = max(obs.interval_start, self.step_start(index))
            end = min(obs.interval_end, self.step_start(index + 1))
            overlap = end - begin
            share = overlap / duration
            for sample in obs.samples:
                self._bytes[sample.pair] = self._bytes.get(sample.pair, 0.0) + sample.bytes * share
            self._covered += overlap
        if obs.interval_end >= self.step_start(self.current + 1) - 1e-9:
            done.append(self._close())
        return done


class RateHistory:
    """The last ``capacity`` steps of every pair's rate, as a (steps, pairs) array.

    When full, the oldest rows go at once, keeping the newest ``keep`` (default half): between
    ``keep`` and ``capacity`` rows are always held once it has filled.
    """

    def __init__(self, capacity: int, keep: int | None = None) -> None:
        self.capacity = capacity
        self.keep = capacity // 2 if keep is None else min(max(keep, 1), capacity - 1)
        self._rates = np.zeros((capacity, 64))
        self.rows = 0
        self.first_index = 0  # step index of row 0
        self.pairs: list[PairId] = []
        self._column: dict[PairId, int] = {}

    def column(self, pair: PairId) -> int:
        """The pair's column, adding it (with zero past traffic) if new."""
        if pair not in self._column:
            if len(self.pairs) == self._rates.shape[1]:
                grown = np.zeros((self.capacity, 2 * self._rates.shape[1]))
                grown[:, : self._rates.shape[1]] = self._rates
                self._rates = grown
            self._column[pair] = len(self.pairs)
            self.pairs.append(pair)
        return self._column[pair]

    def clear(self) -> None:
        """Drop every row (pairs keep their columns)."""
        self.rows = 0

    def append(self, index: int, rates: dict[PairId, float] | None) -> None:
        """Add step ``index``; None repeats the previous row (a gap in the observations)."""
        if self.rows and index != self.first_index + self.rows:
            self.clear()
        if self.rows == 0:
            self.first_index = index
        if self.rows == self.capacity:
            keep = self.keep
            self._rates[:keep] = self._rates[self.rows - keep : self.rows]
            self.first_index += self.rows - keep
            self.rows = keep
        columns = {} if rates is None else {self.column(p): r for p, r in rates.items()}
        row = self._rates[self.rows]  # after column(): the array may have grown
        if rates is None:
            row[:] = self._rates[self.rows - 1] if self.rows else 0.0
        else:
            row[:] = 0.0
            for column, rate in columns.items():
                row[column] = rate
        self.rows += 1

    def array(self, last_rows: int | None = None) -> np.ndarray:
        """The history (rows, pairs), or only its last ``last_rows`` rows. A view: do not keep."""
        first = 0 if last_rows is None else max(self.rows - last_rows, 0)
        return self._rates[first : self.rows, : len(self.pairs)]
