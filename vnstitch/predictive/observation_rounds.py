"""Statistics rounds turned into per-pair byte counts for the predictor.

Each statistics round asks every switch for its flow counters; when all have answered (or the
next round starts and a switch is still silent) the bytes each endpoint pair sent — counted
once, at the pair's ingress (``vnstitch.predictive.pair_counters``) — make one
:class:`CountedRound` over the interval between the two rounds' start times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vnstitch.messages import PairId, PairSample
from vnstitch.predictive.pair_counters import FlowSample, PairCounters


@dataclass(frozen=True, slots=True)
class CountedRound:
    """Bytes per pair sent in ``[start, end)`` (traffic time)."""

    start: float
    end: float
    samples: tuple[PairSample, ...]

    def rates_mbps(self) -> dict[PairId, float]:
        """Mean rate of every pair that sent, in Mbit/s."""
        seconds = self.end - self.start
        if seconds <= 0:
            return {}
        return {s.pair: s.bytes * 8 / seconds / 1e6 for s in self.samples}


class ObservationRounds:
    """Collects one round's flow-stats replies into a :class:`CountedRound`."""

    def __init__(self) -> None:
        self._counters = PairCounters()
        self._round_start: float | None = None
        self._round_time: float | None = None
        self._pending: set[int] = set()
        self._bytes: dict[tuple[str, str], int] = {}

    def begin(self, traffic_time: float, dpids: Iterable[int]) -> CountedRound | None:
        """A round starts: flow stats are requested from ``dpids``.

        Returns the previous round if a switch never answered it (what was counted goes out).
        """
        late = self._close() if self._pending else None
        self._round_start, self._round_time = self._round_time, traffic_time
        self._pending = set(dpids)
        return late

    def flow_stats(
        self,
        dpid: int,
        samples: Iterable[FlowSample],
        is_host_port: Callable[[int, int], bool],
        ip_of_mac: Callable[[str], str | None],
        interval_s: float,
    ) -> CountedRound | None:
        """A switch's complete reply; returns the round once every switch has answered."""
        counted = self._counters.update(samples, is_host_port, ip_of_mac, interval_s)
        for pair, count in counted.items():
            self._bytes[pair] = self._bytes.get(pair, 0) + count
        if dpid not in self._pending:
            return None  # an extra reply (an audit's): its bytes count in this round
        self._pending.discard(dpid)
        return None if self._pending else self._close()

    def forget_switch(self, dpid: int) -> None:
        """A switch went away: its counters start again, the round does not wait for it."""
        self._counters.forget_switch(dpid)
        self._pending.discard(dpid)

    def _close(self) -> CountedRound | None:
        self._pending = set()
        counted, self._bytes = self._bytes, {}
        if self._round_start is None or self._round_time is None:
            return None  # the first round only sets the counters' baseline
        samples = tuple(
            PairSample(PairId(src, dst), count) for (src, dst), count in sorted(counted.items())
        )
        return CountedRound(self._round_start, self._round_time, samples)
