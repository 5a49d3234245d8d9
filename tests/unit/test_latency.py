"""One-way latency from probes: RTT correction, median, unknown until enough samples."""

from __future__ import annotations

from topology.latency import LatencyEstimator
from topology.model import LinkId

LINK = LinkId(1, 2, 3, 4)


def test_unknown_until_rtts_and_enough_samples() -> None:
    est = LatencyEstimator(min_samples=3)
    assert est.probe(LINK, 0.0, 0.010) is None  # no echo RTTs yet
    est.echo_rtt(1, 2.0)
    est.echo_rtt(3, 4.0)
    assert est.probe(LINK, 0.0, 0.023) is None
    assert est.probe(LINK, 1.0, 1.023) is None
    assert est.estimate(LINK) is None


def test_sample_is_trip_minus_half_rtts_and_median_ignores_outlier() -> None:
    est = LatencyEstimator(min_samples=3)
    est.echo_rtt(1, 2.0)
    est.echo_rtt(3, 4.0)
    for sent, trip_ms in [(0.0, 23.0), (1.0, 23.2), (2.0, 80.0), (3.0, 22.8)]:
        est.probe(LINK, sent, sent + trip_ms / 1000)
    # trip - 1 - 2 = 20 ms; the 80 ms probe (busy event loop) is ignored by the median
    estimate = est.estimate(LINK)
    assert estimate is not None and abs(estimate - 20.1) < 0.2


def test_measured_latency_is_never_zero() -> None:
    est = LatencyEstimator(min_samples=1)
    est.echo_rtt(1, 10.0)
    est.echo_rtt(3, 10.0)
    assert est.probe(LINK, 0.0, 0.001) == 0.001  # clock noise below zero floors, not 0


def test_forget_switch_drops_its_links() -> None:
    est = LatencyEstimator(min_samples=1)
    est.echo_rtt(1, 1.0)
    est.echo_rtt(3, 1.0)
    est.probe(LINK, 0.0, 0.005)
    est.forget_switch(3)
    assert est.estimate(LINK) is None and est.switch_rtt(3) is None
