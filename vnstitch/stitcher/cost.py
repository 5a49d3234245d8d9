"""The cost the stitcher minimises when it picks a path: latency, utilisation and hops.

For a request of ``b`` Mbit/s crossing a directed link with capacity ``C`` and ``F`` Mbit/s
free (as the resource manager reports it), the link costs, in millisecond-equivalents::

    cost = latency_ms                          measured one-way latency; an unmeasured link
                                               counts as ``unknown_latency_ms`` (a request
                                               with a latency bound never uses one)
         + utilisation_ms * utilisation_after ** utilisation_power
                                               utilisation_after = (C - F + b) / C, the share
                                               of the link reserved once this request is on
                                               it, clamped at 0 below (0 for C <= 0)
         + hop_ms                              per link, so that of two equally fast paths
                                               the one through fewer switches wins

A path costs the sum over its links. For a bidirectional request each link counts its slower
direction's latency and its busier direction's utilisation. With the defaults a path is
chosen mostly by latency, a link that would be full after the request costs as much as
``utilisation_ms`` extra of latency, and a hop as much as ``hop_ms``.

Other weights are a setting of the stitch service (``StitchService(weights=...)``):
:func:`balancing_weights` makes utilisation dominate latency (hundreds of ms per full link), the
cost that traffic engineering (``predictor.te``) and the controller's re-optimisation
(``vnstitch.stitcher.moves``) place with; a ``utilisation_power`` above 1 makes busy links
dearer still (convex, like the Fortz-Thorup link cost).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_UNKNOWN_LATENCY_MS = 5.0
"""Cost stand-in for an unmeasured link: above any metro/regional link's one-way latency, so
measured routes win unless they are far slower; a bounded request never uses such a link."""

DEFAULT_UTILISATION_MS = 1.0
"""Extra cost of a link that would be full after the request (linear in utilisation)."""

DEFAULT_HOP_MS = 0.05
"""Cost of each link crossed, whatever its latency: prefers fewer switches on near-ties."""


@dataclass(frozen=True)
class CostWeights:
    """The weights of the path cost: see the module docstring for the formula."""

    unknown_latency_ms: float = DEFAULT_UNKNOWN_LATENCY_MS
    utilisation_ms: float = DEFAULT_UTILISATION_MS
    hop_ms: float = DEFAULT_HOP_MS
    utilisation_power: float = 1.0

    def __post_init__(self) -> None:
        for name in ("unknown_latency_ms", "utilisation_ms", "hop_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"cost weight {name} must not be negative")
        if self.utilisation_power < 1:
            raise ValueError("cost weight utilisation_power must be at least 1")

    def utilisation_cost(self, utilisation_after: float) -> float:
        """The utilisation term of one link's cost."""
        if utilisation_after <= 0:
            return 0.0
        return float(self.utilisation_ms * utilisation_after**self.utilisation_power)

    def link_cost(self, latency_ms: float | None, utilisation_after: float) -> float:
        """Cost of crossing one link with this latency and post-request utilisation."""
        latency = self.unknown_latency_ms if latency_ms is None else latency_ms
        return latency + self.utilisation_cost(utilisation_after) + self.hop_ms


DEFAULT_WEIGHTS = CostWeights()

BALANCING_UTILISATION_MS = 300.0
"""Utilisation weight that balances load: a full link costs as much as 300 ms of latency
(chosen for placement on Abilene days 9-10, docs/BENCHMARKS.md 2026-11-29)."""


def balancing_weights(
    utilisation_ms: float = BALANCING_UTILISATION_MS, utilisation_power: float = 1.0
) -> CostWeights:
    """The default cost with utilisation dominant: the least-loaded path, latency breaks ties."""
    return CostWeights(
        DEFAULT_WEIGHTS.unknown_latency_ms,
        utilisation_ms,
        DEFAULT_WEIGHTS.hop_ms,
        utilisation_power,
    )


def utilisation_after(capacity_mbps: float, free_mbps: float, bandwidth_mbps: float) -> float:
    """Share of a link's capacity reserved once ``bandwidth_mbps`` more is put on it."""
    if capacity_mbps <= 0:
        return 0.0
    return max(0.0, (capacity_mbps - free_mbps + bandwidth_mbps) / capacity_mbps)
