"""ClusterStore: the ``Store`` interface on a clustered OVSDB (Raft across several members).

A write is one OVSDB transaction sent to the Raft leader; ovsdb-server answers it only once a
majority of members has it in their logs, so a write that returned is committed and survives
the loss of any minority of members. ``atomic()`` gathers the writes of a block into one
transaction. A write that cannot be committed in ``timeout_s`` (no leader: fewer than a
majority of members alive) raises ``StoreUnavailable`` naming every member and why.

Once the controller holds leadership, ``fence`` is its generation: every write then carries a
``wait`` on the stored generation, so a leader that was replaced (paused, partitioned) writes
nothing: its transaction fails as ``Fenced``.

Given an ``Availability`` (the leader's store, shared with its elector), it fails fast: once the
store was seen without a majority, transactions are refused at once until a short probe (at
most one a second) or the elector's heartbeat commits again (``vnstitch/cluster/availability.py``).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from vnstitch.cluster.availability import PROBE_TIMEOUT_S, Availability, Check
from vnstitch.cluster.rpc import Connection, RpcError, parse_remote
from vnstitch.cluster.schema import DATABASE
from vnstitch.store.interface import StoreUnavailable
from vnstitch.store.records import (
    COUNTERS,
    Counter,
    HostRecord,
    IntentRecord,
    ReservationRecord,
    StoredState,
)
from vnstitch.store.schema import AlreadyStored, StoreError
from vnstitch.store.sqlite import _json, _loaded_history, _loaded_time, _time

LEADERSHIP_ROW = "controller"
UNAVAILABLE = "the store cannot commit (a majority of its members must be up and connected)"
_RECHECK_IDLE_S = 1.0  # a connection idle this long is checked to still reach the leader
FOLLOWER = "a follower"  # connected to a majority, not leading it (an election may be under way)
_PERMANENT = {"constraint violation", "syntax error", "unknown database", "resources exhausted"}


class Fenced(StoreUnavailable):
    """This controller's generation is no longer the stored one: another instance leads."""


def optional(value: Any) -> Any:
    """A Python value (None: absent) as an OVSDB optional atom."""
    return ["set", []] if value is None else value


def unoptional(value: Any) -> Any:
    """An OVSDB optional atom read back (None: absent)."""
    if isinstance(value, list) and value and value[0] == "set":
        return value[1][0] if value[1] else None
    return value


def _eq(column: str, value: Any) -> list[Any]:
    return [column, "==", value]


def connect_to_leader(
    remotes: list[str], deadline: float, *, until_no_majority: bool = False
) -> Connection:
    """A session with the member that leads the Raft cluster, waiting until ``deadline``.

    StoreUnavailable naming every member and why it is not usable, if none leads by then; with
    ``until_no_majority``, at once when no member is even connected to a majority (each one
    unreachable or "not connected": an election cannot end before members come back).
    """
    reasons: dict[str, str] = {}
    while True:
        reasons.clear()
        for remote in remotes:
            try:
                conn = Connection(remote, max(0.2, min(1.0, deadline - time.monotonic())))
            except RpcError as exc:
                reasons[remote] = str(exc).removeprefix(f"{remote}: ")
                continue
            try:
                reason = why_not_leader(conn)
            except RpcError as exc:
                reason = str(exc).removeprefix(f"{remote}: ")
            if reason is None:
                return conn
            conn.close()
            reasons[remote] = reason
        hopeless = until_no_majority and all(why != FOLLOWER for why in reasons.values())
        if hopeless or time.monotonic() >= deadline:
            detail = "; ".join(f"{r}: {why}" for r, why in reasons.items())
            raise StoreUnavailable(f"{UNAVAILABLE}: no member leads a majority ({detail})")
        time.sleep(0.05)


def _why(exc: StoreUnavailable) -> str:
    """The reason in a StoreUnavailable, without the common prefix."""
    return str(exc).removeprefix(f"{UNAVAILABLE}: ")


def why_not_leader(conn: Connection) -> str | None:
    """None if ``conn`` reaches the Raft leader (or a standalone server), else why not."""
    select = {
        "op": "select",
        "table": "Database",
        "where": [_eq("name", DATABASE)],
        "columns": ["model", "leader", "connected"],
    }
    (reply,) = conn.call("transact", ["_Server", select])
    rows = reply.get("rows", [])
    if not rows:
        return f"holds no {DATABASE} database"
    row = rows[0]
    if row["model"] == "standalone":
        return None
    if not row["connected"]:
        return "not connected to the cluster (no majority)"
    return None if row["leader"] else FOLLOWER


class _Failed(Exception):
    """A transaction failed for a reason that retrying cannot change."""

    def __init__(self, index: int, error: dict[str, Any], retried: bool) -> None:
        super().__init__(f"op {index}: {error}")
        self.index = index
        self.error = error
        self.retried = retried  # an earlier attempt's outcome was unknown


class ClusterStore:
    """The controller's durable state in the clustered OVSDB at ``address``."""

    def __init__(
        self, address: str, *, timeout_s: float = 5.0, availability: Availability | None = None
    ) -> None:
        """Connect to ``address`` (comma-separated ``tcp:HOST:PORT`` / ``unix:PATH`` members).

        With ``availability``, fail fast while the store has no majority (see the module).
        """
        self.address = address
        self.remotes = [r.strip() for r in address.split(",") if r.strip()]
        if not self.remotes:
            raise StoreError("store address is empty: give tcp:HOST:PORT,... of its members")
        try:
            for remote in self.remotes:
                parse_remote(remote)
        except ValueError as exc:
            raise StoreError(str(exc)) from exc
        self.timeout_s = timeout_s
        self.availability = availability
        self.fence: int | None = None
        self._conn: Connection | None = None
        self._pending: list[tuple[dict[str, Any], str | None]] | None = None
        self._taken: dict[str, int] = {}
        self._closed = False
        self._ensure_counters()

    @property
    def description(self) -> str:
        """The member list, for log lines."""
        return f"the store cluster {self.address}"

    # ---- connection -----------------------------------------------------------------------
    def leader_connection(self, deadline: float) -> Connection:
        """A session with the member that leads the Raft cluster, waiting until ``deadline``."""
        fail_fast = self.availability is not None
        return connect_to_leader(self.remotes, deadline, until_no_majority=fail_fast)

    def refusal(self) -> str | None:
        """Why a write would be refused now (None: try it); probes the store if a probe is due.

        Only with an ``availability``: lets the controller refuse a command before it runs.
        """
        availability = self.availability
        if availability is None:
            return None
        now = time.monotonic()
        match availability.check(now):
            case Check.GO:
                return None
            case Check.REFUSE:
                return f"{UNAVAILABLE}: {availability.refusal(now)}"
        self._drop()  # a probe looks afresh
        try:
            self._connection(now + PROBE_TIMEOUT_S)
        except StoreUnavailable as exc:
            availability.lost(time.monotonic(), _why(exc))
            return f"{UNAVAILABLE}: {availability.refusal(time.monotonic())}"
        availability.regained(time.monotonic())
        return None

    def _connection(self, deadline: float) -> Connection:
        conn = self._conn
        if conn is not None and time.monotonic() - conn.last_used > _RECHECK_IDLE_S:
            try:
                if why_not_leader(conn) is not None:
                    self._drop()
            except RpcError:
                self._drop()
        if self._conn is None:
            self._conn = self.leader_connection(deadline)
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        """Close the session (committed data stays in the cluster)."""
        self._closed = True
        self._drop()

    def __enter__(self) -> ClusterStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- transactions ---------------------------------------------------------------------
    def transact(self, ops: list[dict[str, Any]], *, write: bool = True) -> tuple[list[Any], bool]:
        """Run ``ops`` in one transaction (fenced if a write); (results, whether retried).

        A failure of the connection or of the leader is retried on the next leader until
        ``timeout_s``; ``_Failed`` for a failure retrying cannot change. With an
        ``availability``: refused at once while the store is seen without a majority.
        """
        if self._closed:
            raise StoreError(f"{self.description} is closed")
        availability = self.availability
        timeout_s = self.timeout_s
        if availability is not None:
            now = time.monotonic()
            match availability.check(now):
                case Check.REFUSE:
                    raise StoreUnavailable(f"{UNAVAILABLE}: {availability.refusal(now)}")
                case Check.PROBE:
                    timeout_s = PROBE_TIMEOUT_S
        try:
            outcome = self._transact(ops, write, timeout_s)
        except (Fenced, _Failed):  # the store answered: it commits, this one failed
            if availability is not None:
                availability.regained(time.monotonic())
            raise
        except StoreUnavailable as exc:
            if availability is not None:
                availability.lost(time.monotonic(), _why(exc))
            raise
        if availability is not None:
            availability.regained(time.monotonic())
        return outcome

    def _transact(
        self, ops: list[dict[str, Any]], write: bool, timeout_s: float
    ) -> tuple[list[Any], bool]:
        fenced = write and self.fence is not None
        if fenced:
            ops = [self._fence_op(), *ops]
        deadline = time.monotonic() + timeout_s
        retried = False
        last = ""
        while True:
            conn = self._connection(deadline)
            try:
                left = max(0.2, deadline - time.monotonic())
                results = conn.call("transact", [DATABASE, *ops], left)
            except RpcError as exc:
                self._drop()
                last = str(exc)
                if time.monotonic() >= deadline:
                    raise StoreUnavailable(f"{UNAVAILABLE}: {last}") from exc
                retried = True
                continue
            failure = next(
                (
                    (i, r)
                    for i, r in enumerate(results)
                    if isinstance(r, dict) and r.get("error") is not None
                ),
                None,
            )
            if failure is None:
                return (results[1:] if fenced else results), retried
            index, error = failure
            if fenced and index == 0:
                raise Fenced(
                    f"generation {self.fence} is no longer the leader's: this instance was"
                    " replaced, nothing written"
                )
            if error["error"] in _PERMANENT or error["error"] == "timed out":
                raise _Failed(index - 1 if fenced else index, error, retried)
            self._drop()
            last = f"{error['error']}: {error.get('details', '')}"
            if time.monotonic() >= deadline:
                raise StoreUnavailable(f"{UNAVAILABLE}: {last}")
            retried = True

    def _fence_op(self) -> dict[str, Any]:
        return {
            "op": "wait",
            "table": "Leadership",
            "where": [_eq("name", LEADERSHIP_ROW)],
            "columns": ["generation"],
            "until": "==",
            "rows": [{"generation": self.fence}],
            "timeout": 0,
        }

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction around the block: committed at its end, nothing on an error."""
        if self._pending is not None:
            yield
            return
        self._pending = []
        self._taken = {}
        try:
            yield
            pending = self._pending
        finally:
            self._pending = None
            self._taken = {}
        if pending:
            self._commit(pending)

    def _write(self, steps: list[tuple[dict[str, Any], str | None]]) -> list[Any] | None:
        """Commit ``steps`` now (their results), or add them to the open ``atomic`` block."""
        if self._pending is not None:
            self._pending.extend(steps)
            return None
        return self._commit(steps)

    def _commit(self, steps: list[tuple[dict[str, Any], str | None]]) -> list[Any]:
        try:
            results, _ = self.transact([op for op, _ in steps])
        except _Failed as exc:
            raise self._error(steps, exc) from None
        return results

    @staticmethod
    def _error(steps: list[tuple[dict[str, Any], str | None]], exc: _Failed) -> StoreError:
        kind = exc.error["error"]
        details = exc.error.get("details", "")
        if kind == "constraint violation":
            return AlreadyStored(f"not stored: a record with this id is already stored ({details})")
        if 0 <= exc.index < len(steps) and steps[exc.index][1] is not None:
            return StoreError(str(steps[exc.index][1]))
        return StoreError(f"write not stored ({kind}: {details})")

    # ---- counters -------------------------------------------------------------------------
    def _ensure_counters(self) -> None:
        select = {"op": "select", "table": "Counter", "where": [], "columns": ["name"]}
        (reply,), _ = self.transact([select], write=False)
        have = {row["name"] for row in reply["rows"]}
        for name in COUNTERS:
            if name not in have:
                insert = {"op": "insert", "table": "Counter", "row": {"name": name, "next": 1}}
                with contextlib.suppress(_Failed):  # another instance inserted it first
                    self.transact([insert])

    def _counter(self, counter: str) -> int:
        select = {"op": "select", "table": "Counter", "where": [_eq("name", counter)]}
        (reply,), _ = self.transact([select], write=False)
        return int(reply["rows"][0]["next"])

    def take_id(self, counter: Counter) -> int:
        """The next number of ``counter``, never handed out again."""
        bump = {
            "op": "mutate",
            "table": "Counter",
            "where": [_eq("name", counter)],
            "mutations": [["next", "+=", 1]],
        }
        if self._pending is None:
            select = {"op": "select", "table": "Counter", "where": [_eq("name", counter)]}
            results = self._commit([(bump, None), (select, None)])
            return int(results[1]["rows"][0]["next"]) - 1
        if counter not in self._taken:  # inside atomic: commit only if nobody took it meanwhile
            self._taken[counter] = self._counter(counter)
            guard = {
                "op": "wait",
                "table": "Counter",
                "where": [_eq("name", counter)],
                "columns": ["next"],
                "until": "==",
                "rows": [{"next": self._taken[counter]}],
                "timeout": 0,
            }
            self._pending.append((guard, f"{counter} id taken concurrently; nothing written"))
        value = self._taken[counter]
        self._taken[counter] = value + 1
        self._pending.append((bump, None))
        return value

    def raise_counter(self, counter: Counter, next_value: int) -> None:
        """Make the next number of ``counter`` at least ``next_value``."""
        if counter in self._taken:
            self._taken[counter] = max(self._taken[counter], next_value)
        update = {
            "op": "update",
            "table": "Counter",
            "where": [_eq("name", counter), ["next", "<", next_value]],
            "row": {"next": next_value},
        }
        self._write([(update, None)])

    # ---- intents --------------------------------------------------------------------------
    def add_intent(self, record: IntentRecord) -> None:
        """Store a new intent; AlreadyStored if its id is taken (never a duplicate)."""
        insert = {"op": "insert", "table": "Intent", "row": self._intent_row(record)}
        if self._pending is not None:
            self._pending.append((insert, None))
            return
        try:
            self.transact([insert])
        except _Failed as exc:
            landed = exc.retried and exc.error["error"] == "constraint violation"
            if landed and self.get_intent(record["id"]) == record:
                return  # the first attempt committed before its answer was lost
            raise self._error([(insert, None)], exc) from None

    def update_intent(self, record: IntentRecord) -> None:
        """Replace a stored intent's state, reason, reservations and history."""
        where = [_eq("id", record["id"])]
        exists = {
            "op": "wait",
            "table": "Intent",
            "where": where,
            "columns": ["id"],
            "until": "!=",
            "rows": [],
            "timeout": 0,
        }
        update = {
            "op": "update",
            "table": "Intent",
            "where": where,
            "row": self._intent_row(record),
        }
        self._write(
            [(exists, f"intent {record['id']} is not stored in {self.description}"), (update, None)]
        )

    def delete_intent(self, intent_id: str) -> bool:
        """Forget an intent; False if it was not stored."""
        return self._delete("Intent", _eq("id", intent_id))

    def _delete(self, table: str, where: list[Any]) -> bool:
        results = self._write([({"op": "delete", "table": table, "where": [where]}, None)])
        return True if results is None else int(results[0]["count"]) == 1

    def get_intent(self, intent_id: str) -> IntentRecord | None:
        """One committed intent, if present."""
        select = {"op": "select", "table": "Intent", "where": [_eq("id", intent_id)]}
        (reply,), _ = self.transact([select], write=False)
        rows = reply["rows"]
        return self._intent(rows[0]) if rows else None

    @staticmethod
    def _intent_row(r: IntentRecord) -> dict[str, Any]:
        what = f"intent {r['id']}"
        for entry in r["history"]:
            _time(entry["time"], f"{what} history")
        return {
            "id": r["id"],
            "kind": r["kind"],
            "body": _json(r["body"]),
            "state": r["state"],
            "reason": optional(r["reason"]),
            "created_at": _time(r["created_at"], f"{what} created_at"),
            "updated_at": _time(r["updated_at"], f"{what} updated_at"),
            "reservation_ids": _json(r["reservation_ids"]),
            "history": _json(r["history"]),
        }

    # ---- reservations ---------------------------------------------------------------------
    def put_reservation(self, record: ReservationRecord) -> None:
        """Store a reservation, replacing the stored one with the same id."""
        what = f"reservation {record['id']}"
        row = {
            "id": record["id"],
            "request": _json(record["request"]),
            "state": record["state"],
            "reason": optional(record["reason"]),
            "origin": record["origin"],
            "origin_ref": optional(record["origin_ref"]),
            "created_at": _time(record["created_at"], f"{what} created_at"),
            "updated_at": _time(record["updated_at"], f"{what} updated_at"),
            "plan": optional(None if record["plan"] is None else _json(record["plan"])),
        }
        self._replace("Reservation", _eq("id", record["id"]), row)

    def _replace(self, table: str, where: list[Any], row: dict[str, Any]) -> None:
        delete = {"op": "delete", "table": table, "where": [where]}
        self._write([(delete, None), ({"op": "insert", "table": table, "row": row}, None)])

    def delete_reservation(self, reservation_id: int) -> bool:
        """Forget a reservation; False if it was not stored."""
        return self._delete("Reservation", _eq("id", reservation_id))

    # ---- hosts ----------------------------------------------------------------------------
    def put_host(self, record: HostRecord) -> None:
        """Store a host, replacing the stored one with the same MAC."""
        switch = record["switch"]
        last_seen = record["last_seen"]
        if last_seen is not None:
            last_seen = _time(last_seen, f"host {record['mac']} last_seen")
        row = {
            "mac": record["mac"],
            "name": record["name"],
            "ip": optional(record["ip"]),
            "switch": optional(None if switch is None else f"{switch:016x}"),
            "port": optional(record["port"]),
            "zone": record["zone"],
            "cpu": float(record["cpu"]),
            "memory_mb": float(record["memory_mb"]),
            "storage_gb": float(record["storage_gb"]),
            "source": record["source"],
            "last_seen": optional(last_seen),
        }
        self._replace("Host", _eq("mac", record["mac"]), row)

    def delete_host(self, mac: str) -> bool:
        """Forget a host; False if it was not stored."""
        return self._delete("Host", _eq("mac", mac))

    # ---- restore --------------------------------------------------------------------------
    def load(self) -> StoredState:
        """Everything committed, read in one transaction (one consistent snapshot)."""
        tables = ("Intent", "Reservation", "Host", "Counter")
        selects = [{"op": "select", "table": t, "where": []} for t in tables]
        results, _ = self.transact(selects, write=False)
        intents, reservations, hosts, counters = (r["rows"] for r in results)
        try:
            return StoredState(
                intents=[
                    self._intent(r)
                    for r in sorted(intents, key=lambda r: (r["created_at"], r["id"]))
                ],
                reservations=[
                    self._reservation(r) for r in sorted(reservations, key=lambda r: r["id"])
                ],
                hosts=[self._host(r) for r in sorted(hosts, key=lambda r: (r["name"], r["mac"]))],
                counters={r["name"]: int(r["next"]) for r in counters},
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(
                f"{self.description} holds a damaged record ({exc}); restore a backup"
            ) from exc

    @staticmethod
    def _intent(row: dict[str, Any]) -> IntentRecord:
        return {
            "id": row["id"],
            "kind": row["kind"],
            "body": json.loads(row["body"]),
            "state": row["state"],
            "reason": unoptional(row["reason"]),
            "created_at": _loaded_time(row["created_at"]),
            "updated_at": _loaded_time(row["updated_at"]),
            "reservation_ids": json.loads(row["reservation_ids"]),
            "history": _loaded_history(row["history"]),
        }

    @staticmethod
    def _reservation(row: dict[str, Any]) -> ReservationRecord:
        plan = unoptional(row["plan"])
        return {
            "id": int(row["id"]),
            "request": json.loads(row["request"]),
            "state": row["state"],
            "reason": unoptional(row["reason"]),
            "origin": row["origin"],
            "origin_ref": unoptional(row["origin_ref"]),
            "created_at": _loaded_time(row["created_at"]),
            "updated_at": _loaded_time(row["updated_at"]),
            "plan": None if plan is None else json.loads(plan),
        }

    @staticmethod
    def _host(row: dict[str, Any]) -> HostRecord:
        switch = unoptional(row["switch"])
        last_seen = unoptional(row["last_seen"])
        return {
            "name": row["name"],
            "mac": row["mac"],
            "ip": unoptional(row["ip"]),
            "switch": None if switch is None else int(switch, 16),
            "port": unoptional(row["port"]),
            "zone": row["zone"],
            "cpu": float(row["cpu"]),
            "memory_mb": float(row["memory_mb"]),
            "storage_gb": float(row["storage_gb"]),
            "source": row["source"],
            "last_seen": None if last_seen is None else _loaded_time(last_seen),
        }
