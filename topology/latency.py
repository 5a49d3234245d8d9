"""One-way link latency from timestamped discovery probes, corrected by echo RTTs.

A probe leaves the controller at ``sent`` as a packet-out on switch A, crosses the link A->B
and comes back as a packet-in from B at ``received``. Its trip is: controller->A (about half
of A's echo RTT) + the link + B->controller (about half of B's echo RTT). So one sample is
``(received - sent) - rtt_A/2 - rtt_B/2``. Samples and RTTs are kept in short windows and the
estimate is the median, which shrugs off a probe delayed by a busy event loop.
"""

from __future__ import annotations

from collections import deque
from statistics import median

from topology.model import Dpid, LinkId

WINDOW = 9
MIN_SAMPLES = 3
FLOOR_MS = 0.001  # a measured latency is never reported as 0 (0 would read as "unknown")


class LatencyEstimator:
    """Keeps echo RTTs per switch and probe delays per link; answers median one-way latency."""

    def __init__(self, window: int = WINDOW, min_samples: int = MIN_SAMPLES):
        self._window = window
        self._min_samples = min_samples
        self._rtt_ms: dict[Dpid, deque[float]] = {}
        self._samples_ms: dict[LinkId, deque[float]] = {}

    def echo_rtt(self, dpid: Dpid, rtt_ms: float) -> None:
        """Record one controller<->switch echo round trip."""
        self._rtt_ms.setdefault(dpid, deque(maxlen=self._window)).append(rtt_ms)

    def switch_rtt(self, dpid: Dpid) -> float | None:
        """Median echo RTT of a switch, if any was measured."""
        rtts = self._rtt_ms.get(dpid)
        return median(rtts) if rtts else None

    def probe(self, link_id: LinkId, sent_s: float, received_s: float) -> float | None:
        """Record a probe's trip over ``link_id``; return the current estimate in ms, if any."""
        rtt_a = self.switch_rtt(link_id.src)
        rtt_b = self.switch_rtt(link_id.dst)
        if rtt_a is None or rtt_b is None:
            return None
        sample = (received_s - sent_s) * 1000.0 - rtt_a / 2 - rtt_b / 2
        self._samples_ms.setdefault(link_id, deque(maxlen=self._window)).append(sample)
        return self.estimate(link_id)

    def estimate(self, link_id: LinkId) -> float | None:
        """Median one-way latency in ms, or None until enough samples were seen."""
        samples = self._samples_ms.get(link_id)
        if samples is None or len(samples) < self._min_samples:
            return None
        return max(FLOOR_MS, median(samples))

    def forget_switch(self, dpid: Dpid) -> None:
        """Drop everything measured about a switch that went away."""
        self._rtt_ms.pop(dpid, None)
        for lid in [lid for lid in self._samples_ms if dpid in (lid.src, lid.dst)]:
            del self._samples_ms[lid]

    def forget_link(self, link_id: LinkId) -> None:
        """Drop the samples of a link that went away."""
        self._samples_ms.pop(link_id, None)
