"""Reservations: what was asked, what was granted, and where in its lifecycle it is.

Times are wall-clock seconds since the epoch (the ``now`` the core is given); the REST form
renders them in RFC 3339.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from topology.model import LinkId
from vnstitch.clock import rfc3339, rfc3339_or_none
from vnstitch.resources.backup import Cable
from vnstitch.rules.model import FlowRule, GroupSpec, MeterSpec


class State(StrEnum):
    """Lifecycle: PENDING -> INSTALLING -> ACTIVE; FAILED, DEGRADED (retrying), RELEASED.

    A reservation for a later window is SCHEDULED until its lead time, and ENDED after it.
    """

    SCHEDULED = "SCHEDULED"
    PENDING = "PENDING"
    INSTALLING = "INSTALLING"
    ACTIVE = "ACTIVE"
    DEGRADED = "DEGRADED"
    FAILED = "FAILED"
    RELEASED = "RELEASED"
    ENDED = "ENDED"


class Origin(StrEnum):
    """Who asked: a REST request, the static config, a forecast, an intent."""

    REQUEST = "request"
    CONFIG = "config"
    PREDICTED = "predicted"
    INTENT = "intent"


class RequestError(ValueError):
    """A reservation request is malformed; ``field`` names the offending field."""

    def __init__(self, message: str, field_name: str | None = None) -> None:
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class ReservationRequest:
    """A demand between two endpoints (host name, IP or MAC); only src and dst are required."""

    src: str
    dst: str
    bandwidth_mbps: float = 0.0
    max_latency_ms: float | None = None
    zones: frozenset[str] | None = None
    avoid_zones: frozenset[str] = frozenset()
    bidirectional: bool = True
    ip_proto: int | None = None
    dst_port: int | None = None
    origin: Origin = Origin.REQUEST
    origin_ref: str | None = None
    cpu: float = 0.0
    memory_mb: float = 0.0
    storage_gb: float = 0.0
    prefer_latency: bool = False  # lowest-latency feasible path instead of the usual cost
    protection: bool = False  # a backup around every link of the path, booked and installed
    start: float | None = None  # wall clock; None: now (``vnstitch.stitcher.schedule``)
    end: float | None = None  # wall clock; None: open-ended

    def __post_init__(self) -> None:
        if not self.src or not self.dst:
            raise RequestError("src and dst are required", "src" if not self.src else "dst")
        if self.src == self.dst:
            raise RequestError("src and dst must be different endpoints", "dst")
        if not math.isfinite(self.bandwidth_mbps) or self.bandwidth_mbps < 0:
            raise RequestError("bandwidth_mbps must be a number >= 0", "bandwidth_mbps")
        lat = self.max_latency_ms
        if lat is not None and (not math.isfinite(lat) or lat <= 0):
            raise RequestError("max_latency_ms must be a number > 0", "max_latency_ms")
        for name in ("cpu", "memory_mb", "storage_gb"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise RequestError(f"{name} must be a number >= 0", name)
        if self.dst_port is not None and self.ip_proto not in (6, 17):
            raise RequestError("dst_port needs ip_proto 6 (TCP) or 17 (UDP)", "ip_proto")

    @property
    def windowed(self) -> bool:
        """True for a booking with a start or an end (an advance reservation)."""
        return self.start is not None or self.end is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "src": self.src,
            "dst": self.dst,
            "bandwidth_mbps": self.bandwidth_mbps,
            "max_latency_ms": self.max_latency_ms,
            "zones": None if self.zones is None else sorted(self.zones),
            "avoid_zones": sorted(self.avoid_zones),
            "bidirectional": self.bidirectional,
            "ip_proto": self.ip_proto,
            "dst_port": self.dst_port,
            "origin": self.origin.value,
            "origin_ref": self.origin_ref,
            "cpu": self.cpu,
            "memory_mb": self.memory_mb,
            "storage_gb": self.storage_gb,
            "prefer_latency": self.prefer_latency,
            "protection": self.protection,
            "start": rfc3339_or_none(self.start),
            "end": rfc3339_or_none(self.end),
        }


@dataclass(frozen=True, slots=True)
class Detour:
    """The backup around one link of a protected path (``vnstitch.stitcher.protection``).

    ``hop`` is the index of the protected link in its direction's path (``reverse``: the
    reverse path); ``path`` the switches the detour crosses, from the link's upstream switch to
    where it rejoins the path downstream (or joins another detour of the same direction).
    """

    reverse: bool
    hop: int
    path: tuple[int, ...]


BackupDemand = dict[Cable, dict[LinkId, float]]  # failed cable -> directed link -> Mbit/s


@dataclass(frozen=True)
class PathPlan:
    """Everything one version of a reservation puts on the switches, and what it books.

    A protected plan also holds its fast-failover ``groups`` (one per link of each direction's
    path, on the link's upstream switch), the ``detours`` they fail over to (their rules are in
    ``rules``), and ``backup``: per cable of the path, the bandwidth its detours take on each
    link when that cable fails (booked in the shared backup pool, ``vnstitch.resources.backup``).
    """

    version: int
    path: tuple[int, ...]
    reverse_path: tuple[int, ...]
    rules: tuple[FlowRule, ...]
    ingress: tuple[FlowRule, ...]
    meters: tuple[MeterSpec, ...]
    demands: dict[Any, float]
    latency_ms: float | None
    meter_rate_mbps: float
    groups: tuple[GroupSpec, ...] = ()
    detours: tuple[Detour, ...] = ()
    backup: BackupDemand = field(default_factory=dict)
    group_ids: dict[tuple[int, bool], int] = field(default_factory=dict)  # (dpid, reverse) -> id
    # (reverse, hop) -> the direction's one-way latency while that link is failed over to its
    # detour (None: a link of that way is unmeasured)
    failover_latency_ms: dict[tuple[bool, int], float | None] = field(default_factory=dict)

    def all_rules(self) -> tuple[FlowRule, ...]:
        """Transit and egress rules, then the ingress rules."""
        return self.rules + self.ingress

    @property
    def protected(self) -> bool:
        """True when the plan installs a backup (a path of one switch has nothing to protect)."""
        return bool(self.detours) or len(self.path) == 1


@dataclass(frozen=True)
class StoredPlan:
    """What the store keeps of an installed plan: enough to compile the same rules again."""

    version: int
    path: tuple[int, ...]
    meter_ids: dict[int, int]  # ingress switch -> meter id
    latency_ms: float | None
    detours: tuple[Detour, ...] = ()  # a protected plan's backups
    group_ids: dict[tuple[int, bool], int] = field(default_factory=dict)  # (dpid, reverse) -> id
    # (reverse, hop) -> the direction's one-way latency while that link is failed over to its
    # detour (None: a link of that way is unmeasured)
    failover_latency_ms: dict[tuple[bool, int], float | None] = field(default_factory=dict)

    @staticmethod
    def of(plan: PathPlan) -> StoredPlan:
        """The stored form of ``plan``."""
        return StoredPlan(
            plan.version,
            plan.path,
            {m.dpid: m.meter_id for m in plan.meters},
            plan.latency_ms,
            plan.detours,
            dict(plan.group_ids),
        )


@dataclass
class Reservation:
    """A reservation and its current plan."""

    id: int
    request: ReservationRequest
    state: State = State.PENDING
    plan: PathPlan | None = None
    reason: str | None = None
    version: int = 0
    created_at: float = 0.0  # wall clock, like every time here
    updated_at: float = 0.0
    installed_at: float | None = None  # None until first installed
    protected: bool = False  # a working backup is installed around every link of its path
    install_at: float | None = None  # a windowed one: when it is installed (start - lead)
    history: list[tuple[float, str, str | None]] = field(default_factory=list)

    def set_state(self, state: State, now: float, reason: str | None = None) -> None:
        """Move to ``state`` and remember why."""
        self.state = state
        self.reason = reason
        self.updated_at = now
        self.history.append((now, state.value, reason))
        del self.history[:-20]

    def to_dict(self) -> dict[str, Any]:
        """The REST representation."""
        plan = self.plan
        return {
            "id": str(self.id),
            "state": self.state.value,
            **self.request.to_dict(),
            "path": [f"{d:016x}" for d in plan.path] if plan else [],
            "reverse_path": [f"{d:016x}" for d in plan.reverse_path] if plan else [],
            "latency_ms": None
            if plan is None or plan.latency_ms is None
            else round(plan.latency_ms, 3),
            "meter_rate_mbps": round(plan.meter_rate_mbps, 3) if plan else None,
            "version": self.version,
            "reason": self.reason,
            "predicted": self.request.origin is Origin.PREDICTED,
            "protected": self.protected,
            "backup": backup_view(plan, self.request.max_latency_ms) if plan else [],
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
            "installed_at": rfc3339_or_none(self.installed_at),
            "install_at": rfc3339_or_none(self.install_at),
            "history": [
                {"time": rfc3339(t), "state": state, "reason": reason}
                for t, state, reason in self.history
            ],
        }


def backup_view(plan: PathPlan, bound_ms: float | None = None) -> list[dict[str, Any]]:
    """The REST form of a plan's detours: which link each protects, the way around it, and
    the direction's latency while it is in use (within the request's bound, if it has one)."""
    out = []
    for detour in plan.detours:
        path = plan.reverse_path if detour.reverse else plan.path
        latency = plan.failover_latency_ms.get((detour.reverse, detour.hop))
        out.append(
            {
                "direction": "reverse" if detour.reverse else "forward",
                "around": [f"{d:016x}" for d in path[detour.hop : detour.hop + 2]],
                "path": [f"{d:016x}" for d in detour.path],
                "latency_ms": None if latency is None else round(latency, 3),
                "within_bound": None
                if bound_ms is None or latency is None
                else latency <= bound_ms,
            }
        )
    return out


def failover_beyond_bound(plan: PathPlan, bound_ms: float | None) -> str | None:
    """Why a failover of ``plan`` would break the latency bound (the worst one), or None."""
    if bound_ms is None:
        return None
    worst: tuple[float, Detour] | None = None
    for detour in plan.detours:
        latency = plan.failover_latency_ms.get((detour.reverse, detour.hop))
        if latency is not None and latency > bound_ms and (worst is None or latency > worst[0]):
            worst = (latency, detour)
    if worst is None:
        return None
    latency, detour = worst
    path = plan.reverse_path if detour.reverse else plan.path
    link = "-".join(f"{d:016x}" for d in path[detour.hop : detour.hop + 2])
    return (
        f"a failover would exceed the latency bound: {latency:.2f} ms > {bound_ms:g} ms"
        f" with link {link} down"
    )
