"""The records the store keeps: one TypedDict per table, and everything loaded at start."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

Counter = Literal["intent", "reservation"]
COUNTERS: tuple[Counter, ...] = ("intent", "reservation")


class IntentRecord(TypedDict):
    """An intent (same shape as ``vnstitch.intents.model.IntentRecord``)."""

    id: str
    kind: str
    body: dict[str, Any]
    state: str
    reason: str | None
    created_at: float
    updated_at: float
    reservation_ids: list[int]
    history: list[dict[str, Any]]


class ReservationRecord(TypedDict):
    """A reservation: the request as JSON, where it is, and who asked for it."""

    id: int
    request: dict[str, Any]
    state: str
    reason: str | None
    origin: str
    origin_ref: str | None
    created_at: float
    updated_at: float


class HostRecord(TypedDict):
    """A host of the inventory; ``switch`` is the datapath id of its attachment, if known."""

    name: str
    mac: str
    ip: str | None
    switch: int | None
    port: int | None
    zone: str
    cpu: float
    memory_mb: float
    storage_gb: float


@dataclass
class StoredState:
    """Everything needed to restore the controller, in insertion (intents) or id order."""

    intents: list[IntentRecord] = field(default_factory=list)
    reservations: list[ReservationRecord] = field(default_factory=list)
    hosts: list[HostRecord] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)  # the next id of each counter
