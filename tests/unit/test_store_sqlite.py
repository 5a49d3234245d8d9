"""The SQLite state store: round trips, durability across reopen and crash, isolation."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest

import vnstitch.intents.model
import vnstitch.store.records
from vnstitch.clock import rfc3339
from vnstitch.intents.lifecycle import advance, new_intent, with_reservations
from vnstitch.intents.model import ConnectivitySpec, Intent, IntentState
from vnstitch.store.records import HostRecord, IntentRecord, ReservationRecord
from vnstitch.store.sqlite import AlreadyStored, StateStore, StoreError

REPO = Path(__file__).resolve().parents[2]
NOW = 1_795_000_000.0  # the wall-clock time the tests open stores at


def _at(seconds: float) -> str:
    return rfc3339(NOW + seconds)


def _intent(number: int) -> IntentRecord:
    return {
        "id": f"intent-{number}",
        "kind": "isolation",
        "body": {"kind": "isolation", "a": ["h1", "h2"], "b": "zone:pci"},
        "state": "SUBMITTED",
        "reason": None,
        "created_at": _at(number),
        "updated_at": _at(number),
        "reservation_ids": [],
        "history": [{"time": _at(number), "state": "SUBMITTED", "reason": None}],
    }


def _reservation(res_id: int, state: str = "ACTIVE") -> ReservationRecord:
    return {
        "id": res_id,
        "request": {"src": "h1", "dst": "h3", "bandwidth_mbps": 10.0, "zones": ["blue"]},
        "state": state,
        "reason": None,
        "origin": "intent",
        "origin_ref": "intent-1",
        "created_at": _at(1),
        "updated_at": _at(2),
        "plan": {
            "version": 3,
            "path": ["0000000000000001", "ffffffffffffffff"],
            "meter_ids": {"0000000000000001": 7},
            "latency_ms": 1.5,
        },
    }


def _host(mac: str = "00:00:00:00:00:01", switch: int | None = 1) -> HostRecord:
    return {
        "name": "h1",
        "mac": mac,
        "ip": "10.0.0.1",
        "switch": switch,
        "port": 3,
        "zone": "pci",
        "cpu": 2.0,
        "memory_mb": 512.0,
        "storage_gb": 8.5,
        "source": "inventory",
        "last_seen": None,
    }


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite"


def test_a_new_store_is_empty_with_counters_at_one(path: Path) -> None:
    with StateStore(path, now=NOW) as st:
        state = st.load()
    assert (state.intents, state.reservations, state.hosts) == ([], [], [])
    assert state.counters == {"intent": 1, "reservation": 1}


def test_intents_round_trip_losslessly_across_reopen(path: Path) -> None:
    spec = ConnectivitySpec("h1", "h3", 10.0, 20.0, frozenset({"blue"}), frozenset({"red"}))
    intent = advance(new_intent(1, spec, NOW + 1), IntentState.COMPILING, NOW + 2)
    intent = with_reservations(
        advance(intent, IntentState.FAILED, NOW + 3, "no path"), (7,), NOW + 3
    )
    with StateStore(path, now=NOW) as st:
        st.add_intent(intent.to_record())
        st.add_intent(_intent(2))
    with StateStore(path, now=NOW) as st:
        records = st.load().intents
        assert st.get_intent("intent-1") == records[0]
        assert st.get_intent("intent-9") is None
    assert [Intent.from_record(r) for r in records] == [
        intent,
        Intent.from_record(_intent(2)),
    ]


def test_adding_an_existing_intent_is_an_error_not_a_duplicate(path: Path) -> None:
    with StateStore(path, now=NOW) as st:
        st.add_intent(_intent(1))
        changed = {**_intent(1), "state": "FAILED"}
        with pytest.raises(AlreadyStored, match="intent-1"):
            st.add_intent(typing.cast(IntentRecord, changed))
        assert st.load().intents == [_intent(1)]


def test_updates_and_deletes(path: Path) -> None:
    with StateStore(path, now=NOW) as st:
        st.add_intent(_intent(1))
        st.add_intent(_intent(2))
        updated = {**_intent(1), "state": "INSTALLED", "reservation_ids": [3, 4]}
        st.update_intent(typing.cast(IntentRecord, updated))
        with pytest.raises(StoreError, match="intent-5"):
            st.update_intent(_intent(5))
        assert st.delete_intent("intent-2") and not st.delete_intent("intent-2")
        assert st.load().intents == [updated]


def test_reservations_are_replaced_by_id(path: Path) -> None:
    with StateStore(path, now=NOW) as st:
        st.put_reservation(_reservation(2))
        st.put_reservation(_reservation(1))
        st.put_reservation(_reservation(2, "DEGRADED"))
        assert st.delete_reservation(1) and not st.delete_reservation(1)
    with StateStore(path, now=NOW) as st:
        assert st.load().reservations == [_reservation(2, "DEGRADED")]


def test_hosts_keep_datapath_ids_beyond_signed_64_bits(path: Path) -> None:
    big = _host("00:00:00:00:00:02", switch=0xFFFF_0000_0000_0001)
    with StateStore(path, now=NOW) as st:
        st.put_host(_host())
        st.put_host(big)
        st.put_host({**_host(), "zone": "blue"})
        st.put_host(_host("00:00:00:00:00:03", switch=None))
        assert st.delete_host("00:00:00:00:00:03")
    with StateStore(path, now=NOW) as st:
        hosts = st.load().hosts
    assert sorted(hosts, key=lambda h: h["mac"]) == [{**_host(), "zone": "blue"}, big]


def test_ids_are_never_handed_out_twice_even_after_reopen(path: Path) -> None:
    with StateStore(path, now=NOW) as st:
        assert [st.take_id("intent") for _ in range(3)] == [1, 2, 3]
        st.raise_counter("reservation", 40)
        st.raise_counter("reservation", 10)  # never lowers
        assert st.take_id("reservation") == 40
    with StateStore(path, now=NOW) as st:
        assert st.take_id("intent") == 4
        assert st.load().counters == {"intent": 5, "reservation": 41}


def test_atomic_groups_writes_and_an_error_inside_leaves_nothing(path: Path) -> None:
    with StateStore(path, now=NOW) as st:
        with pytest.raises(RuntimeError), st.atomic():
            number = st.take_id("intent")
            st.add_intent(_intent(number))
            with st.atomic():  # nested: joins the outer transaction
                st.put_reservation(_reservation(1))
            raise RuntimeError("crash before the commit")
        state = st.load()
    assert (state.intents, state.reservations) == ([], [])
    assert state.counters["intent"] == 1


def _run(path: Path, code: str) -> int:
    script = "import os, sys, json\nfrom vnstitch.store.sqlite import StateStore\n" + code
    proc = subprocess.run(
        [sys.executable, "-c", script, str(path), json.dumps([_intent(1), _intent(2)])],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode in (0, 9), proc.stderr
    return proc.returncode


def test_a_process_killed_mid_transaction_leaves_only_acknowledged_writes(path: Path) -> None:
    code = (
        "st = StateStore(sys.argv[1], now=0.0); first, second = json.loads(sys.argv[2])\n"
        "st.add_intent(first)\n"
        "with st.atomic():\n"
        "    st.add_intent(second)\n"
        "    os._exit(9)\n"
    )
    assert _run(path, code) == 9
    with StateStore(path, now=NOW) as st:
        assert [r["id"] for r in st.load().intents] == ["intent-1"]


def test_a_reader_sees_only_committed_data(path: Path) -> None:
    with StateStore(path, now=NOW) as writer, StateStore(path, now=NOW) as reader:
        writer.add_intent(_intent(1))
        with writer.atomic():
            writer.add_intent(_intent(2))
            writer.put_host(_host())
            seen = reader.load()
            assert [r["id"] for r in seen.intents] == ["intent-1"] and seen.hosts == []
        assert [r["id"] for r in reader.load().intents] == ["intent-1", "intent-2"]


def test_a_file_that_is_not_a_database_is_refused_naming_it(path: Path) -> None:
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match=str(path)) as err:
        StateStore(path, now=NOW)
    assert "move the file away" in str(err.value)


def test_another_applications_database_is_refused(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a vnstitch state store"):
        StateStore(path, now=NOW)


def test_a_different_schema_version_is_refused(path: Path) -> None:
    StateStore(path, now=NOW).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version \\[99\\]"):
        StateStore(path, now=NOW)


@pytest.mark.parametrize(
    "damage", ["body = '{not json'", "created_at = 940.07", "history = '[{\"time\": 1}]'"]
)
def test_a_damaged_record_is_reported_on_load(path: Path, damage: str) -> None:
    with StateStore(path, now=NOW) as st:
        st.add_intent(_intent(1))
    conn = sqlite3.connect(path)
    conn.execute(f"UPDATE intents SET {damage}")
    conn.commit()
    conn.close()
    with StateStore(path, now=NOW) as st, pytest.raises(StoreError, match="damaged record"):
        st.load()


def test_a_missing_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="create the folder"):
        StateStore(tmp_path / "nowhere" / "state.sqlite", now=NOW)


def _shape(hint: Any) -> Any:
    """A type hint with every TypedDict replaced by its fields (compared by shape, not class)."""
    if typing.is_typeddict(hint):
        return {name: _shape(h) for name, h in typing.get_type_hints(hint).items()}
    args = typing.get_args(hint)
    return (typing.get_origin(hint), [_shape(a) for a in args]) if args else hint


def test_store_and_intent_records_have_the_same_shape() -> None:
    store = _shape(vnstitch.store.records.IntentRecord)
    assert store == _shape(vnstitch.intents.model.IntentRecord)
    assert (store["created_at"], store["updated_at"]) == (str, str)
    assert store["history"][1][0]["time"] is str


@pytest.mark.parametrize(
    ("table", "record"),
    [
        ("reservation", {**_reservation(1), "created_at": 940.07}),
        ("reservation", {**_reservation(1), "updated_at": "2026-11-29 21:17"}),
        ("intent", {**_intent(1), "updated_at": 3.0}),
        ("intent", {**_intent(1), "history": [{"time": 3.0, "state": "FAILED", "reason": None}]}),
    ],
)
def test_a_time_that_is_not_rfc3339_text_is_refused(
    path: Path, table: str, record: dict[str, Any]
) -> None:
    with StateStore(path, now=NOW) as st:
        with pytest.raises(StoreError, match="RFC 3339"):
            if table == "intent":
                st.add_intent(typing.cast(IntentRecord, record))
            else:
                st.put_reservation(typing.cast(ReservationRecord, record))
        state = st.load()
    assert (state.intents, state.reservations) == ([], [])


def test_times_are_stored_as_rfc3339_text(path: Path) -> None:
    with StateStore(path, now=NOW) as st:
        st.add_intent(_intent(1))
        st.put_reservation(_reservation(1))
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT created_at, typeof(created_at), updated_at FROM reservations"
        " UNION ALL SELECT created_at, typeof(created_at), updated_at FROM intents"
    ).fetchall()
    conn.close()
    assert rows == [(_at(1), "text", _at(2)), (_at(1), "text", _at(1))]
    assert _at(1) == "2026-11-18T11:06:41.000Z"


# The schema of version 1 (times as REAL monotonic seconds), as that controller created it.
V1_TABLES = [
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    """CREATE TABLE intents (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL, state TEXT NOT NULL,
        reason TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL,
        reservation_ids TEXT NOT NULL, history TEXT NOT NULL)""",
    """CREATE TABLE reservations (
        id INTEGER PRIMARY KEY, request TEXT NOT NULL, state TEXT NOT NULL, reason TEXT,
        origin TEXT NOT NULL, origin_ref TEXT, created_at REAL NOT NULL,
        updated_at REAL NOT NULL)""",
    """CREATE TABLE hosts (
        mac TEXT PRIMARY KEY, name TEXT NOT NULL, ip TEXT, switch TEXT, port INTEGER,
        zone TEXT NOT NULL, cpu REAL NOT NULL, memory_mb REAL NOT NULL,
        storage_gb REAL NOT NULL)""",
    "CREATE TABLE counters (name TEXT PRIMARY KEY, next INTEGER NOT NULL)",
]


def _version_1_file(path: Path) -> None:
    conn = sqlite3.connect(path)
    for ddl in V1_TABLES:
        conn.execute(ddl)
    conn.execute("INSERT INTO schema_version VALUES (1)")
    conn.executemany("INSERT INTO counters VALUES (?, ?)", [("intent", 3), ("reservation", 8)])
    body = json.dumps({"kind": "isolation", "a": ["h1", "h2"], "b": "zone:pci"})
    history = json.dumps(
        [
            {"time": 938.5, "state": "SUBMITTED", "reason": None},
            {"time": 940.07, "state": "FAILED", "reason": "no path"},
        ]
    )
    for intent_id in ("intent-2", "intent-1"):  # restored in insertion order, not by id
        conn.execute(
            "INSERT INTO intents VALUES (?, 'isolation', ?, 'FAILED', 'no path', 938.5, 940.07,"
            " '[7]', ?)",
            (intent_id, body, history),
        )
    conn.execute(
        "INSERT INTO reservations VALUES (7, ?, 'ACTIVE', NULL, 'request', NULL, 12.25, 13.5)",
        (json.dumps({"src": "h1", "dst": "h3", "bandwidth_mbps": 10.0}),),
    )
    conn.execute(
        "INSERT INTO hosts VALUES ('00:00:00:00:00:01', 'h1', '10.0.0.1', '0000000000000001', 3,"
        " 'pci', 2.0, 512.0, 8.5)"
    )
    conn.commit()
    conn.close()


def test_a_version_1_file_is_migrated_stamping_old_times_with_the_opening_time(
    path: Path,
) -> None:
    _version_1_file(path)
    with StateStore(path, now=NOW) as st:
        state = st.load()
    stamp = rfc3339(NOW)
    assert [r["id"] for r in state.intents] == ["intent-2", "intent-1"]
    for intent in state.intents:
        assert (intent["created_at"], intent["updated_at"]) == (stamp, stamp)
        assert intent["history"] == [
            {"time": stamp, "state": "SUBMITTED", "reason": None},
            {"time": stamp, "state": "FAILED", "reason": "no path"},
        ]
        assert (intent["state"], intent["reason"], intent["reservation_ids"]) == (
            "FAILED",
            "no path",
            [7],
        )
        assert intent["body"] == {"kind": "isolation", "a": ["h1", "h2"], "b": "zone:pci"}
    assert state.reservations == [
        {
            "id": 7,
            "request": {"src": "h1", "dst": "h3", "bandwidth_mbps": 10.0},
            "state": "ACTIVE",
            "reason": None,
            "origin": "request",
            "origin_ref": None,
            "created_at": stamp,
            "updated_at": stamp,
            "plan": None,
        }
    ]
    assert state.hosts == [_host()]
    assert state.counters == {"intent": 3, "reservation": 8}
    assert [Intent.from_record(r).created_at for r in state.intents] == [NOW, NOW]


def test_a_migrated_file_has_version_3_with_text_times_and_is_migrated_once(path: Path) -> None:
    _version_1_file(path)
    StateStore(path, now=NOW).close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(3,)]
    for table in ("intents", "reservations"):
        types = {r[1]: r[2] for r in conn.execute(f"PRAGMA table_info({table})")}
        assert (types["created_at"], types["updated_at"]) == ("TEXT", "TEXT")
    conn.close()
    with StateStore(path, now=NOW + 86_400) as st:  # a day later: nothing changes any more
        assert {r["created_at"] for r in st.load().intents} == {rfc3339(NOW)}
        st.put_reservation(_reservation(8))
        assert [r["id"] for r in st.load().reservations] == [7, 8]


def test_a_migration_that_fails_leaves_the_file_as_it_was(path: Path) -> None:
    _version_1_file(path)
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE reservations DROP COLUMN origin")  # damaged: NOT NULL cannot hold
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=str(path)):
        StateStore(path, now=NOW)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    assert conn.execute("SELECT created_at FROM intents").fetchall() == [(938.5,), (938.5,)]
    conn.close()


def test_learned_hosts_and_plans_round_trip(path: Path) -> None:
    """A learned host keeps its source and last-seen time; a reservation its plan."""
    learned: HostRecord = {**_host("00:00:00:00:00:09"), "source": "learned"}
    learned["last_seen"] = _at(5)
    with StateStore(path, now=NOW) as st:
        st.put_host(learned)
        st.put_reservation(_reservation(4))
    with StateStore(path, now=NOW) as st:
        state = st.load()
    assert state.hosts == [learned]
    assert state.reservations == [_reservation(4)]


def test_a_version_2_file_gains_host_sources_and_plans(path: Path) -> None:
    """Schema 2 -> 3: stored hosts were inventory, stored reservations have no plan."""
    with StateStore(path, now=NOW) as st:
        st.put_host(_host())
        st.put_reservation({**_reservation(4), "plan": None})
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE hosts DROP COLUMN source")
    conn.execute("ALTER TABLE hosts DROP COLUMN last_seen")
    conn.execute("ALTER TABLE reservations DROP COLUMN plan")
    conn.execute("UPDATE schema_version SET version = 2")
    conn.commit()
    conn.close()
    with StateStore(path, now=NOW) as st:
        state = st.load()
    assert state.hosts == [_host()]
    assert state.reservations == [{**_reservation(4), "plan": None}]
