"""A follower's reads: reservations and intents as the leader shows them, from the store's rows.

A follower holds no core, only the replicated store. What the store keeps is what the leader
committed; what only the leader's live state knows is answered empty: a reservation's
``meter_rate_mbps`` (None), ``installed_at`` (None) and ``history`` ([]), an intent's
``window`` and ``next_occurrence`` as its stored spec gives them (a recurring intent's booked
occurrence is not stored: None).
"""

from __future__ import annotations

from typing import Any

from vnstitch.clock import parse_rfc3339
from vnstitch.core.actions import Reply
from vnstitch.core.commands import Command, GetIntent, GetReservation, ListIntents, ListReservations
from vnstitch.intents.model import Intent
from vnstitch.intents.parse import IntentError
from vnstitch.stitcher.request_body import parse_request
from vnstitch.stitcher.reservation import Origin, RequestError, Reservation, State
from vnstitch.store.records import IntentRecord, ReservationRecord, StoredState

FOLLOWER_READS = (ListReservations, GetReservation, ListIntents, GetIntent)
GONE = (State.RELEASED.value, State.ENDED.value)


def serves(command: Command) -> bool:
    """True when a follower answers ``command`` from the store."""
    return isinstance(command, FOLLOWER_READS)


def reservation_body(record: ReservationRecord) -> dict[str, Any] | None:
    """The REST form of a stored reservation (None if its row is unreadable)."""
    try:
        request = parse_request(record["request"], Origin(record["origin"]), record["origin_ref"])
        res = Reservation(
            record["id"],
            request,
            State(record["state"]),
            reason=record["reason"],
            created_at=parse_rfc3339(record["created_at"]),
            updated_at=parse_rfc3339(record["updated_at"]),
        )
    except (RequestError, ValueError, KeyError, TypeError):
        return None
    body = res.to_dict()
    plan = record["plan"]
    if plan is not None and plan.get("path"):
        path = list(plan["path"])
        reverse = list(reversed(path)) if request.bidirectional else []
        latency = plan["latency_ms"]
        detours = plan.get("detours", [])
        body.update(
            path=path,
            reverse_path=reverse,
            latency_ms=None if latency is None else round(float(latency), 3),
            version=int(plan["version"]),
            protected=bool(detours) or len(path) == 1,
            backup=[
                {
                    "direction": "reverse" if d["reverse"] else "forward",
                    "around": (reverse if d["reverse"] else path)[d["hop"] : d["hop"] + 2],
                    "path": list(d["path"]),
                }
                for d in detours
            ],
        )
    return body


def intent_body(record: IntentRecord) -> dict[str, Any] | None:
    """The REST form of a stored intent (None if its row is unreadable)."""
    try:
        return Intent.from_record(record).to_dict()
    except (IntentError, ValueError, KeyError, TypeError):
        return None


def stored_reply(command: Command, state: StoredState, ticket: int = 0) -> Reply:
    """A follower's answer to one of the reads it serves, from what the store holds."""
    match command:
        case ListReservations():
            rows = [reservation_body(r) for r in state.reservations if r["state"] not in GONE]
            return Reply(ticket, 200, {"reservations": [r for r in rows if r is not None]})
        case GetReservation(res_id):
            found = [r for r in state.reservations if str(r["id"]) == canonical(res_id)]
            body = reservation_body(found[0]) if found else None
            if body is None:
                return not_found(ticket, f"no reservation {res_id!r}")
            return Reply(ticket, 200, body)
        case ListIntents():
            bodies = [intent_body(i) for i in state.intents]
            return Reply(ticket, 200, {"intents": [b for b in bodies if b is not None]})
        case GetIntent(intent_id):
            matches = [i for i in state.intents if i["id"] == intent_id]
            body = intent_body(matches[0]) if matches else None
            if body is None:
                return not_found(ticket, f"no intent {intent_id!r}")
            return Reply(ticket, 200, body)
    raise ValueError(f"a follower does not serve {type(command).__name__} from the store")


def canonical(res_id: str) -> str:
    """A reservation id as the leader reads it (``int``), or the text if it is no number."""
    try:
        return str(int(res_id))
    except ValueError:
        return res_id


def not_found(ticket: int, message: str) -> Reply:
    """404 naming the id."""
    return Reply(ticket, 404, {"error": message, "field": "id"})
