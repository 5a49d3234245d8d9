"""Contradictions between intents: an isolation cutting a pair another intent connects."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from vnstitch.intents.model import (
    ConnectivitySpec,
    Group,
    Intent,
    IntentKind,
    IntentState,
    IsolationSpec,
    LowLatencySpec,
    ZoneRef,
)
from vnstitch.intents.resolve import HostDirectory, endpoint_key

INACTIVE = frozenset({IntentState.WITHDRAWING, IntentState.WITHDRAWN})

Pair = frozenset[str]


@dataclass(frozen=True)
class Conflict:
    """``intent_id`` contradicts the new intent, for ``reason``."""

    intent_id: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """JSON form (one entry of a 409 answer)."""
        return {"intent": self.intent_id, "reason": self.reason}


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
        if isinstance(spec, ConnectivitySpec):
            ends = self.group((spec.src, spec.dst))
            return {frozenset(ends)} if len(ends) == 2 else set()
        if isinstance(spec, LowLatencySpec):
            return {frozenset(p) for p in itertools.combinations(self.group(spec.endpoints), 2)}
        assert isinstance(spec, IsolationSpec)
        a, b = self.group(spec.a), self.group(spec.b)
        return {frozenset((x, y)) for x, y in itertools.product(a, b) if x != y}

    def show(self, pair: Pair) -> str:
        x, y = sorted(self.shown.get(k, k) for k in pair)
        return f"{x} and {y}"


def find_conflicts(
    new: Intent, existing: Iterable[Intent], directory: HostDirectory
) -> list[Conflict]:
    """Live intents that ``new`` contradicts: isolation against connectivity or low latency."""
    names = _Names(directory)
    new_pairs = names.pairs(new)
    new_isolates = new.kind is IntentKind.ISOLATION
    out: list[Conflict] = []
    for other in existing:
        if other.id == new.id or other.state in INACTIVE:
            continue
        if (other.kind is IntentKind.ISOLATION) == new_isolates:
            continue
        shared = sorted(new_pairs & names.pairs(other), key=sorted)
        if not shared:
            continue
        iso, conn = (new, other) if new_isolates else (other, new)
        more = f" (and {len(shared) - 1} more pair(s))" if len(shared) > 1 else ""
        reason = f"{iso.id} isolates {names.show(shared[0])}{more}, which {conn.id} would connect"
        out.append(Conflict(other.id, reason))
    return out
