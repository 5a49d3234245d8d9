"""Configured attributes of topology elements: security zones, link capacities, host names."""

from __future__ import annotations

from dataclasses import dataclass, field

from topology.model import DEFAULT_ZONE, Dpid, dpid_str


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


@dataclass
class ZoneMap:
    """Lookup of configured zones and capacities; unconfigured elements are in ``default``."""

    switch_zones: dict[str, str] = field(default_factory=dict)  # switch name or dpid hex
    switch_locations: dict[str, tuple[float, float]] = field(default_factory=dict)  # lat, lon
    link_zones: dict[tuple[str, str], str] = field(default_factory=dict)  # unordered names
    link_capacities: dict[tuple[str, str], float] = field(default_factory=dict)
    host_zones: dict[str, str] = field(default_factory=dict)  # host name, IP or MAC
    host_names: dict[str, str] = field(default_factory=dict)  # IP or MAC -> name

    def switch_zone(self, dpid: Dpid, name: str) -> str:
        """Zone of a switch, by its name or its dpid."""
        return self.switch_zones.get(name) or self.switch_zones.get(dpid_str(dpid), DEFAULT_ZONE)

    def switch_location(self, dpid: Dpid, name: str) -> tuple[float, float] | None:
        """Configured (latitude, longitude) of a switch, by its name or its dpid."""
        return self.switch_locations.get(name) or self.switch_locations.get(dpid_str(dpid))

    def link_zone(self, a: str, b: str) -> str:
        """Zone of the cable between switches ``a`` and ``b``."""
        return self.link_zones.get(_pair(a, b), DEFAULT_ZONE)

    def link_capacity(self, a: str, b: str) -> float | None:
        """Configured capacity of the cable between ``a`` and ``b`` in Mbit/s, if any."""
        return self.link_capacities.get(_pair(a, b))

    def host_zone(self, name: str, ip: str | None, mac: str) -> str:
        """Zone of a host by name, IP or MAC."""
        for key in (name, ip, mac):
            if key and key in self.host_zones:
                return self.host_zones[key]
        return DEFAULT_ZONE

    def host_name_for(self, ip: str | None, mac: str) -> str | None:
        """Configured name of a host seen with this IP or MAC."""
        for key in (ip, mac):
            if key and key in self.host_names:
                return self.host_names[key]
        return None

    def set_link(self, a: str, b: str, zone: str | None, capacity_mbps: float | None) -> None:
        """Configure a cable's zone and/or capacity."""
        if zone is not None:
            self.link_zones[_pair(a, b)] = zone
        if capacity_mbps is not None:
            self.link_capacities[_pair(a, b)] = capacity_mbps
