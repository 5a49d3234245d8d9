"""The intent, its three kinds of spec, and its REST and storage forms."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, TypedDict

INTENT_ID_PREFIX = "intent-"
ZONE_PREFIX = "zone:"
HISTORY_LIMIT = 20


class IntentState(StrEnum):
    """SUBMITTED -> COMPILING -> INSTALLING -> INSTALLED, or FAILED; WITHDRAWING -> WITHDRAWN."""

    SUBMITTED = "SUBMITTED"
    COMPILING = "COMPILING"
    INSTALLING = "INSTALLING"
    INSTALLED = "INSTALLED"
    FAILED = "FAILED"
    WITHDRAWING = "WITHDRAWING"
    WITHDRAWN = "WITHDRAWN"


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
    """Connect ``src`` and ``dst`` with optional bandwidth, latency and zone constraints."""

    src: str
    dst: str
    bandwidth_mbps: float = 0.0
    max_latency_ms: float | None = None
    zones: frozenset[str] | None = None
    avoid_zones: frozenset[str] = frozenset()
    bidirectional: bool = True
    ip_proto: int | None = None
    dst_port: int | None = None

    kind: ClassVar[IntentKind] = IntentKind.CONNECTIVITY

    def to_body(self) -> dict[str, Any]:
        """The canonical JSON body (parses back to an equal spec)."""
        return {
            "kind": self.kind.value,
            "src": self.src,
            "dst": self.dst,
            "bandwidth_mbps": self.bandwidth_mbps,
            "max_latency_ms": self.max_latency_ms,
            "zones": None if self.zones is None else sorted(self.zones),
            "avoid_zones": sorted(self.avoid_zones),
            "bidirectional": self.bidirectional,
            "ip_proto": self.ip_proto,
            "dst_port": self.dst_port,
        }


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


@dataclass(frozen=True)
class HistoryEntry:
    """One state change: when, to which state, and why."""

    time: float
    state: IntentState
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"time": self.time, "state": self.state.value, "reason": self.reason}


class IntentRecord(TypedDict):
    """The storage form of an intent (one row of the store's ``intents`` table)."""

    id: str
    kind: str
    body: dict[str, Any]
    state: str
    reason: str | None
    created_at: float
    updated_at: float
    reservation_ids: list[int]
    history: list[dict[str, Any]]


def intent_id(number: int) -> str:
    """The id of the intent numbered ``number`` (``"intent-<n>"``)."""
    if number < 1:
        raise ValueError(f"intent numbers start at 1, got {number}")
    return f"{INTENT_ID_PREFIX}{number}"


def intent_number(ident: str) -> int:
    """The number in an intent id; ValueError if ``ident`` is not ``"intent-<n>"``."""
    digits = ident.removeprefix(INTENT_ID_PREFIX)
    if digits == ident or not digits.isdecimal() or int(digits) < 1 or digits[0] == "0":
        raise ValueError(f"not an intent id: {ident!r}")
    return int(digits)


@dataclass(frozen=True)
class Intent:
    """A submitted intent: its spec, where it is in its lifecycle, what it holds."""

    id: str
    spec: IntentSpec
    state: IntentState = IntentState.SUBMITTED
    reason: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    reservation_ids: tuple[int, ...] = ()
    history: tuple[HistoryEntry, ...] = field(default_factory=tuple)

    @property
    def kind(self) -> IntentKind:
        """The kind of the spec."""
        return self.spec.kind

    @property
    def number(self) -> int:
        """The numeric part of the id (the cookie owner of the intent's rules)."""
        return intent_number(self.id)

    def to_dict(self) -> dict[str, Any]:
        """The REST representation."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "state": self.state.value,
            "reason": self.reason,
            "spec": self.spec.to_body(),
            "reservations": [str(r) for r in self.reservation_ids],
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "history": [h.to_dict() for h in self.history],
        }

    def to_record(self) -> IntentRecord:
        """The storage form; ``Intent.from_record`` restores an equal intent."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "body": self.spec.to_body(),
            "state": self.state.value,
            "reason": self.reason,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "reservation_ids": list(self.reservation_ids),
            "history": [h.to_dict() for h in self.history],
        }

    @staticmethod
    def from_record(record: IntentRecord) -> Intent:
        """Rebuild an intent from its storage form; IntentError if the body is invalid."""
        from vnstitch.intents.parse import parse_intent  # parse imports this module

        return Intent(
            id=record["id"],
            spec=parse_intent(record["body"]),
            state=IntentState(record["state"]),
            reason=record["reason"],
            created_at=record["created_at"],
            updated_at=record["updated_at"],
            reservation_ids=tuple(record["reservation_ids"]),
            history=tuple(
                HistoryEntry(h["time"], IntentState(h["state"]), h["reason"])
                for h in record["history"]
            ),
        )
