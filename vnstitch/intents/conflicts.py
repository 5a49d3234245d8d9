"""Contradictions between intents: an isolation cutting a pair another intent connects."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import assert_never

from vnstitch.intents.model import Intent, IntentState
from vnstitch.intents.resolve import HostDirectory, endpoint_key
from vnstitch.intents.specs import (
    ConnectivitySpec,
    Group,
    IsolationSpec,
    LowLatencySpec,
    ZoneRef,
    isolates,
)

INACTIVE = frozenset({IntentState.WITHDRAWING, IntentState.WITHDRAWN})

Pair = frozenset[str]


@dataclass(frozen=True)
class Conflict:
    """``intent_id`` (or reservation ``reservation_id``) contradicts the new intent."""

    intent_id: str | None
    reason: str
    reservation_id: int | None = None

    @property
    def name(self) -> str:
        """The intent, or the reservation, to name in an answer."""
        if self.intent_id is not None:
            return self.intent_id
        return f"reservation {self.reservation_id}"

    def to_dict(self) -> dict[str, str | None]:
        """JSON form (one entry of a 409 answer)."""
        reservation = None if self.reservation_id is None else str(self.reservation_id)
        return {"intent": self.intent_id, "reservation": reservation, "reason": self.reason}


class _Names:
    """Endpoint identities (MAC if the host is known) and how to show them."""

    def __init__(self, directory: HostDirectory) -> None:
        self.directory = directory
        self.shown: dict[str, str] = {}

    def group(self, group: Group) -> list[str]:
        if isinstance(group, ZoneRef):
            hosts = self.directory.hosts_in_zone(group.zone)
            for h in hosts:
                self.shown.setdefault(h.mac, h.name)
            return list(dict.fromkeys(h.mac for h in hosts))
        keys = []
        for endpoint in group:
            key = endpoint_key(endpoint, self.directory)
            host = self.directory.find_host(endpoint)
            self.shown.setdefault(key, host.name if host is not None else endpoint)
            keys.append(key)
        return list(dict.fromkeys(keys))

    def pairs(self, intent: Intent) -> set[Pair]:
        """The unordered endpoint pairs the intent connects, or isolates."""
        spec = intent.spec
        match spec:
            case ConnectivitySpec():
                ends = self.group((spec.src, spec.dst))
                return {frozenset(ends)} if len(ends) == 2 else set()
            case LowLatencySpec():
                ends = self.group(spec.endpoints)
                return {frozenset(p) for p in itertools.combinations(ends, 2)}
            case IsolationSpec():
                a, b = self.group(spec.a), self.group(spec.b)
                return {frozenset((x, y)) for x, y in itertools.product(a, b) if x != y}
            case _:
                assert_never(spec)

    def show(self, pair: Pair) -> str:
        x, y = sorted(self.shown.get(k, k) for k in pair)
        return f"{x} and {y}"


def find_conflicts(
    new: Intent, existing: Iterable[Intent], directory: HostDirectory
) -> list[Conflict]:
    """Live intents that ``new`` contradicts: isolation against connectivity or low latency."""
    names = _Names(directory)
    new_pairs = names.pairs(new)
    new_isolates = isolates(new.spec)
    out: list[Conflict] = []
    for other in existing:
        if other.id == new.id or other.state in INACTIVE:
            continue
        if isolates(other.spec) == new_isolates:
            continue
        shared = sorted(new_pairs & names.pairs(other), key=sorted)
        if not shared:
            continue
        iso, conn = (new, other) if new_isolates else (other, new)
        more = f" (and {len(shared) - 1} more pair(s))" if len(shared) > 1 else ""
        reason = f"{iso.id} isolates {names.show(shared[0])}{more}, which {conn.id} would connect"
        out.append(Conflict(other.id, reason))
    return out
