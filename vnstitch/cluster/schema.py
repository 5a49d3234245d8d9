"""The OVSDB schema of the replicated store: the SQLite tables, plus leadership.

Same records as ``vnstitch.store.schema`` (JSON documents as strings, times as RFC 3339 text,
datapath ids as hex), indexed by their ids so an insert never duplicates. ``Leadership`` holds
one row: the generation (incremented at every takeover; the OpenFlow role generation id and
the fence on every write), the leader's instance name and REST URL. ``Instance`` holds one row
per controller instance with its last heartbeat.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATABASE = "VNStitch"
VERSION = "1.0.0"


def _text(optional: bool = False) -> dict[str, Any]:
    return {"type": {"key": "string", "min": 0, "max": 1}} if optional else {"type": "string"}


def _number(kind: str, optional: bool = False) -> dict[str, Any]:
    return {"type": {"key": kind, "min": 0, "max": 1}} if optional else {"type": kind}


def _table(columns: dict[str, Any], index: list[str]) -> dict[str, Any]:
    return {"columns": columns, "indexes": [index], "isRoot": True}


SCHEMA: dict[str, Any] = {
    "name": DATABASE,
    "version": VERSION,
    "tables": {
        "Intent": _table(
            {
                "id": _text(),
                "kind": _text(),
                "body": _text(),
                "state": _text(),
                "reason": _text(True),
                "created_at": _text(),
                "updated_at": _text(),
                "reservation_ids": _text(),
                "history": _text(),
            },
            ["id"],
        ),
        "Reservation": _table(
            {
                "id": _number("integer"),
                "request": _text(),
                "state": _text(),
                "reason": _text(True),
                "origin": _text(),
                "origin_ref": _text(True),
                "created_at": _text(),
                "updated_at": _text(),
                "plan": _text(True),
            },
            ["id"],
        ),
        "Host": _table(
            {
                "mac": _text(),
                "name": _text(),
                "ip": _text(True),
                "switch": _text(True),
                "port": _number("integer", True),
                "zone": _text(),
                "cpu": _number("real"),
                "memory_mb": _number("real"),
                "storage_gb": _number("real"),
                "source": _text(),
                "last_seen": _text(True),
            },
            ["mac"],
        ),
        "Counter": _table({"name": _text(), "next": _number("integer")}, ["name"]),
        "Leadership": _table(
            {
                "name": _text(),
                "generation": _number("integer"),
                "leader": _text(),
                "url": _text(),
                "since": _text(),
            },
            ["name"],
        ),
        "Instance": _table(
            {
                "name": _text(),
                "url": _text(),
                "role": _text(),
                "generation": _number("integer"),
                "heartbeat": _text(),
            },
            ["name"],
        ),
    },
}


def write_schema(path: Path) -> Path:
    """Write the schema as an ``.ovsschema`` file (for ``ovsdb-tool create-cluster``)."""
    path.write_text(json.dumps(SCHEMA, indent=1, sort_keys=True) + "\n")
    return path
