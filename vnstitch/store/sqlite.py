"""StateStore: intents, reservations, hosts and id counters in one SQLite file.

Every public write is one transaction, committed (``synchronous=FULL``, WAL journal) before the
call returns, so whatever the controller has acknowledged survives a ``kill -9``. ``atomic()``
groups several writes into one transaction. Readers in other connections see only committed
data.

Time is never read here: records carry their own timestamps, wall-clock UTC as RFC 3339 text
(the store refuses any other form, so a monotonic number can never be stored). The opener
passes ``now`` (wall clock): opening a file of an older schema migrates it in place, and times
the old schema could not give meaning to become that ``now`` (``vnstitch.store.migration``
explains why this, and not a fixed marker such as the epoch).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from vnstitch.clock import TimeFormatError, parse_rfc3339
from vnstitch.store import migration, schema
from vnstitch.store.records import (
    COUNTERS,
    Counter,
    HostRecord,
    IntentHistoryRecord,
    IntentRecord,
    ReservationRecord,
    StoredState,
)
from vnstitch.store.schema import AlreadyStored, StoreError

__all__ = ["AlreadyStored", "StateStore", "StoreError"]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _time(value: Any, what: str) -> str:
    """``value`` if it is an RFC 3339 time; else StoreError naming ``what``."""
    if isinstance(value, str):
        try:
            parse_rfc3339(value)
        except TimeFormatError:
            pass
        else:
            return value
    raise StoreError(
        f"{what} not stored: times must be RFC 3339 text such as 2026-11-29T21:17:35.123Z,"
        f" got {value!r}"
    )


def _loaded_time(value: Any) -> str:
    """A stored time, checked (a ValueError marks the record as damaged)."""
    if not isinstance(value, str):
        raise TimeFormatError(f"time {value!r} is not RFC 3339 text")
    parse_rfc3339(value)
    return value


def _loaded_history(text: str) -> list[IntentHistoryRecord]:
    """Stored intent history, as stored, once every entry's time is checked."""
    entries = json.loads(text)
    if not isinstance(entries, list):
        raise ValueError("intent history is not a list")
    for entry in entries:
        _loaded_time(entry["time"])
    return entries


class StateStore:
    """The controller's durable state in the SQLite file at ``path``."""

    def __init__(
        self, path: str | os.PathLike[str], timeout_s: float = 10.0, *, now: float
    ) -> None:
        """Open (creating or migrating) the store; ``now`` is the wall-clock time of opening."""
        self.path = os.fspath(path)
        self._lock = threading.RLock()
        self._depth = 0
        folder = os.path.dirname(os.path.abspath(self.path))
        if self.path != ":memory:" and not os.path.isdir(folder):
            raise StoreError(f"cannot open state store {self.path}: create the folder {folder}")
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open state store {self.path}: {exc}") from exc
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute("PRAGMA journal_mode=WAL").fetchall()
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("BEGIN IMMEDIATE")
            if self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
                schema.create(self._conn, COUNTERS)
            else:
                migration.upgrade(self._conn, self.path, now)
            schema.check(self._conn, self.path, COUNTERS)
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._conn.close()
            raise StoreError(
                f"{self.path} is not a readable vnstitch state store ({exc}); "
                "move the file away or set the state path to a new file"
            ) from exc
        except StoreError:
            self._conn.close()
            raise

    @property
    def description(self) -> str:
        """The file, for log lines."""
        return self.path

    # ---- transactions ---------------------------------------------------------------------
    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction around the block: committed at its end, rolled back on an error."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                yield
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"{self.path}: write not stored ({exc})") from exc
                raise
            finally:
                self._depth = 0

    def close(self) -> None:
        """Close the file (committed data stays)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- counters -------------------------------------------------------------------------
    def take_id(self, counter: Counter) -> int:
        """The next number of ``counter``, never handed out again (even after a crash)."""
        with self.atomic():
            (value,) = self._conn.execute(
                "SELECT next FROM counters WHERE name = ?", (counter,)
            ).fetchone()
            self._conn.execute("UPDATE counters SET next = ? WHERE name = ?", (value + 1, counter))
        return int(value)

    def raise_counter(self, counter: Counter, next_value: int) -> None:
        """Make the next number of ``counter`` at least ``next_value``."""
        with self.atomic():
            self._conn.execute(
                "UPDATE counters SET next = max(next, ?) WHERE name = ?", (next_value, counter)
            )

    # ---- intents --------------------------------------------------------------------------
    def add_intent(self, record: IntentRecord) -> None:
        """Store a new intent; AlreadyStored if its id is taken (never a duplicate)."""
        with self.atomic():
            try:
                self._conn.execute(
                    "INSERT INTO intents (id, kind, body, state, reason, created_at, updated_at,"
                    " reservation_ids, history) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    self._intent_row(record),
                )
            except sqlite3.IntegrityError:
                raise AlreadyStored(f"intent {record['id']} is already stored") from None

    def update_intent(self, record: IntentRecord) -> None:
        """Replace a stored intent's state, reason, reservations and history."""
        row = self._intent_row(record)
        with self.atomic():
            cur = self._conn.execute(
                "UPDATE intents SET kind = ?, body = ?, state = ?, reason = ?, created_at = ?,"
                " updated_at = ?, reservation_ids = ?, history = ? WHERE id = ?",
                (*row[1:], row[0]),
            )
            if cur.rowcount != 1:
                raise StoreError(f"intent {record['id']} is not stored in {self.path}")

    def delete_intent(self, intent_id: str) -> bool:
        """Forget an intent; False if it was not stored."""
        with self.atomic():
            cur = self._conn.execute("DELETE FROM intents WHERE id = ?", (intent_id,))
        return cur.rowcount == 1

    def get_intent(self, intent_id: str) -> IntentRecord | None:
        """One stored intent, if present."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM intents WHERE id = ?", (intent_id,)).fetchone()
        return None if row is None else self._intent(row)

    @staticmethod
    def _intent_row(r: IntentRecord) -> tuple[Any, ...]:
        what = f"intent {r['id']}"
        for entry in r["history"]:
            _time(entry["time"], f"{what} history")
        return (
            r["id"],
            r["kind"],
            _json(r["body"]),
            r["state"],
            r["reason"],
            _time(r["created_at"], f"{what} created_at"),
            _time(r["updated_at"], f"{what} updated_at"),
            _json(r["reservation_ids"]),
            _json(r["history"]),
        )

    # ---- reservations ---------------------------------------------------------------------
    def put_reservation(self, record: ReservationRecord) -> None:
        """Store a reservation, replacing the stored one with the same id."""
        what = f"reservation {record['id']}"
        created_at = _time(record["created_at"], f"{what} created_at")
        updated_at = _time(record["updated_at"], f"{what} updated_at")
        with self.atomic():
            self._conn.execute(
                "INSERT OR REPLACE INTO reservations (id, request, state, reason, origin,"
                " origin_ref, created_at, updated_at, plan) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record["id"],
                    _json(record["request"]),
                    record["state"],
                    record["reason"],
                    record["origin"],
                    record["origin_ref"],
                    created_at,
                    updated_at,
                    None if record["plan"] is None else _json(record["plan"]),
                ),
            )

    def delete_reservation(self, reservation_id: int) -> bool:
        """Forget a reservation; False if it was not stored."""
        with self.atomic():
            cur = self._conn.execute("DELETE FROM reservations WHERE id = ?", (reservation_id,))
        return cur.rowcount == 1

    # ---- hosts ----------------------------------------------------------------------------
    def put_host(self, record: HostRecord) -> None:
        """Store a host, replacing the stored one with the same MAC."""
        switch = record["switch"]
        last_seen = record["last_seen"]
        if last_seen is not None:
            last_seen = _time(last_seen, f"host {record['mac']} last_seen")
        with self.atomic():
            self._conn.execute(
                "INSERT OR REPLACE INTO hosts (mac, name, ip, switch, port, zone, cpu,"
                " memory_mb, storage_gb, source, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record["mac"],
                    record["name"],
                    record["ip"],
                    None if switch is None else f"{switch:016x}",  # dpids exceed SQLite ints
                    record["port"],
                    record["zone"],
                    record["cpu"],
                    record["memory_mb"],
                    record["storage_gb"],
                    record["source"],
                    last_seen,
                ),
            )

    def delete_host(self, mac: str) -> bool:
        """Forget a host; False if it was not stored."""
        with self.atomic():
            cur = self._conn.execute("DELETE FROM hosts WHERE mac = ?", (mac,))
        return cur.rowcount == 1

    # ---- restore --------------------------------------------------------------------------
    def load(self) -> StoredState:
        """Everything stored, read from one consistent snapshot."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN")
            try:
                return self._read_all()
            finally:
                if outer:
                    self._conn.execute("COMMIT")

    def _read_all(self) -> StoredState:
        conn = self._conn
        try:
            intents = conn.execute("SELECT * FROM intents ORDER BY rowid").fetchall()
            reservations = conn.execute("SELECT * FROM reservations ORDER BY id").fetchall()
            hosts = conn.execute("SELECT * FROM hosts ORDER BY name, mac").fetchall()
            counters = conn.execute("SELECT name, next FROM counters").fetchall()
            return StoredState(
                intents=[self._intent(r) for r in intents],
                reservations=[self._reservation(r) for r in reservations],
                hosts=[self._host(r) for r in hosts],
                counters={r["name"]: int(r["next"]) for r in counters},
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(
                f"{self.path} holds a damaged record ({exc}); restore a backup"
            ) from exc

    @staticmethod
    def _intent(row: sqlite3.Row) -> IntentRecord:
        return {
            "id": row["id"],
            "kind": row["kind"],
            "body": json.loads(row["body"]),
            "state": row["state"],
            "reason": row["reason"],
            "created_at": _loaded_time(row["created_at"]),
            "updated_at": _loaded_time(row["updated_at"]),
            "reservation_ids": json.loads(row["reservation_ids"]),
            "history": _loaded_history(row["history"]),
        }

    @staticmethod
    def _reservation(row: sqlite3.Row) -> ReservationRecord:
        return {
            "id": row["id"],
            "request": json.loads(row["request"]),
            "state": row["state"],
            "reason": row["reason"],
            "origin": row["origin"],
            "origin_ref": row["origin_ref"],
            "created_at": _loaded_time(row["created_at"]),
            "updated_at": _loaded_time(row["updated_at"]),
            "plan": None if row["plan"] is None else json.loads(row["plan"]),
        }

    @staticmethod
    def _host(row: sqlite3.Row) -> HostRecord:
        switch = row["switch"]
        return {
            "name": row["name"],
            "mac": row["mac"],
            "ip": row["ip"],
            "switch": None if switch is None else int(switch, 16),
            "port": row["port"],
            "zone": row["zone"],
            "cpu": row["cpu"],
            "memory_mb": row["memory_mb"],
            "storage_gb": row["storage_gb"],
            "source": row["source"],
            "last_seen": None if row["last_seen"] is None else _loaded_time(row["last_seen"]),
        }
