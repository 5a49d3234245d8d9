"""Advance reservations on real OVS: windows a few seconds long on a 20 Mbit/s link.

Rules are on the switches before the window starts (dump-flows), traffic passes at the
reserved rate inside it, the rules are gone after it; two windows that would over-book the link
together are refused, the same two in disjoint windows both fit; a kill -9 between booking and
start loses nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import networkx as nx
import pytest

from testbed.stack import Stack
from testbed.wait import wait_until
from vnstitch.clock import rfc3339

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LEAD_S = 2.0


@pytest.fixture(scope="module")
def stack(testbed_host: None) -> Iterator[Stack]:
    g = nx.Graph()
    g.add_edge(1, 2, bw_mbps=20)  # usable 18 Mbit/s (10 % headroom)
    options = {"probe_interval_s": 0.5, "link_timeout_s": 3.5, "reservation_lead_s": LEAD_S}
    with Stack(g, controller=options) as s:
        yield s


def _hosts(stack: Stack) -> tuple[str, str, str, str]:
    assert stack.net is not None
    (h1,) = (h for h in stack.net.hosts if h.switch == 1)
    (h2,) = (h for h in stack.net.hosts if h.switch == 2)
    return h1.name, h1.ip, h2.name, h2.ip


def _book(stack: Stack, start: float, end: float, mbps: float, **extra: Any) -> tuple[int, Any]:
    _, ip1, _, ip2 = _hosts(stack)
    body = {"src": ip1, "dst": ip2, "bandwidth_mbps": mbps, **extra}
    return stack.request(
        "POST", "/v1/reservations", {**body, "start": rfc3339(start), "end": rfc3339(end)}
    )


def _rules_of(stack: Stack, ip_src: str) -> list[str]:
    return [
        line
        for line in stack.dump_flows(1).splitlines()
        if "priority=20000" in line and f"nw_src={ip_src}" in line
    ]


def _state(stack: Stack, res_id: str) -> str:
    return str(stack.get(f"/v1/reservations/{res_id}")["state"])


def test_rules_before_start_traffic_at_the_reserved_rate_and_gone_after_end(stack: Stack) -> None:
    h1, ip1, h2, _ = _hosts(stack)
    start = time.time() + 6.0
    end = start + 7.0
    status, res = _book(stack, start, end, 10)
    assert status == 201 and res["state"] == "SCHEDULED", res
    assert res["start"] == rfc3339(start) and res["end"] == rfc3339(end)
    assert not _rules_of(stack, ip1)
    wait_until(lambda: _rules_of(stack, ip1), end - time.time(), 0.05, "rules installed")
    installed = time.time()
    assert installed < start, f"installed {installed - start:.2f} s after start"
    wait_until(lambda: _state(stack, res["id"]) == "ACTIVE", start - time.time(), 0.05, "ACTIVE")
    wait_until(lambda: time.time() >= start, 10.0, 0.02, "the window's start")
    assert stack.net is not None
    rate = stack.net.iperf3(h1, h2, seconds=4)
    print(f"advance reservation: rules {start - installed:.2f} s before start, {rate:.2f} Mbit/s")
    assert 8.0 <= rate <= 11.5, f"{rate:.2f} Mbit/s in a 10 Mbit/s window"
    wait_until(lambda: not _rules_of(stack, ip1), end - time.time() + 3.0, 0.05, "rules removed")
    removed = time.time()
    assert removed >= end - 0.05, f"removed {end - removed:.2f} s before the end"
    assert _state(stack, res["id"]) == "ENDED"


def test_over_booking_windows_are_refused_and_disjoint_ones_both_fit(stack: Stack) -> None:
    t = time.time() + 60.0
    status, first = _book(stack, t, t + 10, 10)
    assert status == 201, first
    status, refused = _book(stack, t + 5, t + 15, 10, ip_proto=17)
    assert status == 409 and refused["constraint"] == "bandwidth", refused
    assert "full during" in refused["error"] and rfc3339(t + 10) in refused["error"], refused
    gap = t + 10 + LEAD_S + 1.0  # the second holds from its start less the lead
    status, second = _book(stack, gap, gap + 10, 10, ip_proto=17)
    assert status == 201, second
    status, found = stack.request(
        "POST",
        "/v1/reservations/availability",
        {"src": _hosts(stack)[1], "dst": _hosts(stack)[3], "bandwidth_mbps": 10, "duration_s": 5},
    )
    assert status == 200 and found["start"] <= rfc3339(t), found  # before the first window
    for res in (first, second):
        assert stack.request("DELETE", f"/v1/reservations/{res['id']}")[0] == 200


def test_kill_9_between_booking_and_start_loses_nothing(stack: Stack) -> None:
    _, ip1, _, _ = _hosts(stack)
    start = time.time() + 20.0
    end = start + 5.0
    status, res = _book(stack, start, end, 5)
    assert status == 201 and res["state"] == "SCHEDULED", res
    stack.kill_controller()
    stack.restart_controller()
    again = stack.get(f"/v1/reservations/{res['id']}")
    assert again["state"] in ("SCHEDULED", "INSTALLING", "ACTIVE"), again
    assert (again["start"], again["end"], again["bandwidth_mbps"]) == (res["start"], res["end"], 5)
    wait_until(lambda: _rules_of(stack, ip1), end - time.time(), 0.05, "rules after restart")
    assert time.time() < start, "installed after its start"
    wait_until(lambda: _state(stack, res["id"]) == "ENDED", end - time.time() + 5.0, 0.1, "ENDED")
    assert not _rules_of(stack, ip1)


def test_a_windowed_connectivity_intent_has_rules_in_its_window_only(stack: Stack) -> None:
    _, ip1, _, ip2 = _hosts(stack)
    start = time.time() + 5.0
    end = start + 4.0
    body = {"kind": "connectivity", "src": ip1, "dst": ip2, "bandwidth_mbps": 5}
    status, intent = stack.request(
        "POST", "/v1/intents", {**body, "start": rfc3339(start), "end": rfc3339(end)}
    )
    assert status == 201 and intent["state"] == "SCHEDULED", intent
    assert intent["window"] == {"start": rfc3339(start), "end": rfc3339(end)}
    assert not _rules_of(stack, ip1)
    path = f"/v1/intents/{intent['id']}"
    wait_until(lambda: _rules_of(stack, ip1), end - time.time(), 0.05, "the intent's rules")
    assert time.time() < start, "installed after its start"
    wait_until(
        lambda: stack.get(path)["state"] == "INSTALLED", end - time.time(), 0.05, "INSTALLED"
    )
    wait_until(lambda: stack.get(path)["state"] == "ENDED", end - time.time() + 5.0, 0.1, "ENDED")
    assert not _rules_of(stack, ip1)
    assert stack.get(path)["reason"] == "its window ended"
