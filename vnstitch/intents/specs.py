"""The three kinds of intent spec, their groups of endpoints, and their JSON bodies.

A spec is what was asked, nothing about where the intent is in its lifecycle (that is
``model``). This module imports nothing else of the package, so imports run one way:
``model`` -> ``parse`` -> ``specs``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, ClassVar, assert_never

from vnstitch.clock import rfc3339
from vnstitch.resources.recurrence import Recurrence
from vnstitch.resources.timeline import Window
from vnstitch.stitcher.request_body import FIELDS as REQUEST_FIELDS
from vnstitch.stitcher.reservation import Origin, ReservationRequest

ZONE_PREFIX = "zone:"


class IntentKind(StrEnum):
    """The ``kind`` field of an intent body."""

    CONNECTIVITY = "connectivity"
    LOW_LATENCY = "low_latency"
    ISOLATION = "isolation"


@dataclass(frozen=True)
class ZoneRef:
    """A group written as ``"zone:NAME"``: every host currently in that zone."""

    zone: str

    def to_body(self) -> str:
        """The JSON form, ``"zone:NAME"``."""
        return ZONE_PREFIX + self.zone


Group = tuple[str, ...] | ZoneRef


def group_body(group: Group) -> list[str] | str:
    """The JSON form of a group: a list of endpoints or ``"zone:NAME"``."""
    return group.to_body() if isinstance(group, ZoneRef) else list(group)


@dataclass(frozen=True)
class ConnectivitySpec:
    """A whole reservation request kept true: every ReservationRequest field but who asked.

    The fields are those of :class:`ReservationRequest` without ``origin`` and ``origin_ref``
    (an intent's requests are always the intent's own), in the same order, then
    ``recurrence``; a unit test keeps the two in step. Building a spec validates it exactly as
    a reservation request is. ``start``/``end`` book one window; ``recurrence`` books its
    occurrences one at a time (never both).
    """

    src: str
    dst: str
    bandwidth_mbps: float = 0.0
    max_latency_ms: float | None = None
    zones: frozenset[str] | None = None
    avoid_zones: frozenset[str] = frozenset()
    bidirectional: bool = True
    ip_proto: int | None = None
    dst_port: int | None = None
    cpu: float = 0.0
    memory_mb: float = 0.0
    storage_gb: float = 0.0
    prefer_latency: bool = False  # lowest-latency feasible path instead of the usual cost
    protection: bool = False  # a backup around every link of the path (fast failover)
    start: float | None = None  # wall clock; None: now
    end: float | None = None  # wall clock; None: open-ended
    recurrence: Recurrence | None = None  # booked occurrence by occurrence

    kind: ClassVar[IntentKind] = IntentKind.CONNECTIVITY

    def __post_init__(self) -> None:
        self.to_request()  # RequestError naming the field, as for POST /v1/reservations

    @property
    def windowed(self) -> bool:
        """True when the intent holds only for a window (or recurring windows)."""
        return self.start is not None or self.end is not None or self.recurrence is not None

    @classmethod
    def from_request(
        cls, request: ReservationRequest, recurrence: Recurrence | None = None
    ) -> ConnectivitySpec:
        """The spec asking for ``request`` (its origin is dropped)."""
        values = {f.name: getattr(request, f.name) for f in fields(cls) if f.name != "recurrence"}
        return cls(**values, recurrence=recurrence)

    def to_request(
        self, origin_ref: str | None = None, occurrence: Window | None = None
    ) -> ReservationRequest:
        """The reservation request this spec asks for, owned by intent ``origin_ref``
        (a recurring one for ``occurrence``)."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "recurrence"}
        if occurrence is not None:
            values["start"], values["end"] = occurrence.start, occurrence.end
        return ReservationRequest(**values, origin=Origin.INTENT, origin_ref=origin_ref)

    def to_body(self) -> dict[str, Any]:
        """The canonical JSON body (parses back to an equal spec)."""
        request = self.to_request().to_dict()
        body: dict[str, Any] = {
            "kind": self.kind.value,
            **{k: v for k, v in request.items() if k in REQUEST_FIELDS},
        }
        if self.start is not None:
            body["start"] = rfc3339(self.start)
        if self.end is not None:
            body["end"] = rfc3339(self.end)
        if self.recurrence is not None:
            body["recurrence"] = self.recurrence.to_dict()
        return body


@dataclass(frozen=True)
class LowLatencySpec:
    """Every pair of ``endpoints``, for ``ports`` over ``protocols`` (no ports: all IPv4)."""

    endpoints: Group
    app: str | None = None
    ports: tuple[int, ...] = ()
    max_latency_ms: float | None = None
    protocols: tuple[str, ...] = ("tcp", "udp")

    kind: ClassVar[IntentKind] = IntentKind.LOW_LATENCY

    def to_body(self) -> dict[str, Any]:
        """The canonical JSON body (parses back to an equal spec)."""
        body: dict[str, Any] = {
            "kind": self.kind.value,
            "app": self.app,
            "endpoints": group_body(self.endpoints),
            "ports": list(self.ports),
            "max_latency_ms": self.max_latency_ms,
        }
        if self.ports:
            body["protocols"] = list(self.protocols)
        return body


@dataclass(frozen=True)
class IsolationSpec:
    """Hosts of group ``a`` and hosts of group ``b`` must not reach each other."""

    a: Group
    b: Group

    kind: ClassVar[IntentKind] = IntentKind.ISOLATION

    def to_body(self) -> dict[str, Any]:
        """The canonical JSON body (parses back to an equal spec)."""
        return {"kind": self.kind.value, "a": group_body(self.a), "b": group_body(self.b)}


IntentSpec = ConnectivitySpec | LowLatencySpec | IsolationSpec


def isolates(spec: IntentSpec) -> bool:
    """True if the spec cuts hosts off from each other, False if it connects them."""
    match spec:
        case IsolationSpec():
            return True
        case ConnectivitySpec() | LowLatencySpec():
            return False
        case _:
            assert_never(spec)
