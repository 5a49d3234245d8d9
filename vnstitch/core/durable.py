"""Durable state for the controller: intents, reservations with their plans, and hosts.

Every write is one SQLite transaction committed before the REST answer goes out, so nothing
acknowledged is lost when the controller is killed. What is kept: intents; requested and
intent-owned reservations with the plan they installed (path, version, meter ids, and for a
protected plan its detours and group ids: enough to claim the very same rules and groups after
a restart); inventory hosts and hosts learned from traffic
(MAC, IP, attachment, last seen), and forecast-driven reservations with their plans (a new
leader claims their rules in place and keeps them until the predictor's next batch:
``vnstitch.predictive.restored_hold``). Configured reservations are rebuilt, not restored,
but every reservation id is durable (taken in blocks), so an id, and the cookies built from
it, is never handed out twice. On start the stored state is handed back
to the services; they claim their rules again as switches connect.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from topology.database import TopologyDatabase
from topology.model import Attachment, Host, LinkId
from vnstitch.clock import parse_rfc3339, rfc3339, rfc3339_or_none
from vnstitch.intents.intent_service import IntentService
from vnstitch.intents.model import Intent
from vnstitch.stitcher.request_body import parse_request
from vnstitch.stitcher.reservation import (
    Detour,
    Origin,
    RequestError,
    Reservation,
    State,
    StoredPlan,
)
from vnstitch.stitcher.stitch_service import StitchService
from vnstitch.store.interface import Store
from vnstitch.store.records import HostRecord, PlanRecord, ReservationRecord
from vnstitch.store.schema import StoreError
from vnstitch.store.sqlite import StateStore

LOG = logging.getLogger("vnstitch.state")

DEFAULT_STATE_DB = Path.home() / ".local" / "state" / "vnstitch" / "state.db"
_NOT_PERSISTED = (Origin.CONFIG,)  # rebuilt from the configuration, not restored
ID_BLOCK = 1024  # reservation ids are made durable this many at a time
LAST_SEEN_EVERY_S = 60.0  # a learned host's last-seen time is written at most this often
_GONE = (State.RELEASED, State.ENDED)
GONE_KEPT = 1000  # released/ended reservations kept (as rows without a plan) for reads of them


def plan_record(plan: StoredPlan | None) -> PlanRecord | None:
    """The stored form of a plan."""
    if plan is None:
        return None
    record: PlanRecord = {
        "version": plan.version,
        "path": [f"{d:016x}" for d in plan.path],
        "meter_ids": {f"{d:016x}": m for d, m in sorted(plan.meter_ids.items())},
        "latency_ms": plan.latency_ms,
    }
    if plan.detours or plan.group_ids:  # a protected plan: its detours and group ids
        record["detours"] = [
            {"reverse": d.reverse, "hop": d.hop, "path": [f"{n:016x}" for n in d.path]}
            for d in plan.detours
        ]
        record["group_ids"] = [
            {"dpid": f"{dpid:016x}", "reverse": reverse, "group_id": gid}
            for (dpid, reverse), gid in sorted(plan.group_ids.items())
        ]
    return record


def stored_plan(record: PlanRecord | None) -> StoredPlan | None:
    """A stored plan read back (ValueError if damaged)."""
    if record is None:
        return None
    path = tuple(int(d, 16) for d in record["path"])
    version = int(record["version"])
    if len(path) < 1 or version < 1:
        raise ValueError(f"stored plan {record!r} has no path or version")
    meters = {int(d, 16): int(m) for d, m in record["meter_ids"].items()}
    latency = record["latency_ms"]
    detours = tuple(
        Detour(bool(d["reverse"]), int(d["hop"]), tuple(int(n, 16) for n in d["path"]))
        for d in record.get("detours", [])
    )
    group_ids = {
        (int(g["dpid"], 16), bool(g["reverse"])): int(g["group_id"])
        for g in record.get("group_ids", [])
    }
    return StoredPlan(
        version, path, meters, None if latency is None else float(latency), detours, group_ids
    )


def booked_links(record: PlanRecord | None) -> dict[LinkId, int]:
    """What a SCHEDULED reservation's window holds per link, read back (ValueError if damaged)."""
    out: dict[LinkId, int] = {}
    for item in record.get("links", []) if record is not None else []:
        link = LinkId(
            int(item["src"], 16), int(item["src_port"]), int(item["dst"], 16), int(item["dst_port"])
        )
        out[link] = int(item["units"])
    return out


class DurableState:
    """The store (SQLite, or a replicated one), and the translation to the live services."""

    def __init__(self, path: str | None, now: float, store: Store | None = None) -> None:
        """Open the SQLite store at ``path`` (or the default), unless ``store`` is given.

        ``now`` is the wall-clock time; ``store`` is an open replicated store (the cluster).
        """
        self.path = Path(path) if path else DEFAULT_STATE_DB
        if store is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            store = StateStore(self.path, now=now)
        self.store: Store = store
        self._intent_ids: set[str] = set()
        self._id_ceiling = 0  # reservation ids below this are durable
        self._host_written: dict[str, float] = {}  # MAC -> the last_seen last written
        # SCHEDULED reservations read back, with their booked path and what their window holds
        self.scheduled: list[tuple[Reservation, StoredPlan | None, dict[LinkId, int]]] = []
        self._gone: deque[int] = deque()  # ids of the released/ended rows kept, oldest first
        self._changed: dict[int, Reservation] = {}  # states to write at the next flush
        self._flush_failing = False  # the last flush could not commit

    def cover_id(self, res_id: int) -> None:
        """Make reservation id ``res_id`` durable (a block at a time): never handed out again."""
        if res_id >= self._id_ceiling:
            self._id_ceiling = res_id + ID_BLOCK
            self.store.raise_counter("reservation", self._id_ceiling)

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

    def persist_reservations(self, items: Iterable[tuple[Reservation, StoredPlan | None]]) -> None:
        """Write several reservations in one committed transaction."""
        kept = [(res, plan) for res, plan in items if res.request.origin not in _NOT_PERSISTED]
        if kept:
            with self.store.atomic():
                for res, plan in kept:
                    self.persist_reservation(res, plan)

    def persist_reservation(
        self, res: Reservation, plan: StoredPlan | None, links: Mapping[LinkId, int] | None = None
    ) -> None:
        """Write a reservation and the plan it installs (for a SCHEDULED one: its booked path,
        and ``links``, what its window holds). Once released or ended, its row stays without a
        plan (a follower, or this controller after a restart, answers it as such); only the
        last ``GONE_KEPT`` of those are kept."""
        if res.request.origin in _NOT_PERSISTED:
            return
        self._changed.pop(res.id, None)
        if res.state in _GONE:
            self._persist_gone(res)
            return
        record = self._record(res, plan, links)
        with self.store.atomic():
            self.store.put_reservation(record)
            self.store.raise_counter("reservation", res.id + 1)

    def _persist_gone(self, res: Reservation) -> None:
        kept = list(self._gone) if res.id in self._gone else [*self._gone, res.id]
        dropped = kept[: max(0, len(kept) - GONE_KEPT)]
        with self.store.atomic():
            self.store.put_reservation(self._record(res, None, None))
            for res_id in dropped:
                self.store.delete_reservation(res_id)
        self._gone = deque(kept[len(dropped) :])

    def _record(
        self, res: Reservation, plan: StoredPlan | None, links: Mapping[LinkId, int] | None
    ) -> ReservationRecord:
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
            "plan": plan_record(plan),
        }
        if links and record["plan"] is not None:
            record["plan"]["links"] = [
                {
                    "src": f"{k.src:016x}",
                    "src_port": k.src_port,
                    "dst": f"{k.dst:016x}",
                    "dst_port": k.dst_port,
                    "units": u,
                }
                for k, u in sorted(links.items())
            ]
        return record

    def state_changed(self, res: Reservation) -> None:
        """A reservation's state changed without a write (confirmed, failed): write it at the
        next ``flush_states``, with every other change since, in one transaction."""
        if res.request.origin not in _NOT_PERSISTED:
            self._changed[res.id] = res

    def flush_states(self, plan_of: Callable[[Reservation], StoredPlan | None]) -> int:
        """Write the changed states in one transaction (kept for the next flush if the store
        cannot commit now: what is not written yet is only what a follower shows); how many."""
        if not self._changed:
            return 0
        changed = list(self._changed.values())
        try:
            with self.store.atomic():
                for res in changed:
                    self.persist_reservation(res, None if res.state in _GONE else plan_of(res))
        except StoreError as exc:
            self._changed.update((r.id, r) for r in changed)
            if not self._flush_failing:  # once per outage, not at every tick
                LOG.warning("reservation states not written yet (retried each tick): %s", exc)
            self._flush_failing = True
            return 0
        if self._flush_failing:
            LOG.info("%d reservation states written after the store's outage", len(changed))
        self._flush_failing = False
        return len(changed)

    def persist_host(self, host: Host) -> None:
        """Write a host (inventory, or learned with its attachment and last-seen time)."""
        if host.last_seen is not None:
            self._host_written[host.mac] = host.last_seen
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
            "source": host.source,
            "last_seen": rfc3339_or_none(host.last_seen),
        }
        self.store.put_host(record)

    def forget_host(self, mac: str) -> None:
        """A learned host is gone (e.g. it was learned on what is a link end)."""
        self._host_written.pop(mac, None)
        self.store.delete_host(mac)

    def flush_last_seen(self, hosts: Iterable[Host]) -> None:
        """Write learned hosts whose last-seen time moved on by a while (one transaction)."""
        stale = [
            h
            for h in hosts
            if h.source == "learned"
            and h.last_seen is not None
            and h.last_seen - self._host_written.get(h.mac, 0.0) >= LAST_SEEN_EVERY_S
        ]
        if stale:
            with self.store.atomic():
                for host in stale:
                    self.persist_host(host)

    def restore(
        self, db: TopologyDatabase, stitcher: StitchService, intents: IntentService, now: float
    ) -> None:
        """Load everything stored into the services (before any switch connects)."""
        state = self.store.load()
        learned = 0
        for rec in state.hosts:
            if rec["mac"] in db.hosts:
                continue
            att = None
            if rec["switch"] is not None and rec["port"] is not None:
                att = Attachment(rec["switch"], rec["port"])
            last_seen = None if rec["last_seen"] is None else parse_rfc3339(rec["last_seen"])
            host = Host(
                rec["name"],
                rec["mac"],
                rec["ip"],
                att,
                rec["zone"],
                rec["source"],
                rec["cpu"],
                rec["memory_mb"],
                rec["storage_gb"],
                last_seen,
            )
            if host.source == "learned":
                learned += 1
                db.restore_learned_host(host, now)
                if last_seen is not None:
                    self._host_written[host.mac] = last_seen
            else:
                db.add_inventory_host(host, now)
        self._id_ceiling = state.counters.get("reservation", 1)
        stitcher.advance_ids(self._id_ceiling)
        for res_rec in state.reservations:
            try:
                request = parse_request(
                    res_rec["request"], Origin(res_rec["origin"]), res_rec["origin_ref"]
                )
                plan = stored_plan(res_rec["plan"])
                links = booked_links(res_rec["plan"])
            except (RequestError, ValueError, KeyError, TypeError) as exc:
                LOG.error("stored reservation %d is unreadable, skipped: %s", res_rec["id"], exc)
                continue
            if res_rec["state"] in (State.RELEASED.value, State.ENDED.value):
                res = Reservation(res_rec["id"], request, State(res_rec["state"]))
                res.reason = res_rec["reason"]
                res.updated_at = parse_rfc3339(res_rec["updated_at"])
                stitcher.adopt(res)  # answered as released; its id stays taken
                self._gone.append(res.id)
            elif res_rec["state"] == State.SCHEDULED.value:
                res = Reservation(res_rec["id"], request, State.SCHEDULED, updated_at=now)
                res.history.append((now, State.SCHEDULED.value, "restored after a restart"))
                self.scheduled.append((res, plan, links))
                stitcher.adopt(res)  # its intent, restored below, finds it
            else:
                res = stitcher.restore(res_rec["id"], request, now, plan)
            res.created_at = parse_rfc3339(res_rec["created_at"])
        for int_rec in state.intents:
            intent = Intent.from_record(int_rec)
            self._intent_ids.add(intent.id)
            intents.restore(intent, now)
        strays = [
            r
            for r in stitcher.reservations.values()
            if r.request.origin is Origin.INTENT
            and r.state not in _GONE
            and not intents.holds(r.id)
        ]
        for res in strays:  # an intent's reservation it no longer holds: its rules go
            stitcher.release(res.id, now)
            self.persist_reservation(res, None)
        LOG.info(
            "restored %d intents, %d reservations (%d released as strays; %d released before),"
            " %d hosts (%d learned) from %s",
            len(state.intents),
            len(state.reservations) - len(self._gone),
            len(strays),
            len(self._gone),
            len(state.hosts),
            learned,
            self.store.description,
        )
