"""Intents on real OVS in Mininet: lifecycle, dry run, isolation by traffic, durability.

Switches 1-2-3 in a triangle, switch 4 hanging off 3; hosts h1..h4 on switches 1..4, h4 in
zone pci. The controller is killed with SIGKILL in two tests and restarted on the same ports:
the switches keep their tables meanwhile (fail-mode secure).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import networkx as nx
import pytest

from testbed.measure import parse_ping
from testbed.stack import Stack
from testbed.wait import wait_until

pytestmark = pytest.mark.integration

INTENT_COOKIE = re.compile(r"cookie=0x20[0-9a-f]{14},")  # kind 0x20 in the top byte


@pytest.fixture(scope="module")
def stack(testbed_host: None) -> Iterator[Stack]:
    g = nx.Graph()
    g.add_edges_from([(1, 2), (2, 3), (1, 3), (3, 4)])
    g.nodes[4]["host_zone"] = "pci"
    with Stack(g) as s:

        def latencies_known() -> bool:
            return all(lk["latency_ms"] is not None for lk in s.get("/v1/topology")["links"])

        wait_until(latencies_known, 20.0, 0.2, "every link's latency")
        yield s


def _installed(stack: Stack, ident: str, timeout_s: float = 20.0) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        intent: dict[str, Any] = stack.get(f"/v1/intents/{ident}")
        return intent if intent["state"] == "INSTALLED" else None

    result: dict[str, Any] = wait_until(done, timeout_s, 0.1, f"intent {ident} INSTALLED")
    return result


def _reaches(stack: Stack, src: str, dst: str) -> bool:
    assert stack.net is not None
    return stack.net.ping(src, dst, count=2, interval=0.2).received > 0


def test_connectivity_intent_lifecycle(stack: Stack) -> None:
    body = {"kind": "connectivity", "src": "h1", "dst": "h3", "bandwidth_mbps": 5}
    status, intent = stack.request("POST", "/v1/intents", body)
    assert status == 201, intent
    intent = _installed(stack, intent["id"])
    assert [h["state"] for h in intent["history"]][:2] == ["SUBMITTED", "COMPILING"]
    assert INTENT_COOKIE.search(stack.dump_flows(1))  # traceable to the intent's kind
    assert _reaches(stack, "h1", "h3")
    status, gone = stack.request("DELETE", f"/v1/intents/{intent['id']}")
    assert status == 200 and gone["state"] == "WITHDRAWN"
    wait_until(lambda: not INTENT_COOKIE.search(stack.dump_flows(1)), 5.0, 0.1, "rules removed")


def test_dry_run_installs_nothing(stack: Stack) -> None:
    before = len(stack.get("/v1/reservations")["reservations"])
    body = {
        "kind": "low_latency",
        "app": "voip",
        "endpoints": ["h1", "h2", "h3"],
        "ports": [5060],
        "max_latency_ms": 50,
    }
    status, answer = stack.request("POST", "/v1/intents?dry_run=true", body)
    assert status == 200 and answer["dry_run"] and answer["satisfiable"], answer
    assert len(answer["paths"]) == 6 and all(p["rules"] for p in answer["paths"]), answer
    assert len(stack.get("/v1/reservations")["reservations"]) == before


def test_unmeetable_intent_is_accepted_as_failed_with_reason(stack: Stack) -> None:
    body = {"kind": "connectivity", "src": "h1", "dst": "h2", "bandwidth_mbps": 1e6}
    status, intent = stack.request("POST", "/v1/intents", body)
    assert status == 201 and intent["state"] == "FAILED" and intent["reason"], intent
    stack.request("DELETE", f"/v1/intents/{intent['id']}")
    status, bad = stack.request("POST", "/v1/intents", {"kind": "teleport"})
    assert status == 400 and bad["field"] == "kind"


def test_isolation_by_traffic_conflicts_and_restart(stack: Stack) -> None:
    assert _reaches(stack, "h1", "h4")
    body = {"kind": "isolation", "a": ["h1", "h2"], "b": "zone:pci"}
    status, iso = stack.request("POST", "/v1/intents", body)
    assert status == 201, iso
    _installed(stack, iso["id"])
    assert not _reaches(stack, "h1", "h4") and not _reaches(stack, "h4", "h2")
    assert _reaches(stack, "h1", "h3") and _reaches(stack, "h3", "h4")
    status, conflict = stack.request(
        "POST", "/v1/intents", {"kind": "connectivity", "src": "h1", "dst": "h4"}
    )
    assert status == 409 and conflict["conflicts"][0]["intent_id"] == iso["id"], conflict
    status, refused = stack.request("POST", "/v1/reservations", {"src": "h2", "dst": "h4"})
    assert status == 409 and refused["constraint"] == "isolation"

    stack.kill_controller()
    assert not _reaches(stack, "h1", "h4")  # the switches kept the drops
    stack.restart_controller()
    _installed(stack, iso["id"])
    assert not _reaches(stack, "h1", "h4") and _reaches(stack, "h1", "h3")
    stack.request("DELETE", f"/v1/intents/{iso['id']}")
    wait_until(lambda: _reaches(stack, "h1", "h4"), 10.0, 0.2, "isolation lifted")


def test_kill_9_while_submitting_loses_no_acknowledged_intent(stack: Stack) -> None:
    acked: list[str] = []
    stop = threading.Event()

    def submit() -> None:
        pairs = [("h1", "h3"), ("h2", "h3"), ("h1", "h2"), ("h2", "h4")]
        i = 0
        while not stop.is_set():
            src, dst = pairs[i % len(pairs)]
            body = {  # a UDP service each, so no two intents ask for the same traffic
                "kind": "connectivity",
                "src": src,
                "dst": dst,
                "bandwidth_mbps": 0.1,
                "ip_proto": 17,
                "dst_port": 20000 + i,
            }
            try:
                status, intent = stack.request("POST", "/v1/intents", body)
            except OSError:
                return  # the controller is gone
            if status == 201:
                acked.append(intent["id"])
            i += 1

    worker = threading.Thread(target=submit)
    worker.start()
    wait_until(lambda: len(acked) >= 5, 30.0, 0.01, "some intents acknowledged")
    stack.kill_controller()
    stop.set()
    worker.join(timeout=30)
    stack.restart_controller()
    listed = stack.get("/v1/intents")["intents"]
    ids = [i["id"] for i in listed]
    assert len(ids) == len(set(ids)), "an intent is duplicated"
    for ident in acked:
        assert ident in ids, f"acknowledged {ident} lost"
        _installed(stack, ident)
    for ident in ids:
        stack.request("DELETE", f"/v1/intents/{ident}")


def _cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VNSTITCH_URL": stack.controller.rest_url,
        "VNSTITCH_API_TOKEN": stack.token,
    }
    return subprocess.run(
        [sys.executable, "-m", "vnstitch.northbound.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )


def test_metrics_and_cli_against_the_running_controller(stack: Stack) -> None:
    req = urllib.request.Request(stack.controller.rest_url + "/metrics")
    req.add_header("Authorization", f"Bearer {stack.token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read().decode()
    assert "# TYPE vnstitch_packet_in_total counter" in text
    assert 'vnstitch_packet_in_total{kind="lldp"}' in text
    added = _cli(stack, "intent", "add", '{"kind": "connectivity", "src": "h2", "dst": "h3"}')
    assert added.returncode == 0, added.stderr
    listed = _cli(stack, "intent", "list")
    assert listed.returncode == 0 and "connectivity" in listed.stdout
    bad = _cli(stack, "intent", "add", '{"kind": "nope"}')
    assert bad.returncode == 1 and "kind" in bad.stderr


def test_restart_keeps_traffic_flowing_on_surviving_rules(stack: Stack) -> None:
    body = {"kind": "connectivity", "src": "h2", "dst": "h4", "bandwidth_mbps": 1}
    status, intent = stack.request("POST", "/v1/intents", body)
    assert status == 201, intent
    _installed(stack, intent["id"])
    assert stack.net is not None
    h2 = stack.net.net["h2"]
    pings = h2.popen(
        ["ping", "-n", "-i", "0.02", "-c", "600", "-W", "1", "10.0.0.4"],
        stdout=subprocess.PIPE,
        text=True,
    )
    wait_until(lambda: pings.poll() is None, 2.0, 0.05, "pings running")
    stack.kill_controller()
    stack.restart_controller()
    _installed(stack, intent["id"])
    out, _ = pings.communicate(timeout=60)
    result = parse_ping(out)
    assert result.sent == 600 and result.received >= 597, out[-300:]
    flows = stack.dump_flows(4)
    mine = [
        ln
        for ln in flows.splitlines()
        if "20000,ip," in ln and "nw_src=10.0.0.2,nw_dst=10.0.0.4" in ln
    ]
    assert len(mine) == 1  # re-added in place, no orphan
    stack.request("DELETE", f"/v1/intents/{intent['id']}")
