"""Anomaly detection: a pair whose traffic stays outside its forecast interval for a while."""

from __future__ import annotations

from dataclasses import dataclass, field

from vnstitch.messages import ABOVE, BELOW, PairId


@dataclass(frozen=True)
class Interval:
    """The forecast interval of one pair for one step (Mbit/s)."""

    lower: float
    upper: float


@dataclass(frozen=True)
class Excursion:
    """A pair that has been outside its interval for ``steps`` consecutive steps."""

    pair: PairId
    observed_mbps: float
    interval: Interval
    steps: int
    direction: str


@dataclass
class AnomalyDetector:
    """Counts consecutive out-of-interval steps per pair; reports once per excursion.

    While a pair is outside, it is compared with the forecast path issued *before* the
    excursion began (later forecasts have already followed the anomalous traffic); once that
    path runs out its last interval stays the reference.
    """

    steps_to_report: int = 3
    reported: int = 0
    _streak: dict[PairId, int] = field(default_factory=dict)
    _frozen: dict[PairId, list[Interval]] = field(default_factory=dict)

    def check(
        self, paths: dict[PairId, list[Interval]], observed: dict[PairId, float]
    ) -> list[Excursion]:
        """Compare a step's rates with each pair's forecast path starting at that step."""
        found = []
        for pair, path in paths.items():
            reference = self._frozen.get(pair) or path
            interval = reference[0]
            rate = observed.get(pair, 0.0)
            if interval.lower <= rate <= interval.upper:
                self._streak[pair] = 0
                self._frozen.pop(pair, None)
                continue
            streak = self._streak.get(pair, 0) + 1
            self._streak[pair] = streak
            self._frozen[pair] = reference[1:] or [interval]
            if streak == self.steps_to_report:
                direction = ABOVE if rate > interval.upper else BELOW
                found.append(Excursion(pair, rate, interval, streak, direction))
        self.reported += len(found)
        return found
