"""Endpoints and groups of an intent resolved to hosts of the NTD."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from topology.database import TopologyDatabase
from topology.model import Host
from vnstitch.intents.specs import Group, ZoneRef


class HostDirectory(Protocol):
    """What intents need from the NTD: a host by name, IP or MAC, and the hosts of a zone."""

    def find_host(self, key: str) -> Host | None:
        """The host with this name, IPv4 or MAC address, if known."""
        ...

    def hosts_in_zone(self, zone: str) -> list[Host]:
        """The hosts currently in ``zone``."""
        ...


class NtdDirectory:
    """A HostDirectory over a live TopologyDatabase."""

    def __init__(self, db: TopologyDatabase) -> None:
        self.db = db

    def find_host(self, key: str) -> Host | None:
        """The host with this name, IPv4 or MAC address, if known."""
        return self.db.find_host(key)

    def hosts_in_zone(self, zone: str) -> list[Host]:
        """The hosts currently in ``zone``, by name."""
        return sorted((h for h in self.db.hosts.values() if h.zone == zone), key=lambda h: h.name)


@dataclass(frozen=True)
class ResolvedGroup:
    """The distinct hosts a group names now, and the endpoints that name no known host."""

    hosts: tuple[Host, ...]
    missing: tuple[str, ...]


def resolve_group(group: Group, directory: HostDirectory) -> ResolvedGroup:
    """Resolve a group; a host named twice (by name and by IP, say) appears once."""
    if isinstance(group, ZoneRef):
        found = list(directory.hosts_in_zone(group.zone))
        missing: list[str] = []
    else:
        looked_up = [(e, directory.find_host(e)) for e in group]
        found = [h for _, h in looked_up if h is not None]
        missing = [e for e, h in looked_up if h is None]
    distinct: dict[str, Host] = {}
    for host in found:
        distinct.setdefault(host.mac, host)
    return ResolvedGroup(tuple(distinct.values()), tuple(missing))


def endpoint_key(endpoint: str, directory: HostDirectory) -> str:
    """The identity of an endpoint: its host's MAC if known, else the endpoint as written."""
    host = directory.find_host(endpoint)
    return host.mac if host is not None else endpoint.lower()
