"""The live feed's differences: what a client already has is never sent again, every change is."""

from __future__ import annotations

import json
from typing import Any

from vnstitch.northbound.live_feed import FeedMessage, FeedState, Look, comment, link_key


def res(ident: str, state: str = "ACTIVE", **extra: Any) -> dict[str, Any]:
    return {"id": ident, "state": state, "path": ["0000000000000001"], **extra}


def link(src: int, dst: int, measured: float | None = None) -> dict[str, Any]:
    return {
        "src": f"{src:016x}",
        "src_port": dst,
        "dst": f"{dst:016x}",
        "dst_port": src,
        "capacity_mbps": 100.0,
        "reserved_mbps": 0.0,
        "measured_mbps": measured,
    }


def event(version: int, kind: str = "link_remove") -> dict[str, Any]:
    return {"version": version, "time": "2026-11-29T21:17:35.123Z", "kind": kind}


def started(**look: Any) -> FeedState:
    state = FeedState()
    state.snapshot({"version": 5, "switches": [], "links": [], "hosts": []}, Look(**look))
    return state


def names(messages: list[FeedMessage]) -> list[str]:
    return [m.event for m in messages]


def test_a_snapshot_holds_everything_and_nothing_is_sent_again() -> None:
    state = FeedState()
    reservations = {"reservations": [res("1")]}
    snap = state.snapshot({"version": 7}, Look(reservations=reservations, stats={"a": 1}))
    assert snap.event == "snapshot"
    assert snap.data["reservations"] == [res("1")] and snap.data["topology"] == {"version": 7}
    again = Look(events={"version": 7, "events": []}, reservations=reservations, stats={"a": 1})
    assert state.changes(again) == []


def test_a_changed_new_and_vanished_reservation_each_become_a_message() -> None:
    state = started(reservations={"reservations": [res("1"), res("2")]})
    now = {"reservations": [res("1", "DEGRADED", reason="port down"), res("3", "INSTALLING")]}
    messages = state.changes(Look(reservations=now))
    assert names(messages) == ["reservation", "reservation", "reservation_removed"]
    assert messages[0].data["state"] == "DEGRADED" and messages[1].data["id"] == "3"
    assert messages[2].data == {"id": "2"}
    assert state.changes(Look(reservations=now)) == []


def test_intents_are_diffed_like_reservations() -> None:
    state = started(intents={"intents": [{"id": "intent-1", "state": "INSTALLING"}]})
    messages = state.changes(Look(intents={"intents": [{"id": "intent-1", "state": "INSTALLED"}]}))
    assert [(m.event, m.data["state"]) for m in messages] == [("intent", "INSTALLED")]
    assert names(state.changes(Look(intents={"intents": []}))) == ["intent_removed"]


def test_topology_events_after_the_version_are_sent_once() -> None:
    state = started()
    look = Look(events={"version": 7, "events": [event(6), event(7, "link_add")]})
    assert not state.has_gap(look.events or {})
    (message,) = state.changes(look)
    assert message.data == {"version": 7, "events": [event(6), event(7, "link_add")]}
    assert state.version == 7
    assert state.changes(Look(events={"version": 7, "events": []})) == []


def test_events_dropped_from_the_log_are_a_gap() -> None:
    state = started()  # version 5
    assert state.has_gap({"version": 9, "events": [event(8), event(9)]})  # 6 and 7 are gone
    assert state.has_gap({"version": 9, "events": []})  # all of them are gone
    assert not state.has_gap({"version": 6, "events": [event(6)]})
    assert not state.has_gap({"version": 5, "events": []})


def test_only_changed_links_are_sent_and_removed_ones_by_key() -> None:
    state = started(links={"links": [link(1, 2), link(2, 1)]})
    messages = state.changes(Look(links={"links": [link(1, 2, measured=3.5)]}))
    assert names(messages) == ["links"]
    assert messages[0].data == {
        "changed": [link(1, 2, measured=3.5)],
        "removed": [link_key(link(2, 1))],
    }
    assert link_key(link(2, 1)) == "0000000000000002:1>0000000000000001:2"


def test_forecasts_whose_only_change_is_their_age_are_not_sent() -> None:
    row = {"pair": ["h1", "h2"], "mean_mbps": 1.0, "upper_mbps": 2.0, "age_s": 1.0}
    state = started(forecasts={"forecasts": [row], "queue": None})
    older = {"forecasts": [{**row, "age_s": 3.0}], "queue": None}
    assert state.changes(Look(forecasts=older)) == []
    moved = {"forecasts": [{**row, "mean_mbps": 1.5}], "queue": None}
    assert names(state.changes(Look(forecasts=moved))) == ["forecasts"]


def test_stats_are_sent_when_they_change() -> None:
    state = started(stats={"packet_in": {"arp": 1}})
    assert state.changes(Look(stats={"packet_in": {"arp": 1}})) == []
    assert names(state.changes(Look(stats={"packet_in": {"arp": 2}}))) == ["stats"]


def test_the_frames_are_server_sent_events_with_one_json_data_line() -> None:
    frame = FeedMessage("reservation", {"reason": "a\nb"}).encode(12).decode()
    lines = frame.split("\n")
    assert lines[:2] == ["id: 12", "event: reservation"]
    assert lines[2].startswith("data: ") and json.loads(lines[2][6:]) == {"reason": "a\nb"}
    assert frame.endswith("\n\n") and frame.count("\n") == 4
    assert comment("heartbeat") == b": heartbeat\n\n"
