"""The controller's latest forecast per pair, from batches that may arrive out of order.

A pair's forecast is replaced only by one that starts later (or as late, from a later batch of
the same predictor): a restarted predictor's first batch therefore wins as soon as it is newer
in time, and a late, older batch never overwrites a newer one. Provisioning reads
:attr:`ForecastBook.forecasts`; :meth:`ForecastBook.prune` drops what has expired. A batch
with a forecast valid further ahead than the configured horizon (:func:`beyond_horizon`) is
not taken at all: a predicted reservation holds capacity until its forecast ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from vnstitch.messages import ForecastBatch, PairForecast, PairId


@dataclass(frozen=True, slots=True)
class BookedForecast:
    """A pair's forecast and the batch it came in (for reports)."""

    forecast: PairForecast
    source: str
    seq: int
    model_version: str
    quantile: float
    received_at: float  # traffic time it was taken


def beyond_horizon(batch: ForecastBatch, latest: float) -> PairForecast | None:
    """The first forecast of ``batch`` still valid after ``latest`` (now + horizon), if any."""
    return next((f for f in batch.forecasts if f.valid_until > latest), None)


class ForecastBook:
    """Newest forecast per pair; see the module docstring for what "newest" means."""

    def __init__(self) -> None:
        self.entries: dict[PairId, BookedForecast] = {}

    @property
    def forecasts(self) -> dict[PairId, PairForecast]:
        """The forecast of every pair, for provisioning."""
        return {pair: entry.forecast for pair, entry in self.entries.items()}

    def update(self, batch: ForecastBatch, received_at: float = 0.0) -> int:
        """Take the newer forecasts of a batch; returns how many replaced or added one."""
        taken = 0
        for forecast in batch.forecasts:
            held = self.entries.get(forecast.pair)
            newer = held is None or forecast.valid_from > held.forecast.valid_from
            same_time_later = (
                held is not None
                and forecast.valid_from == held.forecast.valid_from
                and batch.source == held.source
                and batch.seq > held.seq
            )
            if newer or same_time_later:
                self.entries[forecast.pair] = BookedForecast(
                    forecast,
                    batch.source,
                    batch.seq,
                    batch.model_version,
                    batch.quantile,
                    received_at,
                )
                taken += 1
        return taken

    def prune(self, now: float) -> None:
        """Forget forecasts whose validity has ended."""
        for pair in [p for p, e in self.entries.items() if e.forecast.valid_until <= now]:
            del self.entries[pair]
