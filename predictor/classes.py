"""Traffic classes: what latency bound and security zone a pair's traffic needs.

Configured in TOML, matched on the L4 port, the DSCP and endpoint groups (lists of IPs or
CIDR blocks). Classes are tried in file order; the first whose every given criterion matches
wins. Example::

    [groups]
    storage = ["10.0.1.0/24"]

    [[class]]
    name = "voice"
    dscp = [46]
    latency_bound_ms = 20

    [[class]]
    name = "storage"
    dst_group = "storage"
    ports = [3260, 2049]
    latency_bound_ms = 50
    zone = "secure"

    [default]
    name = "best_effort"
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vnstitch.messages import PairSample

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class TrafficClass:
    """A named class with its match criteria and what it needs from the network."""

    name: str
    latency_bound_ms: float | None = None
    zone: str | None = None  # None: the endpoints' own zone
    dscp: frozenset[int] = frozenset()
    ports: frozenset[int] = frozenset()
    src_group: str | None = None
    dst_group: str | None = None


DEFAULT_CLASS = TrafficClass("default")


def _in_group(ip: str, networks: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in net for net in networks)


@dataclass(frozen=True)
class Classifier:
    """Assigns a traffic class to each observed sample."""

    classes: tuple[TrafficClass, ...] = ()
    groups: dict[str, tuple[Network, ...]] | None = None
    default: TrafficClass = DEFAULT_CLASS

    def _matches(self, cls: TrafficClass, sample: PairSample) -> bool:
        groups = self.groups or {}
        if cls.dscp and sample.dscp not in cls.dscp:
            return False
        if cls.ports and sample.l4_port not in cls.ports:
            return False
        if cls.src_group and not _in_group(sample.pair.src, groups.get(cls.src_group, ())):
            return False
        return not cls.dst_group or _in_group(sample.pair.dst, groups.get(cls.dst_group, ()))

    def rank(self, sample: PairSample) -> int:
        """Position of the matching class (``len(classes)`` for the default); lower wins."""
        for index, cls in enumerate(self.classes):
            if self._matches(cls, sample):
                return index
        return len(self.classes)

    def by_rank(self, rank: int) -> TrafficClass:
        """The class at a rank returned by :meth:`rank`."""
        return self.classes[rank] if rank < len(self.classes) else self.default


def _traffic_class(table: dict[str, Any]) -> TrafficClass:
    bound = table.get("latency_bound_ms")
    return TrafficClass(
        name=str(table["name"]),
        latency_bound_ms=None if bound is None else float(bound),
        zone=table.get("zone"),
        dscp=frozenset(int(d) for d in table.get("dscp", [])),
        ports=frozenset(int(p) for p in table.get("ports", [])),
        src_group=table.get("src_group"),
        dst_group=table.get("dst_group"),
    )


def classifier_from_dict(config: dict[str, Any]) -> Classifier:
    """Build a classifier from parsed TOML; raises ValueError on unknown groups."""
    groups = {
        name: tuple(ipaddress.ip_network(n, strict=False) for n in networks)
        for name, networks in config.get("groups", {}).items()
    }
    classes = tuple(_traffic_class(t) for t in config.get("class", []))
    for cls in classes:
        for group in (cls.src_group, cls.dst_group):
            if group is not None and group not in groups:
                raise ValueError(f"class {cls.name!r} names unknown group {group!r}")
    default = _traffic_class({"name": "default", **config.get("default", {})})
    return Classifier(classes, groups, default)


def load_classifier(path: Path | None) -> Classifier:
    """Read a classes file; no file means every pair is in the default class."""
    if path is None:
        return Classifier()
    with path.open("rb") as handle:
        return classifier_from_dict(tomllib.load(handle))
