"""Durable state for the controller: intents, requested reservations and the host inventory.

Every write is one SQLite transaction committed before the REST answer goes out, so nothing
acknowledged is lost when the controller is killed. On start the stored state is handed back
to the services; they re-provision as switches connect.
"""

from __future__ import annotations

import logging
from pathlib import Path

from topology.database import TopologyDatabase
from topology.model import Attachment, Host
from vnstitch.clock import parse_rfc3339, rfc3339
from vnstitch.intents.intent_service import IntentService
from vnstitch.intents.lifecycle import recover
from vnstitch.intents.model import Intent
from vnstitch.stitcher.request_body import parse_request
from vnstitch.stitcher.reservation import Origin, RequestError, Reservation, State
from vnstitch.stitcher.stitch_service import StitchService
from vnstitch.store.records import HostRecord, ReservationRecord
from vnstitch.store.sqlite import StateStore

LOG = logging.getLogger("vnstitch.state")

DEFAULT_STATE_DB = Path.home() / ".local" / "state" / "vnstitch" / "state.db"
_NOT_PERSISTED = (Origin.PREDICTED, Origin.INTENT, Origin.CONFIG)  # rebuilt, not restored


class DurableState:
    """The SQLite store, and the translation between it and the live services."""

    def __init__(self, path: str | None, now: float) -> None:
        """Open the store at ``path`` (or the default); ``now`` is the wall-clock time."""
        self.path = Path(path) if path else DEFAULT_STATE_DB
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.store = StateStore(self.path, now=now)
        self._intent_ids: set[str] = set()

    def next_intent_number(self) -> int:
        """A new intent number, durable (never handed out twice, even across restarts)."""
        return self.store.take_id("intent")

    def persist_intent(self, intent: Intent) -> None:
        """Write an intent (insert or update) in one committed transaction."""
        record = intent.to_record()
        if intent.id in self._intent_ids:
            self.store.update_intent(record)
        else:
            self.store.add_intent(record)
            self._intent_ids.add(intent.id)

    def persist_reservation(self, res: Reservation) -> None:
        """Write (or, once released, delete) a requested reservation."""
        if res.request.origin in _NOT_PERSISTED:
            return
        if res.state is State.RELEASED:
            self.store.delete_reservation(res.id)
            return
        request = res.request.to_dict()
        for key in ("origin", "origin_ref"):
            request.pop(key, None)
        record: ReservationRecord = {
            "id": res.id,
            "request": request,
            "state": res.state.value,
            "reason": res.reason,
            "origin": res.request.origin.value,
            "origin_ref": res.request.origin_ref,
            "created_at": rfc3339(res.created_at),
            "updated_at": rfc3339(res.updated_at),
        }
        with self.store.atomic():
            self.store.put_reservation(record)
            self.store.raise_counter("reservation", res.id + 1)

    def persist_host(self, host: Host) -> None:
        """Write an inventory host."""
        att = host.attachment
        record: HostRecord = {
            "name": host.name,
            "mac": host.mac,
            "ip": host.ip,
            "switch": att.dpid if att else None,
            "port": att.port if att else None,
            "zone": host.zone,
            "cpu": host.cpu,
            "memory_mb": host.memory_mb,
            "storage_gb": host.storage_gb,
        }
        self.store.put_host(record)

    def restore(
        self, db: TopologyDatabase, stitcher: StitchService, intents: IntentService, now: float
    ) -> None:
        """Load everything stored into the services (before any switch connects)."""
        state = self.store.load()
        for rec in state.hosts:
            if rec["mac"] in db.hosts:
                continue
            att = None
            if rec["switch"] is not None and rec["port"] is not None:
                att = Attachment(rec["switch"], rec["port"])
            db.add_inventory_host(
                Host(
                    rec["name"],
                    rec["mac"],
                    rec["ip"],
                    att,
                    rec["zone"],
                    "inventory",
                    rec["cpu"],
                    rec["memory_mb"],
                    rec["storage_gb"],
                ),
                now,
            )
        stitcher.advance_ids(state.counters.get("reservation", 1))
        for res_rec in state.reservations:
            try:
                request = parse_request(
                    res_rec["request"], Origin(res_rec["origin"]), res_rec["origin_ref"]
                )
            except (RequestError, ValueError) as exc:
                LOG.error("stored reservation %d is unreadable, skipped: %s", res_rec["id"], exc)
                continue
            res = stitcher.restore(res_rec["id"], request, now)
            res.created_at = parse_rfc3339(res_rec["created_at"])
        for int_rec in state.intents:
            intent = Intent.from_record(int_rec)
            self._intent_ids.add(intent.id)
            intents.restore(recover(intent, now))
        LOG.info(
            "restored %d intents, %d reservations, %d inventory hosts from %s",
            len(state.intents),
            len(state.reservations),
            len(state.hosts),
            self.path,
        )
