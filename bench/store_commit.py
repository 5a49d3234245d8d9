"""Store commit latency: one reservation write, SQLite file against a 3-member OVSDB cluster.

Usage: python -m bench.store_commit [--writes N] [--members 3]

Each write is what the controller does per acknowledged reservation change: one transaction
replacing a reservation with its plan (``put_reservation``), committed before the call returns
(SQLite: WAL, synchronous=FULL, fsync; cluster: the Raft leader answers after a majority of
members logged it). Also one ``take_id`` (an intent number) and a full ``load`` of the written
reservations. Both stores are measured in the same run on the same machine; printed: p50/p99 and
their ratio, and how long the cluster takes to commit again after its Raft leader is killed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from vnstitch.clock import rfc3339
from vnstitch.cluster.members import start_local
from vnstitch.cluster.ovsdb_store import ClusterStore
from vnstitch.store.interface import Store
from vnstitch.store.records import ReservationRecord
from vnstitch.store.sqlite import StateStore


def _record(res_id: int) -> ReservationRecord:
    now = rfc3339(1_795_000_000.0 + res_id)
    return {
        "id": res_id,
        "request": {"src": "h1", "dst": "h4", "bandwidth_mbps": 10.0},
        "state": "ACTIVE",
        "reason": None,
        "origin": "request",
        "origin_ref": None,
        "created_at": now,
        "updated_at": now,
        "plan": {
            "version": 1,
            "path": [f"{d:016x}" for d in range(1, 6)],
            "meter_ids": {f"{d:016x}": res_id for d in range(1, 6)},
            "latency_ms": 2.5,
        },
    }


def _timed(action: Callable[[], object], count: int) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        action()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _measure(name: str, store: Store, writes: int) -> dict[str, float]:
    ids = iter(range(1, 10**9))
    puts = _timed(lambda: store.put_reservation(_record(next(ids))), writes)
    takes = _timed(lambda: store.take_id("intent"), writes // 5)
    start = time.perf_counter()
    loaded = store.load()
    load_ms = (time.perf_counter() - start) * 1000.0
    assert len(loaded.reservations) == writes
    row = {
        "p50": statistics.median(puts),
        "p99": _p(puts, 0.99),
        "take50": statistics.median(takes),
    }
    print(
        f"{name:8s} put_reservation p50 {row['p50']:6.2f} ms  p99 {row['p99']:6.2f} ms"
        f"  take_id p50 {row['take50']:6.2f} ms  load of {writes} {load_ms:6.1f} ms"
    )
    return row


def _reelection(folder: Path, members: int) -> None:
    cluster = start_local(folder, members)
    store = ClusterStore(cluster.address, timeout_s=10.0)
    store.take_id("reservation")
    leader = next(i for i in range(members) if "Role: leader" in cluster.status(i))
    cluster.stop_member(leader)
    start = time.perf_counter()
    store.take_id("reservation")
    took = time.perf_counter() - start
    print(f"cluster  commit again after kill -9 of the Raft leader: {took:.2f} s")
    store.close()
    cluster.stop()


def main(argv: list[str] | None = None) -> int:
    """Measure both stores and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--members", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vnstitch-store-bench-") as tmp:
        sqlite = StateStore(Path(tmp) / "state.db", now=1_795_000_000.0)
        lite = _measure("sqlite", sqlite, args.writes)
        sqlite.close()
        cluster = start_local(Path(tmp) / "cluster", args.members)
        store = ClusterStore(cluster.address)
        raft = _measure("cluster", store, args.writes)
        store.close()
        cluster.stop()
        print(
            f"ratio cluster/sqlite: p50 {raft['p50'] / lite['p50']:.1f}x,"
            f" p99 {raft['p99'] / lite['p99']:.1f}x"
        )
        _reelection(Path(tmp) / "reelection", args.members)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
