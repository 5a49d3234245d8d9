"""The SQLite state store: round trips, durability across reopen and crash, isolation."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import typing
from pathlib import Path

import pytest

import vnstitch.intents.model
import vnstitch.store.records
from vnstitch.intents.lifecycle import advance, new_intent, with_reservations
from vnstitch.intents.model import ConnectivitySpec, Intent, IntentState, IsolationSpec, ZoneRef
from vnstitch.store.records import HostRecord, IntentRecord, ReservationRecord
from vnstitch.store.sqlite import AlreadyStored, StateStore, StoreError

REPO = Path(__file__).resolve().parents[2]


def _intent(number: int) -> IntentRecord:
    intent = new_intent(number, IsolationSpec(("h1", "h2"), ZoneRef("pci")), float(number))
    return intent.to_record()


def _reservation(res_id: int, state: str = "ACTIVE") -> ReservationRecord:
    return {
        "id": res_id,
        "request": {"src": "h1", "dst": "h3", "bandwidth_mbps": 10.0, "zones": ["blue"]},
        "state": state,
        "reason": None,
        "origin": "intent",
        "origin_ref": "intent-1",
        "created_at": 1.0,
        "updated_at": 2.0,
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
    }


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite"


def test_a_new_store_is_empty_with_counters_at_one(path: Path) -> None:
    with StateStore(path) as st:
        state = st.load()
    assert (state.intents, state.reservations, state.hosts) == ([], [], [])
    assert state.counters == {"intent": 1, "reservation": 1}


def test_intents_round_trip_losslessly_across_reopen(path: Path) -> None:
    spec = ConnectivitySpec("h1", "h3", 10.0, 20.0, frozenset({"blue"}), frozenset({"red"}))
    intent = advance(new_intent(1, spec, 1.0), IntentState.COMPILING, 2.0)
    intent = with_reservations(advance(intent, IntentState.FAILED, 3.0, "no path"), (7,), 3.0)
    with StateStore(path) as st:
        st.add_intent(intent.to_record())
        st.add_intent(_intent(2))
    with StateStore(path) as st:
        records = st.load().intents
        assert st.get_intent("intent-1") == records[0]
        assert st.get_intent("intent-9") is None
    assert [Intent.from_record(r) for r in records] == [
        intent,
        Intent.from_record(_intent(2)),
    ]


def test_adding_an_existing_intent_is_an_error_not_a_duplicate(path: Path) -> None:
    with StateStore(path) as st:
        st.add_intent(_intent(1))
        changed = {**_intent(1), "state": "FAILED"}
        with pytest.raises(AlreadyStored, match="intent-1"):
            st.add_intent(typing.cast(IntentRecord, changed))
        assert st.load().intents == [_intent(1)]


def test_updates_and_deletes(path: Path) -> None:
    with StateStore(path) as st:
        st.add_intent(_intent(1))
        st.add_intent(_intent(2))
        updated = {**_intent(1), "state": "INSTALLED", "reservation_ids": [3, 4]}
        st.update_intent(typing.cast(IntentRecord, updated))
        with pytest.raises(StoreError, match="intent-5"):
            st.update_intent(_intent(5))
        assert st.delete_intent("intent-2") and not st.delete_intent("intent-2")
        assert st.load().intents == [updated]


def test_reservations_are_replaced_by_id(path: Path) -> None:
    with StateStore(path) as st:
        st.put_reservation(_reservation(2))
        st.put_reservation(_reservation(1))
        st.put_reservation(_reservation(2, "DEGRADED"))
        assert st.delete_reservation(1) and not st.delete_reservation(1)
    with StateStore(path) as st:
        assert st.load().reservations == [_reservation(2, "DEGRADED")]


def test_hosts_keep_datapath_ids_beyond_signed_64_bits(path: Path) -> None:
    big = _host("00:00:00:00:00:02", switch=0xFFFF_0000_0000_0001)
    with StateStore(path) as st:
        st.put_host(_host())
        st.put_host(big)
        st.put_host({**_host(), "zone": "blue"})
        st.put_host(_host("00:00:00:00:00:03", switch=None))
        assert st.delete_host("00:00:00:00:00:03")
    with StateStore(path) as st:
        hosts = st.load().hosts
    assert sorted(hosts, key=lambda h: h["mac"]) == [{**_host(), "zone": "blue"}, big]


def test_ids_are_never_handed_out_twice_even_after_reopen(path: Path) -> None:
    with StateStore(path) as st:
        assert [st.take_id("intent") for _ in range(3)] == [1, 2, 3]
        st.raise_counter("reservation", 40)
        st.raise_counter("reservation", 10)  # never lowers
        assert st.take_id("reservation") == 40
    with StateStore(path) as st:
        assert st.take_id("intent") == 4
        assert st.load().counters == {"intent": 5, "reservation": 41}


def test_atomic_groups_writes_and_an_error_inside_leaves_nothing(path: Path) -> None:
    with StateStore(path) as st:
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
        "st = StateStore(sys.argv[1]); first, second = json.loads(sys.argv[2])\n"
        "st.add_intent(first)\n"
        "with st.atomic():\n"
        "    st.add_intent(second)\n"
        "    os._exit(9)\n"
    )
    assert _run(path, code) == 9
    with StateStore(path) as st:
        assert [r["id"] for r in st.load().intents] == ["intent-1"]


def test_a_reader_sees_only_committed_data(path: Path) -> None:
    with StateStore(path) as writer, StateStore(path) as reader:
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
        StateStore(path)
    assert "move the file away" in str(err.value)


def test_another_applications_database_is_refused(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a vnstitch state store"):
        StateStore(path)


def test_a_different_schema_version_is_refused(path: Path) -> None:
    StateStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version \\[99\\]"):
        StateStore(path)


def test_a_damaged_record_is_reported_on_load(path: Path) -> None:
    with StateStore(path) as st:
        st.add_intent(_intent(1))
    conn = sqlite3.connect(path)
    conn.execute("UPDATE intents SET body = '{not json'")
    conn.commit()
    conn.close()
    with StateStore(path) as st, pytest.raises(StoreError, match="damaged record"):
        st.load()


def test_a_missing_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="create the folder"):
        StateStore(tmp_path / "nowhere" / "state.sqlite")


def test_store_and_intent_records_have_the_same_shape() -> None:
    assert typing.get_type_hints(vnstitch.store.records.IntentRecord) == typing.get_type_hints(
        vnstitch.intents.model.IntentRecord
    )
