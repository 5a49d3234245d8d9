"""The web view's live feed: what changed between two looks at the REST API, as server-sent events.

The stream (``GET /v1/stream``, ``ryu_apps/rest_stream.py``) asks the core the same questions a
REST client would (topology events since a version, reservations, intents, links, forecasts,
stats) every half second and sends only what changed. This module holds that comparison and the
``text/event-stream`` framing; it is pure (reply bodies in, messages out) so it is tested without
a controller. Messages, each one SSE ``event`` with a JSON ``data`` line:

- ``snapshot``: everything, first on every stream and again after a gap in the topology events;
- ``topology``: ``{"version", "events"}``: topology events after the last version sent;
- ``reservation`` / ``intent``: one that is new or changed (the REST representation);
- ``reservation_removed`` / ``intent_removed``: ``{"id"}`` of one no longer listed;
- ``links``: ``{"changed": [...], "removed": [keys]}``: link usage (``GET /v1/links`` entries);
- ``forecasts``: the ``GET /v1/forecasts`` body when it changed; ``stats``: ``GET /v1/stats``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

RETRY_MS = 2000  # what the stream tells a client to wait before reconnecting


@dataclass(frozen=True)
class FeedMessage:
    """One server-sent event: its name and its JSON payload."""

    event: str
    data: Any

    def encode(self, ident: int) -> bytes:
        """The ``text/event-stream`` frame (one ``data`` line: JSON never holds a raw newline)."""
        payload = json.dumps(self.data, separators=(",", ":"))
        return f"id: {ident}\nevent: {self.event}\ndata: {payload}\n\n".encode()


def comment(text: str) -> bytes:
    """An SSE comment line (a heartbeat): clients ignore it, proxies and sockets see traffic."""
    return f": {text}\n\n".encode()


def retry_frame(retry_ms: int = RETRY_MS) -> bytes:
    """Tells an EventSource-style client how long to wait before it reconnects."""
    return f"retry: {retry_ms}\n\n".encode()


def link_key(link: Mapping[str, Any]) -> str:
    """A directed link's key: ``src:port>dst:port`` (the dpids as the API writes them)."""
    return f"{link['src']}:{link['src_port']}>{link['dst']}:{link['dst_port']}"


@dataclass(frozen=True)
class Look:
    """The reply bodies of one round; None for what this round did not ask (or failed)."""

    events: Mapping[str, Any] | None = None
    reservations: Mapping[str, Any] | None = None
    intents: Mapping[str, Any] | None = None
    links: Mapping[str, Any] | None = None
    forecasts: Mapping[str, Any] | None = None
    stats: Mapping[str, Any] | None = None


@dataclass
class FeedState:
    """What this client was last sent; :meth:`changes` turns a new look into the differences."""

    version: int = 0
    reservations: dict[str, Any] = field(default_factory=dict)
    intents: dict[str, Any] = field(default_factory=dict)
    links: dict[str, Any] = field(default_factory=dict)
    forecasts: Any = None
    stats: Any = None

    def snapshot(self, topology: Mapping[str, Any], look: Look) -> FeedMessage:
        """Everything at once (the stream's first message); the state now holds all of it."""
        self.version = int(topology.get("version", 0))
        self.reservations = _by_id(look.reservations, "reservations")
        self.intents = _by_id(look.intents, "intents")
        self.links = _links(look.links)
        self.forecasts = _comparable_forecasts(look.forecasts)
        self.stats = look.stats
        return FeedMessage(
            "snapshot",
            {
                "topology": topology,
                "reservations": list(self.reservations.values()),
                "intents": list(self.intents.values()),
                "links": list(self.links.values()),
                "forecasts": look.forecasts,
                "stats": look.stats,
            },
        )

    def has_gap(self, events: Mapping[str, Any]) -> bool:
        """True when events after our version were dropped from the log: take a new snapshot."""
        listed = events.get("events") or []
        if listed:
            return int(listed[0]["version"]) > self.version + 1
        return int(events.get("version", self.version)) > self.version

    def changes(self, look: Look) -> list[FeedMessage]:
        """The messages that bring a client from the last state sent to ``look``.

        The caller checks :meth:`has_gap` first: a gap needs a new snapshot, not these.
        """
        out: list[FeedMessage] = []
        if look.events is not None:
            out += self._topology(look.events)
        if look.reservations is not None:
            new = _by_id(look.reservations, "reservations")
            out += _diff(self.reservations, new, "reservation")
            self.reservations = new
        if look.intents is not None:
            new = _by_id(look.intents, "intents")
            out += _diff(self.intents, new, "intent")
            self.intents = new
        if look.links is not None:
            out += self._links(_links(look.links))
        if look.forecasts is not None:
            comparable = _comparable_forecasts(look.forecasts)
            if comparable != self.forecasts:
                self.forecasts = comparable
                out.append(FeedMessage("forecasts", look.forecasts))
        if look.stats is not None and look.stats != self.stats:
            self.stats = look.stats
            out.append(FeedMessage("stats", look.stats))
        return out

    def _topology(self, events: Mapping[str, Any]) -> list[FeedMessage]:
        listed = [e for e in events.get("events") or [] if int(e["version"]) > self.version]
        version = int(events.get("version", self.version))
        if not listed:
            self.version = max(self.version, version)
            return []
        self.version = max(version, int(listed[-1]["version"]))
        return [FeedMessage("topology", {"version": self.version, "events": listed})]

    def _links(self, new: dict[str, Any]) -> list[FeedMessage]:
        changed = [entry for key, entry in new.items() if self.links.get(key) != entry]
        removed = sorted(set(self.links) - set(new))
        self.links = new
        if not changed and not removed:
            return []
        return [FeedMessage("links", {"changed": changed, "removed": removed})]


def _by_id(body: Mapping[str, Any] | None, key: str) -> dict[str, Any]:
    items: Iterable[Any] = (body or {}).get(key) or []
    return {str(item["id"]): item for item in items}


def _links(body: Mapping[str, Any] | None) -> dict[str, Any]:
    return {link_key(entry): entry for entry in (body or {}).get("links") or []}


def _comparable_forecasts(body: Mapping[str, Any] | None) -> Any:
    """The forecasts without their ages (which grow every second even when nothing changed)."""
    if body is None:
        return None
    rows = [{k: v for k, v in row.items() if k != "age_s"} for row in body.get("forecasts") or []]
    return {"forecasts": rows, "queue": body.get("queue")}


def _diff(old: Mapping[str, Any], new: Mapping[str, Any], kind: str) -> list[FeedMessage]:
    out = [FeedMessage(kind, item) for ident, item in new.items() if old.get(ident) != item]
    out += [FeedMessage(f"{kind}_removed", {"id": ident}) for ident in old if ident not in new]
    return out
