"""The records the store keeps: one TypedDict per table, and everything loaded at start.

Every time in a record is wall-clock UTC as RFC 3339 text (``vnstitch.clock.rfc3339``), exactly
as users see it; the store refuses a record whose time is anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict

Counter = Literal["intent", "reservation"]
COUNTERS: tuple[Counter, ...] = ("intent", "reservation")


class IntentHistoryRecord(TypedDict):
    """One state change of an intent: when (RFC 3339), to which state, and why."""

    time: str
    state: str
    reason: str | None


class IntentRecord(TypedDict):
    """An intent (same shape as ``vnstitch.intents.model.IntentRecord``)."""

    id: str
    kind: str
    body: dict[str, Any]
    state: str
    reason: str | None
    created_at: str
    updated_at: str
    reservation_ids: list[int]
    history: list[IntentHistoryRecord]


class DetourRecord(TypedDict):
    """A protected plan's detour around link ``hop`` of one direction (``reverse``)."""

    reverse: bool
    hop: int
    path: list[str]


class GroupIdRecord(TypedDict):
    """The fast-failover group of one direction on one switch."""

    dpid: str
    reverse: bool
    group_id: int


class BookedLinkRecord(TypedDict):
    """What a SCHEDULED reservation's window holds on one directed link (thousandths)."""

    src: str
    src_port: int
    dst: str
    dst_port: int
    units: int


class PlanRecord(TypedDict):
    """The installed plan of a reservation: enough to rebuild its rules exactly.

    Datapath ids are hex strings (they exceed JSON-safe and SQLite integers). ``detours`` and
    ``group_ids`` only for a protected plan (records written before protection have neither).
    """

    version: int
    path: list[str]
    meter_ids: dict[str, int]
    latency_ms: float | None
    detours: NotRequired[list[DetourRecord]]
    group_ids: NotRequired[list[GroupIdRecord]]
    links: NotRequired[list[BookedLinkRecord]]  # a SCHEDULED one: what its window holds


class ReservationRecord(TypedDict):
    """A reservation: the request as JSON, where it is, who asked for it, its plan if any."""

    id: int
    request: dict[str, Any]
    state: str
    reason: str | None
    origin: str
    origin_ref: str | None
    created_at: str
    updated_at: str
    plan: PlanRecord | None


class HostRecord(TypedDict):
    """A host, of the inventory or learned from its packets (``source``).

    ``switch`` is the datapath id of its attachment, if known; ``last_seen`` (RFC 3339) when it
    last sent a packet, None if never.
    """

    name: str
    mac: str
    ip: str | None
    switch: int | None
    port: int | None
    zone: str
    cpu: float
    memory_mb: float
    storage_gb: float
    source: str
    last_seen: str | None


@dataclass
class StoredState:
    """Everything needed to restore the controller, in insertion (intents) or id order."""

    intents: list[IntentRecord] = field(default_factory=list)
    reservations: list[ReservationRecord] = field(default_factory=list)
    hosts: list[HostRecord] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)  # the next id of each counter
