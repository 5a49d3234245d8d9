"""A controller cluster on real OVS: 3 store members, 3 controllers, one Mininet ring.

One network for the module (the tests run in order and leave the cluster whole): kill -9 of
the leader while pings cross a reservation and intents/reservations are being POSTed; a paused
leader fenced; store members lost and back.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import networkx as nx
import pytest

from testbed.cluster import ClusterStack
from testbed.measure import parse_ping
from testbed.wait import wait_until
from vnstitch.cluster.members import member_health
from vnstitch.cluster.ovsdb_store import ClusterStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LINK_TIMEOUT_S = 3.5
STORE_TIMEOUT_S = 5.0  # ClusterStore's: what a write waited for without a majority before
RESERVATION = re.compile(r"cookie=0x(10[0-9a-f]{14}),\s*duration=([0-9.]+)s.*?priority=(\d+),(\S+)")


@pytest.fixture(scope="module")
def cluster(testbed_host: None) -> Iterator[ClusterStack]:
    options = {"probe_interval_s": 0.5, "link_timeout_s": LINK_TIMEOUT_S, "audit_interval_s": 2.0}
    with ClusterStack(nx.cycle_graph([1, 2, 3, 4]), options=options) as stack:
        assert stack.net is not None
        assert stack.net.ping("h1", "h3", count=2, interval=0.2).received > 0
        yield stack


def _reservation_flows(stack: ClusterStack) -> dict[str, float]:
    """Every reservation entry on every switch (switch, cookie, priority, match) -> duration."""
    out = {}
    for node in (1, 2, 3, 4):
        for line in stack.dump_flows(node).splitlines():
            found = RESERVATION.search(line)
            if found:
                cookie, duration, priority, match = found.groups()
                out[f"{node} {cookie} {priority} {match}"] = float(duration)
    return out


def _wait_active(stack: ClusterStack, name: str, ids: list[int], timeout_s: float) -> None:
    def done() -> bool:
        states = {r["id"]: r["state"] for r in stack.get(name, "/v1/reservations")["reservations"]}
        return all(states.get(i) == "ACTIVE" for i in ids)

    wait_until(done, timeout_s, 0.1, f"reservations {ids} ACTIVE on {name}")


def _post(stack: ClusterStack, body: dict[str, Any]) -> tuple[int, Any]:
    """POST a reservation to the instance the others name leader (one try, no retry)."""
    for name, proc in stack.controllers.items():
        if not proc.is_running():
            continue
        try:
            status, answer = stack.request(name, "POST", "/v1/reservations", body, 3.0)
        except OSError as exc:
            return 0, str(exc)
        if status != 307:
            return status, answer
    return 0, "no instance answered"


def _read(stack: ClusterStack, name: str, path: str) -> tuple[int, dict[str, str], Any]:
    """GET ``path`` from instance ``name``, no redirect followed: (status, headers, body)."""
    url = urlsplit(stack.controllers[name].rest_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10.0)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {stack.token}"})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), json.loads(resp.read() or b"null")
    finally:
        conn.close()


def _send(
    stack: ClusterStack, name: str, method: str, path: str, body: Any
) -> tuple[int, dict[str, str], Any]:
    """``method`` ``path`` with a JSON body to instance ``name``: (status, headers, body)."""
    url = urlsplit(stack.controllers[name].rest_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=20.0)
    headers = {"Authorization": f"Bearer {stack.token}", "Content-Type": "application/json"}
    try:
        conn.request(method, path, body=json.dumps(body), headers=headers)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), json.loads(resp.read() or b"null")
    finally:
        conn.close()


def _followers(stack: ClusterStack, leader: str) -> list[str]:
    return [n for n, p in stack.controllers.items() if n != leader and p.is_running()]


def test_kill_9_the_leader_under_pings_and_posts_loses_nothing(cluster: ClusterStack) -> None:
    leader = cluster.leader()
    body = {"src": "h1", "dst": "h3", "bandwidth_mbps": 5, "ip_proto": 1}
    status, kept = cluster.request(leader, "POST", "/v1/reservations", body)
    assert status == 201, kept
    _wait_active(cluster, leader, [kept["id"]], 10.0)
    before = _reservation_flows(cluster)
    assert len(before) >= 4, before

    assert cluster.net is not None
    h1 = cluster.net.net["h1"]
    pings = h1.popen(
        ["ping", "-n", "-i", "0.01", "-c", "500", "-W", "1", cluster.net.host("h3").ip],
        stdout=subprocess.PIPE,
        text=True,
    )
    acked: list[int] = []
    answers: list[tuple[int, Any]] = []
    stop = threading.Event()

    def burst() -> None:
        port = 2000
        while not stop.is_set():
            port += 1
            request = {"src": "h2", "dst": "h4", "bandwidth_mbps": 0.1, "ip_proto": 17}
            status, answer = _post(cluster, {**request, "dst_port": port})
            answers.append((status, answer))
            if status in (201, 202):
                acked.append(answer["id"])

    poster = threading.Thread(target=burst)
    poster.start()
    wait_until(lambda: len(acked) >= 3, 10.0, 0.02, "POSTs acknowledged before the kill")
    killed_at = time.monotonic()
    cluster.kill(leader)
    survivors = [n for n in cluster.controllers if n != leader]

    def new_leader() -> str | None:
        for name in survivors:
            if cluster.cluster(name)["role"] == "leader":
                return name
        return None

    successor: str = wait_until(new_leader, 3.0, 0.01, "a new leader")
    takeover_s = time.monotonic() - killed_at
    wait_until(lambda: len(acked) >= 10, 15.0, 0.05, "POSTs acknowledged after the kill")
    stop.set()
    poster.join(timeout=20)
    out, _ = pings.communicate(timeout=60)
    result = parse_ping(out)
    lost = result.sent - result.received
    refused = [a for a in answers if a[0] not in (201, 202)]
    print(
        f"cluster kill -9: new leader {successor} after {takeover_s * 1000:.0f} ms;"
        f" {lost} of {result.sent} pings lost (10 ms); {len(acked)} POSTs acknowledged,"
        f" {len(refused)} not: {sorted({f'{a[0]} {a[1]}'[:120] for a in refused})}"
    )
    assert takeover_s < 3.0
    assert lost == 0, out[-300:]
    assert not [a for a in refused if a[0] == 409], "refused 409 while still discovering"

    _wait_active(cluster, successor, [kept["id"], *acked], 30.0)
    log = cluster.controllers[successor].log_path.read_text(errors="replace")
    assert "predictor queue bound" in log  # the new leader took the predictor's sockets
    listed = cluster.get(successor, "/v1/reservations")["reservations"]
    ids = [r["id"] for r in listed]
    assert len(ids) == len(set(ids))
    ports = [r["dst_port"] for r in listed if r.get("dst_port")]
    assert len(ports) == len(set(ports)), "a request was stored twice"
    after = _reservation_flows(cluster)
    for key, duration in before.items():  # the unchanged reservation's entries stayed put
        assert key in after, key
        assert after[key] >= duration + takeover_s - 0.5, (key, duration, after[key])

    cluster.start_controller(leader)  # back, as a follower
    wait_until(lambda: cluster.cluster(leader)["role"] == "follower", 10.0, 0.1, "rejoined")
    cluster.wait_switches_connected(leader)
    assert cluster.leader() == successor


def test_a_paused_leader_is_fenced_and_rejoins_as_follower(cluster: ClusterStack) -> None:
    leader = cluster.leader()
    generation = cluster.cluster(leader)["generation"]
    cluster.signal(leader, signal.SIGSTOP)
    try:
        successor = cluster.leader(timeout_s=10.0, not_=leader)
    finally:
        cluster.signal(leader, signal.SIGCONT)
    assert cluster.cluster(successor)["generation"] > generation

    def stepped_down() -> bool:
        return bool(cluster.cluster(leader)["role"] == "follower")

    wait_until(stepped_down, 10.0, 0.1, "the old leader steps down")
    wait_until(  # the new leader binds the predictor's sockets once the old one let them go
        lambda: (
            "predictor queue bound"
            in cluster.controllers[successor].log_path.read_text(errors="replace")
        ),
        10.0,
        0.2,
        "the predictor sockets bound by the new leader",
    )
    log = cluster.controllers[leader].log_path.read_text(errors="replace")
    assert "no longer the leader" in log
    fenced_by = re.findall(r"no longer the leader \((.*)\): following", log)
    print(f"paused leader {leader} fenced: {fenced_by[-1]}")
    # a write sent to the old leader now goes to the new one
    status, answer = cluster.request(leader, "POST", "/v1/reservations", {"src": "h1"})
    assert status == 307 and answer["leader_url"] == cluster.controllers[successor].rest_url
    assert cluster.leader() == successor


def test_a_follower_serves_reads_from_the_store(cluster: ClusterStack) -> None:
    leader = cluster.leader()
    body = {"src": "h4", "dst": "h2", "bandwidth_mbps": 0.3, "ip_proto": 17, "dst_port": 7}
    status, made = cluster.request(leader, "POST", "/v1/reservations", body)
    assert status in (201, 202), made
    shown = cluster.get(leader, f"/v1/reservations/{made['id']}")
    for follower in _followers(cluster, leader):
        status, headers, one = _read(cluster, follower, f"/v1/reservations/{made['id']}")
        assert status == 200, (status, one)
        assert headers.get("X-Vnstitch-Role") == "follower"
        for key in ("id", "src", "dst", "bandwidth_mbps", "path", "reverse_path", "created_at"):
            assert one[key] == shown[key], key
        status, headers, listed = _read(cluster, follower, "/v1/reservations")
        assert status == 200 and made["id"] in [r["id"] for r in listed["reservations"]]
        status, _, intents = _read(cluster, follower, "/v1/intents")
        assert status == 200 and isinstance(intents["intents"], list)
        status, _, missing = _read(cluster, follower, "/v1/reservations/999999")
        assert status == 404 and missing["field"] == "id"
        status, answer = cluster.request(follower, "DELETE", f"/v1/reservations/{made['id']}")
        assert status == 307 and answer["leader_url"] == cluster.controllers[leader].rest_url
    # followers show what the leader shows: ACTIVE once confirmed, RELEASED once released
    path = f"/v1/reservations/{made['id']}"
    follower = _followers(cluster, leader)[0]
    _wait_active(cluster, leader, [made["id"]], 10.0)
    wait_until(lambda: _read(cluster, follower, path)[2]["state"] == "ACTIVE", 10.0, 0.1, "ACTIVE")
    status, _ = cluster.request(leader, "DELETE", path)
    assert status in (200, 202, 204)
    status, _, gone = _read(cluster, follower, path)
    assert status == 200 and gone["state"] == "RELEASED", (status, gone)


def test_store_members_lost_and_back(cluster: ClusterStack) -> None:
    assert cluster.store is not None
    leader = cluster.leader()
    body = {"src": "h3", "dst": "h1", "bandwidth_mbps": 0.2, "ip_proto": 17}
    links = 2 * cluster.graph.number_of_edges()
    cluster.store.stop_member(0)
    status, one = cluster.request(leader, "POST", "/v1/reservations", {**body, "dst_port": 1})
    assert status in (201, 202), one
    for follower in _followers(cluster, leader):  # one member down: a fresh read
        status, headers, listed = _read(cluster, follower, "/v1/reservations")
        assert status == 200 and one["id"] in [r["id"] for r in listed["reservations"]]
        assert "X-Vnstitch-Stale" not in headers
    cluster.store.stop_member(1)
    address = cluster.store.address
    wait_until(  # the survivor says it is cut off from a majority
        lambda: not any(m["healthy"] for m in member_health(address)), 15.0, 0.1, "no majority"
    )
    lost_at = time.monotonic()
    refused_s: list[float] = []
    read_s: list[float] = []
    # writes are refused at once, and the leader's loop keeps answering LLDP: no link expires
    while time.monotonic() - lost_at < 1.5 * LINK_TIMEOUT_S or len(refused_s) < 3:
        started = time.monotonic()
        status, headers, refused = _send(
            cluster, leader, "POST", "/v1/reservations", {**body, "dst_port": 2}
        )
        refused_s.append(time.monotonic() - started)
        assert status == 503 and "cannot commit" in refused["error"], (status, refused)
        assert headers.get("Retry-After") == "1"
        started = time.monotonic()
        topology = cluster.get(leader, "/v1/topology")
        read_s.append(time.monotonic() - started)
        assert len(topology["links"]) == links, topology["links"]
        time.sleep(0.2)  # pacing only: a few requests a second
    status, listed = cluster.request(leader, "GET", "/v1/reservations")
    assert status == 200 and one["id"] in [r["id"] for r in listed["reservations"]]
    for follower in _followers(cluster, leader):  # from the last copy each one read
        status, headers, listed = _read(cluster, follower, "/v1/reservations")
        assert status == 200 and one["id"] in [r["id"] for r in listed["reservations"]]
        assert headers.get("X-Vnstitch-Role") == "follower"
        assert headers.get("X-Vnstitch-Stale") == "true"
    back_at = time.monotonic()
    cluster.store.start_member(0)
    cluster.store.start_member(1)
    answers: list[tuple[int, Any]] = []

    def written() -> bool:  # no wait for rediscovery: the leader kept the network
        answers.append(cluster.request(leader, "POST", "/v1/reservations", {**body, "dst_port": 3}))
        return answers[-1][0] in (201, 202)

    wait_until(written, 30.0, 0.05, "a write accepted after the members came back")
    back_s = time.monotonic() - back_at
    print(
        f"store without a majority: {len(refused_s)} writes refused in median"
        f" {statistics.median(refused_s) * 1000:.0f} ms (max {max(refused_s) * 1000:.0f} ms;"
        f" GET /v1/topology {statistics.median(read_s) * 1000:.0f} ms; store timeout"
        f" {STORE_TIMEOUT_S:.0f} s); members back -> first write accepted {back_s:.2f} s"
        f" ({len(answers) - 1} refused meanwhile)"
    )
    assert max(refused_s) < STORE_TIMEOUT_S / 2  # at once, not after the store's timeout
    assert all(a[0] == 503 for a in answers[:-1]), answers
    stored = ClusterStore(address).load()
    kept = {r["id"]: r["request"].get("dst_port") for r in stored.reservations}
    assert int(one["id"]) in kept and int(answers[-1][1]["id"]) in kept
    shown = [r.get("dst_port") for r in cluster.get(leader, "/v1/reservations")["reservations"]]
    assert 2 not in shown and 2 not in kept.values()  # a refused write left nothing behind
    assert cluster.leader() == leader  # the store's outage did not move the lead
