"""Answers of the resource ledger: admissions, shortfalls, holdings and per-key usage."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from topology.model import LinkId
from vnstitch.resources.keys import NodeResource, ResourceKey

OwnerT = TypeVar("OwnerT", bound=Hashable)


def describe_key(key: ResourceKey) -> str:
    """A short human name for a resource key, for messages and logs."""
    if isinstance(key, NodeResource):
        return f"{key.kind.value}@{key.node}"
    return f"link {key.src}:{key.src_port}->{key.dst}:{key.dst_port}"


@dataclass(frozen=True)
class Shortfall:
    """One key that cannot be granted: what was asked and what was free for the asker."""

    asked: float
    free: float


@dataclass(frozen=True)
class Admission:
    """The answer to "would these demands fit?"; empty ``shortfalls`` means yes."""

    shortfalls: Mapping[ResourceKey, Shortfall]

    @property
    def ok(self) -> bool:
        """True when every demanded key fits."""
        return not self.shortfalls

    def __bool__(self) -> bool:
        return self.ok


class InsufficientResources(Exception):
    """An allocation was refused; nothing changed. ``shortfalls`` names the keys that lack."""

    def __init__(self, owner: Hashable, shortfalls: Mapping[ResourceKey, Shortfall]) -> None:
        self.owner = owner
        self.shortfalls = dict(shortfalls)
        named = ", ".join(
            f"{describe_key(key)} (asked {s.asked:g}, free {s.free:g})"
            for key, s in self.shortfalls.items()
        )
        super().__init__(f"insufficient resources for {owner!r}: {named}")


class MoveInProgress(Exception):
    """The owner is in the middle of a make-before-break move; commit or abort it first."""


@dataclass(frozen=True)
class Holding(Generic[OwnerT]):
    """What one owner holds, per resource key, in public units."""

    owner: OwnerT
    amounts: Mapping[ResourceKey, float]

    def links(self) -> list[LinkId]:
        """The directed links this holding books bandwidth (or a zero claim) on."""
        return sorted(key for key in self.amounts if isinstance(key, LinkId))


@dataclass(frozen=True)
class Usage:
    """The state of one resource key."""

    capacity: float
    usable: float
    reserved: float
    owners: int

    @property
    def free(self) -> float:
        """What a new allocation could still get (never negative)."""
        return max(0.0, self.usable - self.reserved)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "capacity": self.capacity,
            "usable": self.usable,
            "reserved": self.reserved,
            "free": self.free,
            "owners": self.owners,
        }


@dataclass(frozen=True)
class LinkUsage:
    """One row of the ``GET /v1/links`` view: a directed link and its booking."""

    link_id: LinkId
    usage: Usage

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the link id fields followed by the usage fields."""
        return {**self.link_id.to_dict(), **self.usage.to_dict()}


__all__ = [
    "Admission",
    "Holding",
    "InsufficientResources",
    "LinkUsage",
    "MoveInProgress",
    "OwnerT",
    "Shortfall",
    "Usage",
    "describe_key",
]
