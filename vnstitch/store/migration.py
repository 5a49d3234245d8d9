"""Upgrades of state files written by older controllers, run when the store opens one.

Version 1 to 2: times were REAL numbers of monotonic seconds, counted from an arbitrary start
that is lost once that controller stopped; no wall-clock time can be recovered from them. Each
such time (``created_at``, ``updated_at``, and every intent history entry's ``time``) becomes
the wall-clock time of the migration, the ``now`` the opener passes in. A user then sees the
old records as created and last updated at the upgrade: a plausible time whose age counts from
the restart, never a 1970 date or an age of decades (as an epoch marker would show), and
``created_at <= updated_at`` still holds. Times already in RFC 3339 are kept. The columns become
TEXT; row order (the order intents are restored in) and every other value are kept.

Version 2 to 3: hosts gain ``source`` (every stored host was inventory) and ``last_seen``
(unknown: NULL); reservations gain ``plan`` (unknown: NULL, so they are stitched afresh).

A step runs inside the opener's transaction: a failure leaves the file as it was.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from vnstitch.clock import TimeFormatError, parse_rfc3339, rfc3339
from vnstitch.store import schema

Step = Callable[[sqlite3.Connection, str], None]


def _is_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_rfc3339(value)
    except TimeFormatError:
        return False
    return True


def _time(value: Any, stamp: str) -> Any:
    return value if _is_time(value) else stamp


def _history(text: Any, stamp: str) -> Any:
    """The history JSON with every entry's time made RFC 3339; damaged JSON is left as it is."""
    try:
        entries = json.loads(text)
    except (TypeError, ValueError):
        return text
    if not isinstance(entries, list):
        return text
    for entry in entries:
        if isinstance(entry, dict) and "time" in entry:
            entry["time"] = _time(entry["time"], stamp)
    return json.dumps(entries, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _rebuild(
    conn: sqlite3.Connection, table: str, convert: Callable[[dict[str, Any]], None]
) -> None:
    """Recreate ``table`` with its current DDL, copying every row through ``convert``.

    Rows are copied in rowid order, so the order intents are restored in is kept.
    """
    old = f"{table}_previous"
    conn.execute(f"ALTER TABLE {table} RENAME TO {old}")
    conn.execute(schema.TABLES[table])
    cursor = conn.execute(f"SELECT * FROM {old} ORDER BY rowid")
    names = [d[0] for d in cursor.description]
    for row in cursor.fetchall():
        values = dict(zip(names, row, strict=True))
        convert(values)
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values()))
    conn.execute(f"DROP TABLE {old}")


def _v1_times_to_text(conn: sqlite3.Connection, stamp: str) -> None:
    def times(values: dict[str, Any]) -> None:
        for column in ("created_at", "updated_at"):
            values[column] = _time(values.get(column), stamp)
        if "history" in values:
            values["history"] = _history(values["history"], stamp)

    for table in ("intents", "reservations"):
        _rebuild(conn, table, times)


def _add_column(conn: sqlite3.Connection, table: str, column: str, ddl: str) -> None:
    """Add a column unless a rebuild from the current DDL (an earlier step) already did."""
    if column not in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}")


def _v2_learned_hosts_and_plans(conn: sqlite3.Connection, _stamp: str) -> None:
    _add_column(conn, "hosts", "source", "TEXT NOT NULL DEFAULT 'inventory'")
    _add_column(conn, "hosts", "last_seen", "TEXT")
    _add_column(conn, "reservations", "plan", "TEXT")


STEPS: dict[int, Step] = {
    1: _v1_times_to_text,
    2: _v2_learned_hosts_and_plans,
}  # from version N to N + 1


def upgrade(conn: sqlite3.Connection, path: str, now: float) -> int:
    """Bring an older file up to ``schema.SCHEMA_VERSION``; returns the version it held.

    Runs in the caller's transaction; ``now`` (wall clock) stamps times that cannot be
    converted. A version with no step (newer, or unknown) is left for ``schema.check``.
    """
    found = schema.version(conn, path)
    current = found
    while current < schema.SCHEMA_VERSION and current in STEPS:
        STEPS[current](conn, rfc3339(now))
        current += 1
    if current != found:
        conn.execute("UPDATE schema_version SET version = ?", (current,))
    return found
