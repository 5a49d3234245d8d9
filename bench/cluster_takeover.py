"""The controller cluster on OVS: request -> ACTIVE against one process, takeover, memory.

Usage: python -m bench.cluster_takeover [--requests N] [--kills K]

In one run on a ring of 4 switches (one host each): ``--requests`` reservations are POSTed one
after another to a single controller on SQLite, then to the leader of a cluster (3 store
members, 3 controllers); each is timed from the POST until it is ACTIVE. Then the leader is
killed ``--kills`` times (SIGKILL) while a reservation stays stitched; each time: the time
until a survivor reports itself leader, and until the new leader answers with the kept
reservation ACTIVE; the killed one is started again as follower before the next kill.
Memory: resident set of each controller (leader, followers), of the single controller, and
of each store member.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import networkx as nx

from testbed.cluster import ClusterStack
from testbed.stack import Stack
from testbed.wait import wait_until


def _rss_mib(pid: int | None) -> float:
    if pid is None:
        return 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def _times(post: Any, get: Any, count: int) -> list[float]:
    """POST ``count`` reservations; seconds from each POST until it is ACTIVE."""
    out = []
    for n in range(count):
        body = {"src": "h2", "dst": "h4", "bandwidth_mbps": 0.1, "ip_proto": 17}
        start = time.perf_counter()
        status, res = post({**body, "dst_port": 3000 + n})
        assert status in (201, 202), res
        if res["state"] != "ACTIVE":

            def active(ident: str = res["id"]) -> bool:
                return bool(get(ident)["state"] == "ACTIVE")

            wait_until(active, 10.0, 0.005, "ACTIVE")
        out.append(time.perf_counter() - start)
    return out


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return (
        f"median {statistics.median(values) * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms,"
        f" max {max(values) * 1000:.0f} ms (n={len(values)})"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--kills", type=int, default=20)
    args = parser.parse_args(argv)
    ring = nx.cycle_graph([1, 2, 3, 4])
    options = {"probe_interval_s": 0.5, "link_timeout_s": 3.5}
    with Stack(ring, controller=options, predictor={"enabled": False}) as single:
        single_times = _times(
            lambda b: single.request("POST", "/v1/reservations", b),
            lambda i: single.get(f"/v1/reservations/{i}"),
            args.requests,
        )
        single_rss = _rss_mib(single.controller.pid)
    with ClusterStack(ring, options=options) as cluster:
        leader = cluster.leader()
        cluster_times = _times(
            lambda b: cluster.request(leader, "POST", "/v1/reservations", b),
            lambda i: cluster.get(leader, f"/v1/reservations/{i}"),
            args.requests,
        )
        rss = {n: _rss_mib(c.pid) for n, c in cluster.controllers.items()}
        assert cluster.store is not None
        store_rss = [_rss_mib(m.process.pid if m.process else None) for m in cluster.store.members]
        print(
            f"request -> ACTIVE, single process (SQLite): {_ms(single_times)}\n"
            f"request -> ACTIVE, cluster leader (3-member OVSDB): {_ms(cluster_times)}\n"
            f"ratio cluster / single (medians): "
            f"{statistics.median(cluster_times) / statistics.median(single_times):.2f}"
        )
        print(
            f"memory: single controller {single_rss:.0f} MiB; cluster leader {leader}"
            f" {rss[leader]:.0f} MiB, followers "
            + ", ".join(f"{n} {v:.0f} MiB" for n, v in rss.items() if n != leader)
            + "; store members "
            + ", ".join(f"{v:.0f}" for v in store_rss)
            + " MiB"
        )
        status, kept = cluster.request(
            leader, "POST", "/v1/reservations", {"src": "h1", "dst": "h3", "bandwidth_mbps": 1}
        )
        assert status == 201, kept
        elected, active = [], []
        for _ in range(args.kills):
            leader = cluster.leader()
            cluster.wait_switches_connected(leader)
            killed_at = time.perf_counter()
            cluster.kill(leader)
            survivors = [n for n in cluster.controllers if n != leader]

            def named(survivors: list[str] = survivors) -> str | None:
                for name in survivors:
                    if cluster.cluster(name)["role"] == "leader":
                        return name
                return None

            successor: str = wait_until(named, 10.0, 0.005, "a new leader")
            elected.append(time.perf_counter() - killed_at)

            def kept_active(successor: str = successor) -> bool:
                status, body = cluster.request(successor, "GET", f"/v1/reservations/{kept['id']}")
                return status == 200 and body["state"] == "ACTIVE"

            wait_until(kept_active, 30.0, 0.005, "the kept reservation ACTIVE on the new leader")
            active.append(time.perf_counter() - killed_at)
            cluster.start_controller(leader)

            def following(name: str = leader) -> bool:
                return bool(cluster.cluster(name)["role"] == "follower")

            wait_until(following, 10.0, 0.05, "the killed one back as follower")
        print(f"takeover after kill -9 of the leader, until a survivor leads: {_ms(elected)}")
        print(f"takeover, until the new leader serves the kept reservation ACTIVE: {_ms(active)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
