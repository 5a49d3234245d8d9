"""The store contract: the same cases on SQLite and on a 3-member clustered OVSDB.

The cluster is real: three ``ovsdb-server`` processes on loopback (``vnstitch.cluster.members``),
started once for the module; each case starts from an emptied database.
"""

from __future__ import annotations

import shutil
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

from vnstitch.clock import rfc3339
from vnstitch.cluster.availability import Availability
from vnstitch.cluster.members import LocalCluster, start_local
from vnstitch.cluster.ovsdb_store import ClusterStore, Fenced
from vnstitch.store.interface import Store, StoreUnavailable
from vnstitch.store.records import HostRecord, IntentRecord, ReservationRecord
from vnstitch.store.schema import AlreadyStored, StoreError
from vnstitch.store.sqlite import StateStore

NOW = 1_795_000_000.0
HAVE_OVSDB = shutil.which("ovsdb-server") is not None and shutil.which("ovsdb-tool") is not None


def _at(seconds: float) -> str:
    return rfc3339(NOW + seconds)


def _intent(number: int, state: str = "SUBMITTED") -> IntentRecord:
    return {
        "id": f"intent-{number}",
        "kind": "connectivity",
        "body": {"kind": "connectivity", "src": "h1", "dst": "h3", "bandwidth_mbps": 10.0},
        "state": state,
        "reason": None if state != "FAILED" else "no path from h1 to h3",
        "created_at": _at(number),
        "updated_at": _at(number + 0.5),
        "reservation_ids": [number, number + 100],
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
            "detours": [{"reverse": False, "hop": 0, "path": ["0000000000000001"]}],
            "group_ids": [{"dpid": "0000000000000001", "reverse": True, "group_id": 9}],
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
        "source": "learned",
        "last_seen": _at(3),
    }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    if not HAVE_OVSDB:
        pytest.skip("ovsdb-server is not installed (scripts/setup.sh installs it)")
    members = start_local(tmp_path_factory.mktemp("store"), 3)
    yield members
    members.stop()


def _wipe(store: ClusterStore) -> None:
    tables = ("Intent", "Reservation", "Host", "Leadership")
    store.transact([{"op": "delete", "table": t, "where": []} for t in tables])
    store.transact([{"op": "update", "table": "Counter", "where": [], "row": {"next": 1}}])


class Opener(typing.Protocol):
    def __call__(self) -> Store: ...


@pytest.fixture(params=["sqlite", "cluster"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the store under test again (a second connection to the same state)."""
    opened: list[Store] = []
    if request.param == "sqlite":

        def opener() -> Store:
            opened.append(StateStore(tmp_path / "state.db", now=NOW))
            return opened[-1]
    else:
        members: LocalCluster = request.getfixturevalue("cluster")
        first = ClusterStore(members.address)
        _wipe(first)
        opened.append(first)

        def opener() -> Store:
            opened.append(ClusterStore(members.address))
            return opened[-1]

    yield opener
    for store in opened:
        store.close()


def test_a_new_store_is_empty_with_counters_at_one(open_store: Opener) -> None:
    state = open_store().load()
    assert (state.intents, state.reservations, state.hosts) == ([], [], [])
    assert state.counters == {"intent": 1, "reservation": 1}


def test_intents_round_trip_in_creation_order(open_store: Opener) -> None:
    st = open_store()
    st.add_intent(_intent(1))
    st.add_intent(_intent(2, "FAILED"))
    again = open_store()
    assert again.load().intents == [_intent(1), _intent(2, "FAILED")]
    assert again.get_intent("intent-2") == _intent(2, "FAILED")
    assert again.get_intent("intent-9") is None


def test_adding_an_existing_intent_is_an_error_not_a_duplicate(open_store: Opener) -> None:
    st = open_store()
    st.add_intent(_intent(1))
    with pytest.raises(AlreadyStored):
        st.add_intent(_intent(1, "FAILED"))
    assert st.load().intents == [_intent(1)]


def test_updates_and_deletes(open_store: Opener) -> None:
    st = open_store()
    st.add_intent(_intent(1))
    st.add_intent(_intent(2))
    updated = _intent(1, "INSTALLED")
    st.update_intent(updated)
    with pytest.raises(StoreError, match="intent-5"):
        st.update_intent(_intent(5))
    assert st.delete_intent("intent-2") and not st.delete_intent("intent-2")
    assert open_store().load().intents == [updated]


def test_reservations_are_replaced_by_id_with_their_plans(open_store: Opener) -> None:
    st = open_store()
    st.put_reservation(_reservation(2))
    st.put_reservation(_reservation(1))
    st.put_reservation({**_reservation(2, "DEGRADED"), "plan": None, "origin_ref": None})
    assert st.delete_reservation(1) and not st.delete_reservation(1)
    (only,) = open_store().load().reservations
    assert only == {**_reservation(2, "DEGRADED"), "plan": None, "origin_ref": None}
    st.put_reservation(_reservation(2))
    assert open_store().load().reservations == [_reservation(2)]


def test_hosts_keep_datapath_ids_beyond_signed_64_bits(open_store: Opener) -> None:
    st = open_store()
    big = _host("00:00:00:00:00:02", switch=0xFFFF_0000_0000_0001)
    bare: HostRecord = {
        **_host("00:00:00:00:00:03", switch=None),
        "ip": None,
        "port": None,
        "last_seen": None,
    }
    st.put_host(_host())
    st.put_host(big)
    st.put_host({**_host(), "zone": "blue"})
    st.put_host(bare)
    assert st.delete_host("00:00:00:00:00:02") and not st.delete_host("00:00:00:00:00:02")
    st.put_host(big)
    hosts = sorted(open_store().load().hosts, key=lambda h: h["mac"])
    assert hosts == [{**_host(), "zone": "blue"}, big, bare]


def test_ids_are_never_handed_out_twice_across_connections(open_store: Opener) -> None:
    st = open_store()
    assert [st.take_id("intent") for _ in range(3)] == [1, 2, 3]
    st.raise_counter("reservation", 40)
    st.raise_counter("reservation", 10)  # never lowers
    assert st.take_id("reservation") == 40
    again = open_store()
    assert again.take_id("intent") == 4
    assert again.load().counters == {"intent": 5, "reservation": 41}


def test_atomic_groups_writes_and_an_error_inside_leaves_nothing(open_store: Opener) -> None:
    st = open_store()
    with pytest.raises(RuntimeError), st.atomic():
        number = st.take_id("intent")
        st.add_intent(_intent(number))
        with st.atomic():  # nested: joins the outer transaction
            st.put_reservation(_reservation(1))
        raise RuntimeError("crash before the commit")
    state = open_store().load()
    assert (state.intents, state.reservations) == ([], [])
    assert state.counters["intent"] == 1
    with st.atomic():
        assert [st.take_id("intent"), st.take_id("intent")] == [1, 2]
        st.add_intent(_intent(2))
        st.put_reservation(_reservation(1))
        st.raise_counter("reservation", 2)
    state = open_store().load()
    assert [r["id"] for r in state.intents] == ["intent-2"] and len(state.reservations) == 1
    assert state.counters == {"intent": 3, "reservation": 2}


def test_a_failed_check_inside_atomic_leaves_nothing(open_store: Opener) -> None:
    st = open_store()
    st.add_intent(_intent(1))
    with pytest.raises(StoreError), st.atomic():
        st.put_reservation(_reservation(1))
        st.add_intent(_intent(1))  # a duplicate: the whole transaction fails
    assert open_store().load().reservations == []


def test_times_that_are_not_rfc3339_are_refused(open_store: Opener) -> None:
    st = open_store()
    with pytest.raises(StoreError, match="RFC 3339"):
        st.put_reservation({**_reservation(1), "created_at": 940.07})  # type: ignore[typeddict-item]
    assert st.load().reservations == []


# ---- the cluster only ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_write_commits_with_one_member_down_and_waits_for_a_majority(
    cluster: LocalCluster,
) -> None:
    st = ClusterStore(cluster.address, timeout_s=3.0)
    _wipe(st)
    st.add_intent(_intent(1))
    try:
        cluster.stop_member(0)
        st.add_intent(_intent(2))  # two of three: still a majority
        cluster.stop_member(1)
        with pytest.raises(StoreUnavailable, match=r"cannot commit \(a majority of its members"):
            st.add_intent(_intent(3))
    finally:
        cluster.start_member(0)
        cluster.start_member(1)
    cluster.wait_ready()
    again = ClusterStore(cluster.address)
    ids = [r["id"] for r in again.load().intents]
    assert ids[:2] == ["intent-1", "intent-2"]  # what was acknowledged is kept
    again.close()
    st.close()


def test_a_fenced_store_writes_nothing_once_the_generation_moved_on(
    cluster: LocalCluster,
) -> None:
    st = ClusterStore(cluster.address)
    _wipe(st)
    row = {"name": "controller", "generation": 4, "leader": "a", "url": "", "since": _at(0)}
    st.transact([{"op": "insert", "table": "Leadership", "row": row}])
    st.fence = 4
    st.add_intent(_intent(1))
    st.transact(
        [{"op": "update", "table": "Leadership", "where": [], "row": {"generation": 5}}],
    )
    with pytest.raises(Fenced, match="generation 4"):
        st.add_intent(_intent(2))
    st.fence = None
    assert [r["id"] for r in st.load().intents] == ["intent-1"]
    st.close()


@pytest.mark.slow
def test_without_a_majority_writes_are_refused_at_once_until_a_probe_commits(
    cluster: LocalCluster,
) -> None:
    availability = Availability(probe_every_s=3600.0)  # probes only when the test says so
    st = ClusterStore(cluster.address, timeout_s=3.0, availability=availability)
    _wipe(st)
    st.add_intent(_intent(1))
    try:
        cluster.stop_member(0)
        cluster.stop_member(1)
        with pytest.raises(StoreUnavailable, match="cannot commit"):
            st.add_intent(_intent(2))  # the first write finds it out
        assert not availability.available
        with pytest.raises(StoreUnavailable, match="refused at once"):
            st.add_intent(_intent(3))
        assert "refused at once" in (st.refusal() or "")
    finally:
        cluster.start_member(0)
        cluster.start_member(1)
    cluster.wait_ready()
    with pytest.raises(StoreUnavailable, match="refused at once"):  # back, but no probe due yet
        st.add_intent(_intent(4))
    availability.next_probe = 0.0  # a probe is due: it finds the leader
    assert st.refusal() is None and availability.available
    st.add_intent(_intent(5))
    ids = [r["id"] for r in st.load().intents]
    # a write that timed out on a leader cut off may commit once members return (its outcome
    # was unknown); the ones refused at once never reached a member
    assert [i for i in ids if i != "intent-2"] == ["intent-1", "intent-5"]
    st.close()
