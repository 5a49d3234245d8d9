"""Great-circle distance between sites and the fibre latency it implies."""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0
"""Mean Earth radius (IUGG), used by the haversine formula."""

FIBRE_MS_PER_KM = 0.005
"""One-way propagation delay of light in fibre: about 5 microseconds per kilometre."""


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance in km along the Earth's surface between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def fibre_latency_ms(distance_km: float) -> float:
    """One-way latency in ms of a fibre run of ``distance_km`` (5 µs per km)."""
    return distance_km * FIBRE_MS_PER_KM
