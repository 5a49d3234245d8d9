"""Per-step byte counts from counters read at jittered instants, aligned to the step grid.

A switch reads its counters when it answers a statistics request: near a step boundary, never
exactly on it, and a reply held up behind other work must not move bytes into the wrong step.
So each read is kept with the instant it was *requested* (:class:`AlignedRounds`), a pair's
cumulative count is taken to grow linearly between two reads (:func:`count_at`), and a step's
bytes are the difference of the interpolated counts at its two boundaries (:func:`step_bytes`).
With requests timed to the boundaries (:func:`next_boundary`) the interpolation moves almost
nothing; with reads anywhere else it still splits bytes by time, not by which round saw them.
The grid is the traffic clock's multiples of one step: the model's five-minute steps in a
replay, the statistics interval in real time.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from vnstitch.messages import PairId, PairSample
from vnstitch.predictive.observation_rounds import CountedRound
from vnstitch.predictive.pair_counters import FlowSample, PairCounters

Read = tuple[float, float]  # (instant, cumulative count)
KEEP_READS = 16  # reads kept per switch (interpolation needs the two around a boundary)
SILENT_STEPS = 3.0  # a switch silent this many steps no longer holds a step back


def count_at(reads: Sequence[Read], instant: float) -> float | None:
    """Cumulative count at ``instant``: linear between the two reads around it.

    Before the first read the count is the first read's (nothing is known to have come
    earlier); after the last read it is not known yet (None). ``reads`` ascend in instant.
    """
    if not reads or instant > reads[-1][0]:
        return None
    if instant <= reads[0][0]:
        return reads[0][1]
    i = bisect.bisect_left([t for t, _ in reads], instant)
    (t0, c0), (t1, c1) = reads[i - 1], reads[i]
    if t1 <= t0:
        return c1
    return c0 + (c1 - c0) * (instant - t0) / (t1 - t0)


def step_bytes(reads: Sequence[Read], boundaries: Sequence[float]) -> list[float | None]:
    """Bytes in each step ``[boundaries[k], boundaries[k + 1])`` (None: not read past it yet)."""
    counts = [count_at(reads, b) for b in boundaries]
    return [
        None if a is None or b is None else max(b - a, 0.0) for a, b in itertools.pairwise(counts)
    ]


def next_boundary(now: float, step: float, margin: float = 0.1) -> float:
    """The first grid boundary (a multiple of ``step``) more than ``margin`` steps after ``now``."""
    return (math.floor(now / step + margin) + 1) * step


@dataclass
class _SwitchReads:
    """One switch's reads: instants and each pair's cumulative bytes at them."""

    instants: list[float]
    totals: list[dict[tuple[str, str], int]]

    def series(self, pair: tuple[str, str]) -> list[Read]:
        return [(t, float(c.get(pair, 0))) for t, c in zip(self.instants, self.totals, strict=True)]


class AlignedRounds:
    """Flow-stats replies in, one :class:`CountedRound` per grid step out.

    :meth:`requested` notes when a switch was asked; its reply is read at that instant (the
    oldest request still unanswered). A step is complete when every switch that answered in
    the last :data:`SILENT_STEPS` steps has been read past its end.
    """

    def __init__(self, step: float) -> None:
        self.step = step
        self._counters = PairCounters()
        self._asked: dict[int, deque[float]] = {}
        self._reads: dict[int, _SwitchReads] = {}
        self._next: float | None = None  # start of the next step to publish

    def requested(self, dpids: Iterable[int], instant: float) -> None:
        """Flow stats were requested from ``dpids`` at ``instant`` (traffic time)."""
        for dpid in dpids:
            self._asked.setdefault(dpid, deque(maxlen=8)).append(instant)

    def flow_stats(
        self,
        dpid: int,
        samples: Iterable[FlowSample],
        is_host_port: Callable[[int, int], bool],
        ip_of_mac: Callable[[str], str | None],
        interval_s: float,
        received: float,
    ) -> list[CountedRound]:
        """A switch's reply (handled at traffic time ``received``); returns completed steps."""
        asked = self._asked.get(dpid)
        instant = asked.popleft() if asked else received
        deltas = self._counters.update(samples, is_host_port, ip_of_mac, interval_s)
        reads = self._reads.get(dpid)
        if reads is None:
            # the first read only sets the baseline: what came before is not one step's
            reads = self._reads[dpid] = _SwitchReads([], [])
            deltas = {}
        if reads.instants and instant <= reads.instants[-1]:
            instant = reads.instants[-1] + 1e-6  # an unrecorded request's reply
        total = dict(reads.totals[-1]) if reads.totals else {}
        for pair, count in deltas.items():
            total[pair] = total.get(pair, 0) + count
        reads.instants.append(instant)
        reads.totals.append(total)
        del reads.instants[:-KEEP_READS], reads.totals[:-KEEP_READS]
        if self._next is None:
            self._next = next_boundary(instant, self.step, margin=0.0)
        return self._complete()

    def forget_switch(self, dpid: int) -> None:
        """A switch went away: its counters start again, steps do not wait for it."""
        self._counters.forget_switch(dpid)
        self._asked.pop(dpid, None)
        self._reads.pop(dpid, None)

    def _complete(self) -> list[CountedRound]:
        out: list[CountedRound] = []
        latest = max((r.instants[-1] for r in self._reads.values()), default=None)
        if latest is None or self._next is None:
            return out
        live = [
            r for r in self._reads.values() if r.instants[-1] >= latest - SILENT_STEPS * self.step
        ]
        while all(r.instants[-1] >= self._next + self.step for r in live):
            start, end = self._next, self._next + self.step
            counts: dict[tuple[str, str], float] = {}
            for r in live:
                pairs = set().union(*r.totals) if r.totals else set()
                for pair in pairs:
                    got = step_bytes(r.series(pair), (start, end))[0]
                    if got:
                        counts[pair] = counts.get(pair, 0.0) + got
            samples = tuple(
                PairSample(PairId(src, dst), round(count))
                for (src, dst), count in sorted(counts.items())
                if round(count) > 0
            )
            out.append(CountedRound(start, end, samples))
            self._next = end
        return out
