"""Storing confirmations: one transaction per probe tick against one commit per confirmation.

Usage: python -m bench.state_flush [--reservations N] [--members 3]

A re-stitch confirms every moved reservation within a second or so (1,535 on Kdl,
``bench.restitch_scale``). The leader stores their ACTIVE state for followers to show; written
one commit per confirmation, that is N commits on the controller's one thread of control. What
it does instead (``DurableState.state_changed`` then ``flush_states`` at the next probe tick):
all of them in one transaction. Both are timed on the SQLite file and on a 3-member OVSDB
cluster, same run, same records (``DurableState`` with real reservations and 10-hop plans).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from vnstitch.cluster.members import start_local
from vnstitch.cluster.ovsdb_store import ClusterStore
from vnstitch.core.durable import DurableState
from vnstitch.stitcher.request_body import parse_request
from vnstitch.stitcher.reservation import Origin, Reservation, State, StoredPlan
from vnstitch.store.interface import Store
from vnstitch.store.sqlite import StateStore

NOW = 1_795_000_000.0


def _reservations(count: int) -> list[tuple[Reservation, StoredPlan]]:
    out = []
    for res_id in range(1, count + 1):
        body = {"src": f"h{res_id % 700}", "dst": f"h{res_id % 700 + 1}", "bandwidth_mbps": 2.5}
        res = Reservation(res_id, parse_request(body, Origin.REQUEST, None), State.INSTALLING)
        res.created_at = res.updated_at = NOW
        path = tuple(range(res_id % 50 + 1, res_id % 50 + 11))
        plan = StoredPlan(1, path, {path[0]: res_id, path[-1]: res_id + 1}, 3.5, (), {})
        out.append((res, plan))
    return out


def _measure(name: str, store: Store, count: int) -> tuple[float, float]:
    durable = DurableState(None, NOW, store)
    items = _reservations(count)
    plans = {res.id: plan for res, plan in items}
    durable.persist_reservations(items)  # INSTALLING, as before the jobs start
    for res, _ in items:
        res.set_state(State.ACTIVE, NOW + 1.0)
    start = time.perf_counter()
    for res, plan in items:
        durable.persist_reservation(res, plan)
    each = time.perf_counter() - start
    for res, _ in items:
        res.set_state(State.DEGRADED, NOW + 2.0)
        durable.state_changed(res)
    start = time.perf_counter()
    written = durable.flush_states(lambda r: plans[r.id])
    batched = time.perf_counter() - start
    assert written == count
    assert {r["state"] for r in store.load().reservations} == {"DEGRADED"}
    print(
        f"{name:8s} {count} confirmations: one commit each {each * 1000:8.1f} ms"
        f" ({each / count * 1000:.2f} ms each); one transaction {batched * 1000:7.1f} ms"
        f" ({batched / count * 1000:.3f} ms each); {each / batched:.0f}x less"
    )
    return each, batched


def main(argv: list[str] | None = None) -> int:
    """Time both ways on both stores and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reservations", type=int, default=1535)
    parser.add_argument("--members", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vnstitch-flush-bench-") as tmp:
        sqlite = StateStore(Path(tmp) / "state.db", now=NOW)
        _measure("sqlite", sqlite, args.reservations)
        sqlite.close()
        cluster = start_local(Path(tmp) / "cluster", args.members)
        try:
            store = ClusterStore(cluster.address, timeout_s=30.0)
            _measure("cluster", store, args.reservations)
            store.close()
        finally:
            cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
