"""Seeding the live history from a trace, so forecasts start with the past a replay skips.

A time-compressed replay starts its traffic at some moment of a trace; the predictor should
already know the days before it, as it would after running that long. The trace's steps that
end at or before ``until`` become the engine's history; trace node ``i`` is the host at
``first_ip + i`` (the test bed's numbering) unless the node names are IPv4 addresses already.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from predictor.trace import Trace
from vnstitch.messages import PairId

DEFAULT_FIRST_IP = "10.0.0.1"


@dataclass(frozen=True)
class SeedHistory:
    """Past rates (steps, pairs) in Mbit/s; row 0 starts at ``start`` (epoch seconds)."""

    rates: np.ndarray
    pairs: list[PairId]
    start: float
    step_seconds: float

    @property
    def until(self) -> float:
        """End of the last seeded step: live observations continue from here."""
        return self.start + int(self.rates.shape[0]) * self.step_seconds


def parse_moment(text: str) -> float:
    """Epoch seconds from a number, ``YYYYMMDD-HHMM`` (UTC) or an ISO 8601 time (UTC if naive)."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.strptime(text, "%Y%m%d-%H%M")
    except ValueError:
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def host_addresses(nodes: tuple[str, ...], first_ip: str = DEFAULT_FIRST_IP) -> list[str]:
    """The IPv4 address of each trace node: its name if that is one, else ``first_ip + i``."""
    try:
        return [str(ipaddress.IPv4Address(n)) for n in nodes]
    except ValueError:
        first = ipaddress.IPv4Address(first_ip)
        return [str(first + i) for i in range(len(nodes))]


def seed_from_trace(trace: Trace, until: float, first_ip: str = DEFAULT_FIRST_IP) -> SeedHistory:
    """The steps of ``trace`` that end at or before ``until``.

    Raises ValueError when no step ends by ``until``.
    """
    steps = min(math.floor((until - trace.start) / trace.step_seconds + 1e-9), trace.steps)
    if steps <= 0:
        raise ValueError(f"the trace starts after the seed end ({until:.0f})")
    ips = host_addresses(trace.nodes, first_ip)
    n = len(ips)
    pairs = [PairId(ips[i], ips[j]) for i in range(n) for j in range(n) if i != j]
    rates = trace.series()[:steps]
    return SeedHistory(rates, pairs, trace.start, trace.step_seconds)
