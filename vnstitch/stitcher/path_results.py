"""What a path search is asked for and what it answers: a path, or why there is none."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

ENDPOINT = "endpoint"
CONNECTIVITY = "connectivity"
ZONE = "zone"
BANDWIDTH = "bandwidth"
LATENCY = "latency"

BLAME_ORDER = (ENDPOINT, CONNECTIVITY, ZONE, BANDWIDTH, LATENCY)
"""The order in which a failed search tests constraints; the first that no path meets is
blamed. Equivalently: drop latency, then bandwidth, then zones, and blame the constraint whose
removal first lets a path through. Zones are policy and never negotiable, bandwidth is load
that changes with every reservation, latency the finest-grained wish."""


@dataclass(frozen=True)
class PathRequest:
    """A demand between two switches: bandwidth to reserve, a latency bound, allowed zones.

    ``zones`` lists the security zones the path may cross (None: any); ``avoid_zones`` those
    it must not. Both apply to every switch on the path, endpoints included, and every link.
    """

    src: int
    dst: int
    bandwidth_mbps: float = 0.0
    max_latency_ms: float | None = None
    zones: frozenset[str] | None = None
    avoid_zones: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not math.isfinite(self.bandwidth_mbps) or self.bandwidth_mbps < 0:
            raise ValueError(f"bandwidth must be a finite number >= 0, not {self.bandwidth_mbps}")
        if self.max_latency_ms is not None and not self.max_latency_ms >= 0:
            raise ValueError(f"latency bound must be >= 0 ms, not {self.max_latency_ms}")

    def forbids_zone(self, zone: str) -> bool:
        """True if the request may not cross a switch or link in ``zone``."""
        return zone in self.avoid_zones or (self.zones is not None and zone not in self.zones)


@dataclass(frozen=True)
class PathFound:
    """A path meeting every constraint, with its latency, cost and tightest free bandwidth.

    ``latency_ms`` is the sum of one-way latencies (for a bidirectional path each link's slower
    direction), None when a link is unmeasured; ``cost`` is the documented cost of
    :mod:`vnstitch.stitcher.cost`; ``bottleneck_free_mbps`` the least free bandwidth on the path
    before the request is reserved (inf for a single-switch path).
    """

    path: tuple[int, ...]
    latency_ms: float | None
    cost: float
    bottleneck_free_mbps: float

    @property
    def links(self) -> tuple[tuple[int, int], ...]:
        """The directed links (u, v) the path crosses, in order."""
        return tuple(itertools.pairwise(self.path))


@dataclass(frozen=True)
class NearMiss:
    """The best path that failed the blamed constraint, and how it failed."""

    path: tuple[int, ...]
    latency_ms: float | None
    bottleneck_free_mbps: float
    violation: str


@dataclass(frozen=True)
class NoPath:
    """No path meets the request: the constraint blamed (see BLAME_ORDER) and why."""

    constraint: str
    reason: str
    near_miss: NearMiss | None = None


PathResult = PathFound | NoPath
