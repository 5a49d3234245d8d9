"""A follower's reads from the store show what the leader shows, except its live-only fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core_harness import HOSTS, Harness

from vnstitch.core.commands import (
    CreateIntent,
    CreateReservation,
    DeleteReservation,
    GetIntent,
    GetReservation,
    ListIntents,
    ListReservations,
)
from vnstitch.core.stored_reads import serves, stored_reply
from vnstitch.store.records import StoredState
from vnstitch.store.sqlite import StateStore

H1, H4 = HOSTS[1][1], HOSTS[4][1]
LIVE_ONLY = ("meter_rate_mbps", "installed_at", "history")
# The leader commits a reservation before installing it, not when switches confirm it: the
# store (and a follower) says INSTALLING where the leader says ACTIVE.
CONFIRMED_LIVE = ("state",)


def _stored(h: Harness) -> StoredState:
    store = StateStore(h.tmp / "state.db", now=h.now.wall)
    try:
        return store.load()
    finally:
        store.close()


def _leader(h: Harness, command: Any) -> Any:
    reply = h.call(command, 99)
    assert reply is not None and reply.status == 200, reply
    h.replies.pop(99)
    return reply.body


def _without_live(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in LIVE_ONLY + CONFIRMED_LIVE}


def test_a_follower_answers_reservations_and_intents_as_the_leader_does(tmp_path: Path) -> None:
    """Every field the store holds equals the leader's; the live-only ones are empty."""
    h = Harness(tmp_path)
    h.connect_square()
    made = h.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 5}), 1)
    assert made is not None and made.status == 201, made
    body = {
        "kind": "connectivity",
        "src": H4,
        "dst": H1,
        "bandwidth_mbps": 3,
        "ip_proto": 6,
        "dst_port": 80,
    }
    intent = h.call(CreateIntent(body), 2)
    assert intent is not None and intent.status == 201, intent
    gone = h.call(
        CreateReservation(
            {"src": H1, "dst": H4, "bandwidth_mbps": 1, "ip_proto": 17, "dst_port": 53}
        ),
        3,
    )
    assert gone is not None and gone.status == 201, gone
    assert h.call(DeleteReservation(gone.body["id"], False), 4) is not None
    state = _stored(h)

    leader_list = _leader(h, ListReservations())["reservations"]
    follower_list = stored_reply(ListReservations(), state).body["reservations"]
    assert [r["id"] for r in follower_list] == [r["id"] for r in leader_list]
    assert gone.body["id"] not in [r["id"] for r in follower_list]
    res_id = made.body["id"]
    leader_res = _leader(h, GetReservation(res_id))
    follower_res = stored_reply(GetReservation(res_id), state).body
    assert leader_res["path"] and leader_res["state"] == "ACTIVE"
    assert _without_live(follower_res) == _without_live(leader_res)
    stored_state = next(r["state"] for r in state.reservations if str(r["id"]) == res_id)
    assert follower_res["state"] == stored_state == "INSTALLING"
    assert follower_res["meter_rate_mbps"] is None and follower_res["history"] == []
    assert set(follower_res) == set(leader_res)

    intent_id = intent.body["id"]
    assert stored_reply(GetIntent(intent_id), state).body == _leader(h, GetIntent(intent_id))
    assert stored_reply(ListIntents(), state).body == _leader(h, ListIntents())


def test_unknown_ids_are_404_and_writes_are_not_served(tmp_path: Path) -> None:
    """A follower's 404 names the id, as the leader's does; it serves no write."""
    h = Harness(tmp_path)
    state = _stored(h)
    for command in (GetReservation("7"), GetReservation("x"), GetIntent("intent-9")):
        reply = stored_reply(command, state)
        assert reply.status == 404 and reply.body["field"] == "id"
    assert serves(ListReservations()) and serves(GetIntent("intent-1"))
    assert not serves(CreateReservation({})) and not serves(DeleteReservation("1", False))
