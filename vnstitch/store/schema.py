"""The SQLite schema, its version, and the check that an existing file holds it.

Version history: 1 held times as REAL (monotonic seconds, meaningless after a restart);
2 holds them as RFC 3339 TEXT, wall-clock UTC; 3 adds learned hosts (``source``,
``last_seen``) and each reservation's installed plan (``plan``: path, version, meter ids), so
a restarted controller claims the rules already on the switches instead of re-deriving them
(``vnstitch.store.migration`` upgrades older files).
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 3

TABLES: dict[str, str] = {
    "schema_version": "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "intents": """CREATE TABLE intents (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL, state TEXT NOT NULL,
        reason TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        reservation_ids TEXT NOT NULL, history TEXT NOT NULL)""",
    "reservations": """CREATE TABLE reservations (
        id INTEGER PRIMARY KEY, request TEXT NOT NULL, state TEXT NOT NULL, reason TEXT,
        origin TEXT NOT NULL, origin_ref TEXT, created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL, plan TEXT)""",
    "hosts": """CREATE TABLE hosts (
        mac TEXT PRIMARY KEY, name TEXT NOT NULL, ip TEXT, switch TEXT, port INTEGER,
        zone TEXT NOT NULL, cpu REAL NOT NULL, memory_mb REAL NOT NULL,
        storage_gb REAL NOT NULL, source TEXT NOT NULL DEFAULT 'inventory',
        last_seen TEXT)""",
    "counters": "CREATE TABLE counters (name TEXT PRIMARY KEY, next INTEGER NOT NULL)",
}

COLUMNS: dict[str, set[str]] = {
    "schema_version": {"version"},
    "intents": {
        "id",
        "kind",
        "body",
        "state",
        "reason",
        "created_at",
        "updated_at",
        "reservation_ids",
        "history",
    },
    "reservations": {
        "id",
        "request",
        "state",
        "reason",
        "origin",
        "origin_ref",
        "created_at",
        "updated_at",
        "plan",
    },
    "hosts": {
        "mac",
        "name",
        "ip",
        "switch",
        "port",
        "zone",
        "cpu",
        "memory_mb",
        "storage_gb",
        "source",
        "last_seen",
    },
    "counters": {"name", "next"},
}


class StoreError(Exception):
    """The state store cannot be used; the message names the file and what to do."""


class AlreadyStored(StoreError):
    """A record with this id is already stored (an insert never duplicates)."""


def create(conn: sqlite3.Connection, counters: tuple[str, ...]) -> None:
    """Create every table in an empty database (inside the caller's transaction)."""
    for ddl in TABLES.values():
        conn.execute(ddl)
    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
    conn.executemany("INSERT INTO counters (name, next) VALUES (?, 1)", [(c,) for c in counters])


FIX = "move the file away or set the state path to a new file"


def version(conn: sqlite3.Connection, path: str) -> int:
    """The schema version the file holds; StoreError if it is not a vnstitch state store."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "schema_version" not in tables:
        raise StoreError(f"{path} is an SQLite file but not a vnstitch state store; {FIX}")
    rows = conn.execute("SELECT version FROM schema_version").fetchall()
    if len(rows) != 1 or not isinstance(rows[0][0], int):
        raise StoreError(f"{path} has schema version {[r[0] for r in rows]}; {FIX}")
    found: int = rows[0][0]
    return found


def check(conn: sqlite3.Connection, path: str, counters: tuple[str, ...]) -> None:
    """Raise StoreError unless the database holds this schema version with every table."""
    found = version(conn, path)
    if found != SCHEMA_VERSION:
        raise StoreError(
            f"{path} has schema version [{found}], this controller needs [{SCHEMA_VERSION}]; {FIX}"
        )
    for table, wanted in COLUMNS.items():
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if not wanted <= have:
            missing = ", ".join(sorted(wanted - have))
            raise StoreError(f"{path}: table {table} lacks {missing}; {FIX}")
    have_counters = {r[0] for r in conn.execute("SELECT name FROM counters")}
    if not set(counters) <= have_counters:
        raise StoreError(f"{path}: counters table lacks {sorted(set(counters) - have_counters)}")
