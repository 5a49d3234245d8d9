"""Protected reservations on real OVS (issue #10, item 1): the switches fail over by themselves.

A cube of eight switches (three cables each), one host each, so that every link has a way around
it even with one cable out. A protected reservation between opposite corners, h1 <-> h8; for
each link of its first path in turn: ping every 5 ms, freeze the controller (SIGSTOP), pull
the cable (both ports down), count the pings lost (target: at most 10, 50 ms), SIGCONT. The
controller then moves the reservation make-before-break onto a new path with a new backup
(``protected`` true again), and every switch holds exactly the planned groups, nothing else.
The cable is plugged back before the next one is pulled.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, cast

import networkx as nx
import pytest

from testbed.failover import ping_through_cut, planned_groups, switch_groups
from testbed.stack import Stack
from testbed.wait import wait_until

pytestmark = pytest.mark.integration

MAX_LOST = 10  # pings at 5 ms: 50 ms of traffic
CUBE = nx.convert_node_labels_to_integers(nx.hypercube_graph(3), first_label=1, ordering="sorted")


@pytest.fixture(scope="module")
def stack(testbed_host: None) -> Iterator[Stack]:
    options = {"probe_interval_s": 0.5, "link_timeout_s": 3.5, "stats_interval_s": 0.5}
    with Stack(CUBE, controller=options) as s:
        yield s


def _get(stack: Stack, res_id: str) -> dict[str, Any]:
    body: dict[str, Any] = stack.get(f"/v1/reservations/{res_id}")
    return body


def _groups_as_planned(stack: Stack, doc: dict[str, Any]) -> bool:
    assert stack.net is not None
    planned = planned_groups(stack.net, doc)
    return all(switch_groups(stack.net, node) == groups for node, groups in planned.items())


def _nodes(stack: Stack, path: list[str]) -> list[int]:
    assert stack.net is not None
    node_of = {dpid: node for node, dpid in stack.net.dpid.items()}
    return [cast(int, node_of[int(d, 16)]) for d in path]


def test_each_cut_with_the_controller_frozen_loses_at_most_50_ms(stack: Stack) -> None:
    assert stack.net is not None
    body = {"src": "h1", "dst": "h8", "bandwidth_mbps": 5, "protection": True}
    status, doc = stack.request("POST", "/v1/reservations", body)
    assert status == 201 and doc["state"] == "ACTIVE" and doc["protected"], doc
    assert _groups_as_planned(stack, doc)
    res_id = doc["id"]
    assert stack.net.ping("h1", "h8", count=3, interval=0.2).received == 3
    first = _nodes(stack, doc["path"])
    lost = []
    for hop in range(len(first) - 1):
        doc = _get(stack, res_id)
        nodes = _nodes(stack, doc["path"])
        u, v = nodes[min(hop, len(nodes) - 2)], nodes[min(hop, len(nodes) - 2) + 1]
        result = ping_through_cut(stack.net, "h1", "h8", (u, v), frozen=stack.controller)
        lost.append(result.sent - result.received)
        assert result.sent > 300 and lost[-1] <= MAX_LOST, (u, v, result)

        def reprotected(cut: tuple[int, int] = (u, v)) -> dict[str, Any] | None:
            now = _get(stack, res_id)
            pairs = set(itertools.pairwise(_nodes(stack, now["path"])))
            moved = cut not in pairs and cut[::-1] not in pairs
            return now if now["state"] == "ACTIVE" and now["protected"] and moved else None

        doc = wait_until(reprotected, 10.0, 0.1, f"re-protected after cutting {u}-{v}")
        wait_until(lambda d=doc: _groups_as_planned(stack, d), 5.0, 0.2, "the planned groups")
        assert stack.net.ping("h1", "h8", count=5, interval=0.05).received == 5
        stack.net.set_cable_up(u, v, True)
        stack.wait_discovered()
    print(f"pings lost per cut at 5 ms: {lost}")  # shown with pytest -s
    doc = _get(stack, res_id)
    assert doc["protected"] and _groups_as_planned(stack, doc)
    gone = stack.request("DELETE", f"/v1/reservations/{res_id}")
    assert gone[0] == 200
    wait_until(
        lambda: all(not switch_groups(stack.net, n) for n in stack.net.dpid),  # type: ignore[union-attr]
        5.0,
        0.2,
        "no group left once released",
    )


def test_on_a_ring_the_detour_turns_back_and_a_second_way_is_waited_for(
    testbed_host: None,
) -> None:
    """A ring has one way around each link: the detour around the path's second link turns
    back at its switch (bucket output IN_PORT). After that cut no backup is left: the
    reservation moves onto the rest of the ring unprotected, says so, and is protected again
    once the cable is back."""
    options = {"probe_interval_s": 0.5, "link_timeout_s": 3.5, "stats_interval_s": 0.5}
    with Stack(nx.cycle_graph([1, 2, 3, 4, 5]), controller=options, base_prefix="vnr") as ring:
        assert ring.net is not None
        body = {"src": "h1", "dst": "h3", "bandwidth_mbps": 5, "protection": True}
        status, doc = ring.request("POST", "/v1/reservations", body)
        assert status == 201 and doc["protected"] and _nodes(ring, doc["path"]) == [1, 2, 3], doc
        planned = planned_groups(ring.net, doc)
        assert ("IN_PORT" in str(planned[2])) and _groups_as_planned(ring, doc)
        result = ping_through_cut(ring.net, "h1", "h3", (2, 3), frozen=ring.controller)
        assert result.sent - result.received <= MAX_LOST, result

        def moved() -> dict[str, Any] | None:
            now = _get(ring, doc["id"])
            return now if now["state"] == "ACTIVE" and 2 not in _nodes(ring, now["path"]) else None

        after = wait_until(moved, 10.0, 0.1, "moved off the cut cable")
        assert not after["protected"] and "no backup around link" in after["reason"], after
        assert ring.net.ping("h1", "h3", count=5, interval=0.05).received == 5
        ring.net.set_cable_up(2, 3, True)
        ring.wait_discovered()
        wait_until(
            lambda: _get(ring, doc["id"])["protected"], 10.0, 0.1, "protected again on the ring"
        )
        final = _get(ring, doc["id"])
        wait_until(lambda: _groups_as_planned(ring, final), 5.0, 0.2, "the planned groups")
