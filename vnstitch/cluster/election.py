"""The elector: leadership of the controller cluster through an OVSDB lock on the store.

As ovn-northd does for active/standby: every instance asks the store's Raft leader for the same
named lock (``lock``); the server grants it to one session and queues the others, and hands it
on at once when the holder's session ends (a killed process closes its socket). The holder
takes over in one transaction: the stored **generation** +1, its name and REST URL. A holder
that is alive but silent (paused, partitioned: its socket stays open) is replaced by ``steal``:
a follower that sees the leader's heartbeat row unchanged for ``steal_after_s`` of its own
monotonic clock (plus a random part, so two followers rarely race) steals the lock; the old
holder is told ``stolen`` when it runs again, and its writes are fenced by the generation
meanwhile. Every instance writes its own heartbeat row (name, URL, role, generation, time);
followers write nothing else.

Given the leader's store ``Availability``, the elector shares what it sees: no member connected
to a majority (the store is unavailable: the leader's writes are refused at once) or a heartbeat
committed (available again). Meanwhile the lead does not move: no instance can commit a takeover
without a majority, and a leader keeps its role, core and switches (nothing it writes is
committed, so fencing holds: every write still carries its generation).

Runs in its own (green) thread; it reports through three callbacks and touches nothing else.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vnstitch.clock import rfc3339
from vnstitch.cluster.availability import Availability
from vnstitch.cluster.ovsdb_store import LEADERSHIP_ROW, UNAVAILABLE, connect_to_leader
from vnstitch.cluster.rpc import Connection, RpcError
from vnstitch.cluster.schema import DATABASE
from vnstitch.store.schema import StoreError

LOG = logging.getLogger("vnstitch.cluster")
LOCK = "vnstitch_leader"
HEARTBEAT_S = 0.25
STEAL_AFTER_S = 1.5
CUT_GRACE_S = 5.0  # after our session was cut, a live leader gets the lock back this long


@dataclass(frozen=True)
class InstanceView:
    """One controller instance as its heartbeat row shows it."""

    name: str
    url: str
    role: str
    generation: int
    heartbeat: str


@dataclass(frozen=True)
class ClusterView:
    """What the store says about leadership, read at each heartbeat."""

    generation: int
    leader: str | None
    leader_url: str | None
    since: str | None
    instances: tuple[InstanceView, ...] = field(default_factory=tuple)


class Elector:
    """Competes for leadership of the cluster whose store is at ``address``."""

    def __init__(
        self,
        address: str,
        instance: str,
        url: str,
        *,
        on_elected: Callable[[int], None],
        on_lost: Callable[[str], None],
        on_seen: Callable[[ClusterView], None],
        heartbeat_s: float = HEARTBEAT_S,
        steal_after_s: float = STEAL_AFTER_S,
        availability: Availability | None = None,
    ) -> None:
        """Report a takeover (the new generation), a loss (why) and every look at the store.

        ``availability``: told when the store has no majority and when it commits again.
        """
        self.remotes = [r.strip() for r in address.split(",") if r.strip()]
        self.instance = instance
        self.url = url
        self.on_elected = on_elected
        self.on_lost = on_lost
        self.on_seen = on_seen
        self.heartbeat_s = heartbeat_s
        self.steal_after_s = steal_after_s + random.uniform(0.0, 1.0)
        self.availability = availability
        self.generation: int | None = None  # ours while leading
        self.stopped = False
        self._cut_at: float | None = None  # when we last lost or failed to get a session

    def run(self) -> None:
        """Compete until ``stop``; a lost session is opened again on the store's leader."""
        while not self.stopped:
            availability = self.availability
            try:
                conn = connect_to_leader(
                    self.remotes, time.monotonic() + 5.0, until_no_majority=availability is not None
                )
            except StoreError as exc:
                self._cut_at = time.monotonic()
                if availability is None:
                    LOG.warning("%s: no store leader to elect with: %s", self.instance, exc)
                    continue
                if availability.available:
                    LOG.warning("%s: the store has no majority: %s", self.instance, exc)
                availability.lost(self._cut_at, str(exc).removeprefix(f"{UNAVAILABLE}: "))
                time.sleep(self.heartbeat_s)  # no majority: look again in a moment
                continue
            try:
                self._session(conn)
            except (RpcError, StoreError, KeyError, IndexError, TypeError) as exc:
                LOG.warning("%s: election session ended: %s", self.instance, exc)
                self._cut_at = time.monotonic()
            finally:
                conn.close()
            time.sleep(0.05)

    def stop(self) -> None:
        """End the loop at its next step (the lock goes with the session)."""
        self.stopped = True

    def _session(self, conn: Connection) -> None:
        holding = bool(conn.call("lock", [LOCK])["locked"])
        beat, beat_changed = None, time.monotonic()
        while not self.stopped:
            view = self._heartbeat(conn)
            if self.availability is not None:
                outage = self.availability.regained(time.monotonic())
                if outage is not None:
                    LOG.warning("%s: the store commits again (after %.1f s)", self.instance, outage)
            self.on_seen(view)
            leader_beat = next((i.heartbeat for i in view.instances if i.name == view.leader), None)
            if leader_beat != beat:
                beat, beat_changed = leader_beat, time.monotonic()
            if holding and self.generation is None:
                if self._leader_reconnecting(view, beat_changed):
                    conn.call("unlock", [LOCK])  # let the live leader have it back
                    holding = bool(conn.call("lock", [LOCK])["locked"])
                else:
                    self._take_over(conn)
                    continue
            if self.generation is not None and view.generation > self.generation:
                self._lose(f"{view.leader} took over with generation {view.generation}")
            if not holding and time.monotonic() - beat_changed > self.steal_after_s:
                holding = self._steal(conn, view)
                beat_changed = time.monotonic()
            note = conn.wait_notification(self.heartbeat_s)
            while note is not None:
                method = note[0]
                if method == "locked":
                    holding = True
                elif method == "stolen":
                    self._lose("another instance stole the leader lock")
                    conn.call("unlock", [LOCK])  # queue again for the lock
                    holding = bool(conn.call("lock", [LOCK])["locked"])
                note = conn.notifications.pop(0) if conn.notifications else None

    def _leader_reconnecting(self, view: ClusterView, beat_changed: float) -> bool:
        """True if the lock came only because every session was cut (a store member failed).

        Then our own session was cut a moment ago too, and the leader's heartbeat is fresh: it
        is alive and reconnecting, and taking over would only churn. A leader that died
        closed its own session while ours stayed up (or ours is a first one): take over.
        """
        now = time.monotonic()
        return (
            view.leader not in (None, self.instance)
            and self._cut_at is not None
            and now - self._cut_at < CUT_GRACE_S
            and now - beat_changed < self.steal_after_s
        )

    def _steal(self, conn: Connection, view: ClusterView) -> bool:
        """Take over from a silent leader, then steal its lock; False if another was first.

        The takeover is a compare-and-set on the generation this follower saw, so of several
        followers that find the leader silent at once exactly one takes over; the others' steps
        fail and they keep waiting.
        """
        try:
            self._take_over(conn, expect=view.generation)
        except StoreError:
            return False
        LOG.warning(
            "%s: leader %s was silent: took over, stealing its lock", self.instance, view.leader
        )
        conn.call("unlock", [LOCK])  # a session waiting for a lock cannot steal it
        return bool(conn.call("steal", [LOCK])["locked"])

    def _lose(self, reason: str) -> None:
        if self.generation is not None:
            self.generation = None
            self.on_lost(reason)

    def _transact(self, conn: Connection, ops: list[dict[str, Any]]) -> list[Any]:
        results: list[Any] = conn.call("transact", [DATABASE, *ops], 5.0)
        for result in results:
            if isinstance(result, dict) and result.get("error") is not None:
                raise StoreError(f"election transaction failed: {result}")
        return results

    def _take_over(self, conn: Connection, expect: int | None = None) -> None:
        """Generation +1 and our name, in one transaction (only from ``expect`` if given)."""
        where = [["name", "==", LEADERSHIP_ROW]]
        (found,) = self._transact(conn, [{"op": "select", "table": "Leadership", "where": where}])
        now = rfc3339(time.time())
        if not found["rows"]:
            row = {"name": LEADERSHIP_ROW, "generation": 0, "leader": "", "url": "", "since": now}
            with contextlib.suppress(StoreError):  # or inserted by another instance meanwhile
                self._transact(conn, [{"op": "insert", "table": "Leadership", "row": row}])
        guard = []
        if expect is not None:
            guard = [
                {
                    "op": "wait",
                    "table": "Leadership",
                    "where": where,
                    "columns": ["generation"],
                    "until": "==",
                    "rows": [{"generation": expect}],
                    "timeout": 0,
                }
            ]
        results = self._transact(
            conn,
            [
                *guard,
                {
                    "op": "mutate",
                    "table": "Leadership",
                    "where": where,
                    "mutations": [["generation", "+=", 1]],
                },
                {
                    "op": "update",
                    "table": "Leadership",
                    "where": where,
                    "row": {"leader": self.instance, "url": self.url, "since": now},
                },
                {"op": "select", "table": "Leadership", "where": where, "columns": ["generation"]},
            ],
        )
        self.generation = int(results[-1]["rows"][0]["generation"])
        LOG.info("%s: took the lead, generation %d", self.instance, self.generation)
        self.on_elected(self.generation)

    def _heartbeat(self, conn: Connection) -> ClusterView:
        role = "leader" if self.generation is not None else "follower"
        row = {
            "name": self.instance,
            "url": self.url,
            "role": role,
            "generation": self.generation or 0,
            "heartbeat": rfc3339(time.time()),
        }
        results = self._transact(
            conn,
            [
                {"op": "delete", "table": "Instance", "where": [["name", "==", self.instance]]},
                {"op": "insert", "table": "Instance", "row": row},
                {"op": "select", "table": "Leadership", "where": []},
                {"op": "select", "table": "Instance", "where": []},
            ],
        )
        leadership = results[2]["rows"]
        lead = leadership[0] if leadership else None
        instances = tuple(
            InstanceView(r["name"], r["url"], r["role"], int(r["generation"]), r["heartbeat"])
            for r in sorted(results[3]["rows"], key=lambda r: r["name"])
        )
        return ClusterView(
            int(lead["generation"]) if lead else 0,
            (lead["leader"] or None) if lead else None,
            (lead["url"] or None) if lead else None,
            lead["since"] if lead else None,
            instances,
        )


def main(argv: list[str] | None = None) -> int:
    """``python -m vnstitch.cluster.election --store ADDR --instance NAME``: print each event.

    One JSON line per takeover (``elected``), loss (``lost``) and change of the stored leader
    (``seen``): for trying the election without a controller, and for its tests.
    """
    import argparse
    import json

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--store", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--steal-after-s", type=float, default=STEAL_AFTER_S)
    args = parser.parse_args(argv)
    last: list[tuple[int, str | None]] = []

    def emit(kind: str, **fields: Any) -> None:
        print(json.dumps({"event": kind, "mono": time.monotonic(), **fields}), flush=True)

    def seen(view: ClusterView) -> None:
        key = (view.generation, view.leader)
        if not last or last[-1] != key:
            last.append(key)
            emit("seen", generation=view.generation, leader=view.leader)

    elector = Elector(
        args.store,
        args.instance,
        f"http://{args.instance}",
        on_elected=lambda g: emit("elected", generation=g),
        on_lost=lambda why: emit("lost", reason=why),
        on_seen=seen,
        steal_after_s=args.steal_after_s,
    )
    try:
        elector.run()
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
