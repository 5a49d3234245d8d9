"""One step's per-pair byte counts for the predictor (made by ``step_alignment``).

The bytes each endpoint pair sent — counted once, at the pair's ingress
(``vnstitch.predictive.pair_counters``) — over one step of the grid.
"""

from __future__ import annotations

from dataclasses import dataclass

from vnstitch.messages import PairId, PairSample


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
