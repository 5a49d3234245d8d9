"""Northbound commands answered by the core: validation, the change itself, the reply.

Every body is validated here (400 naming the field), refusals become 409 with the constraint
and near miss, and a change that goes to the switches is answered when they confirmed it or
after a short wait (:mod:`vnstitch.core.waiters`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, assert_never

from vnstitch.clock import Instant
from vnstitch.core.actions import Outbox, Reply
from vnstitch.core.commands import (
    Command,
    CreateIntent,
    CreateReservation,
    DeleteIntent,
    DeleteReservation,
    GetForecasts,
    GetIntent,
    GetLinks,
    GetMetrics,
    GetReservation,
    GetStats,
    GetTopology,
    GetTopologyEvents,
    ListIntents,
    ListReservations,
    ModifyReservation,
    ReservationAvailability,
    TraceReservation,
)
from vnstitch.core.discovery_grace import unless_discovering
from vnstitch.core.reservation_windows import availability_reply
from vnstitch.core.waiters import Waiters
from vnstitch.intents.model import IntentState
from vnstitch.intents.parse import IntentError, check_window, parse_intent
from vnstitch.northbound.metrics import CONTENT_TYPE
from vnstitch.stitcher.request_body import check_patch, parse_request
from vnstitch.stitcher.reservation import (
    Origin,
    RequestError,
    Reservation,
    ReservationRequest,
    State,
)
from vnstitch.stitcher.stitch_service import Refusal

if TYPE_CHECKING:
    from vnstitch.core.controller import ControllerCore

_BUSY_INTENT = (IntentState.INSTALLING, IntentState.COMPILING)


def error(ticket: int, status: int, message: str, field: str | None = None) -> Reply:
    """The project's error body: ``{"error": "...", "field": "..."}``."""
    return Reply(ticket, status, {"error": message, "field": field})


def refused(ticket: int, refusal: Refusal) -> Reply:
    """409 with the constraint no path met and the near miss."""
    return Reply(ticket, 409, {"error": refusal.reason, "field": None, **refusal.to_dict()})


def _changes_window(body: Any) -> bool:
    return isinstance(body, dict) and any(body.get(k) is not None for k in ("start", "end"))


class NorthboundCommands:
    """Turns each command into a change and a reply (immediate or held)."""

    def __init__(self, core: ControllerCore, outbox: Outbox, waiters: Waiters) -> None:
        self.core = core
        self.outbox = outbox
        self.waiters = waiters

    def handle(self, command: Command, ticket: int, at: Instant) -> None:
        """Queue the reply to ``command`` (now, or once it settled)."""
        core = self.core
        match command:
            case GetTopology():
                self._reply(ticket, 200, core.db.to_dict())
            case GetTopologyEvents(since):
                self._events(ticket, since)
            case GetLinks():
                self._reply(ticket, 200, {"links": core.link_report()})
            case ListReservations():
                body = [r.to_dict() for r in core.stitcher.live()]
                self._reply(ticket, 200, {"reservations": body})
            case GetReservation(res_id):
                res = self._find(res_id, released=True)
                if res is None:
                    self._add(error(ticket, 404, f"no reservation {res_id!r}", "id"))
                else:
                    self._reply(ticket, 200, res.to_dict())
            case CreateReservation(body):
                self._create_reservation(ticket, body, at)
            case ModifyReservation(res_id, body, force):
                self._modify_reservation(ticket, res_id, body, force, at)
            case DeleteReservation(res_id, force):
                res = self._find(res_id, released=False)
                if res is None:
                    self._add(error(ticket, 404, f"no reservation {res_id!r}", "id"))
                elif not self._owned_elsewhere(ticket, res, force, "withdraw"):
                    if core.scheduling.owns(res):
                        core.scheduling.withdraw(res.id, at)
                    else:
                        core.stitching.withdraw(res.id, at)
                    self._reply(ticket, 200, res.to_dict())
            case ReservationAvailability(body):
                self._add(availability_reply(core.scheduling, ticket, body, at))
            case TraceReservation(res_id):
                res = self._find(res_id, released=False)
                if res is None:
                    self._add(error(ticket, 404, f"no reservation {res_id!r}", "id"))
                else:
                    self._reply(ticket, 200, core.verification.trace_reservation(res))
            case ListIntents():
                body = [i.to_dict() for i in core.intents.intents.values()]
                self._reply(ticket, 200, {"intents": body})
            case GetIntent(intent_id):
                intent = core.intents.intents.get(intent_id)
                if intent is None:
                    self._add(error(ticket, 404, f"no intent {intent_id!r}", "id"))
                else:
                    self._reply(ticket, 200, intent.to_dict())
            case CreateIntent(body, dry_run):
                self._create_intent(ticket, body, dry_run, at)
            case DeleteIntent(intent_id):
                if intent_id not in core.intents.intents:
                    self._add(error(ticket, 404, f"no intent {intent_id!r}", "id"))
                else:
                    intent = core.stitching.withdraw_intent(intent_id, at)
                    self._reply(ticket, 200, intent.to_dict())
            case GetForecasts():
                pred = core.prediction
                forecasts = pred.report(at) if pred else []
                queue = pred.queue_status() if pred else None
                anomalies = pred.anomaly_report() if pred else []
                listed = {"forecasts": forecasts, "queue": queue, "anomalies": anomalies}
                self._reply(ticket, 200, listed)
            case GetStats():
                self._reply(ticket, 200, core.stats_report())
            case GetMetrics():
                self._add(Reply(ticket, 200, core.render_metrics(), CONTENT_TYPE))
            case _:
                assert_never(command)

    def _add(self, reply: Reply) -> None:
        self.outbox.add(reply)

    def _reply(self, ticket: int, status: int, body: Any) -> None:
        self.outbox.add(Reply(ticket, status, body))

    def _find(self, res_id: str, released: bool) -> Reservation | None:
        try:
            res = self.core.stitcher.reservations.get(int(res_id))
        except ValueError:
            return None
        if res is not None and res.state in (State.RELEASED, State.ENDED) and not released:
            return None
        return res

    def _owned_elsewhere(self, ticket: int, res: Reservation, force: bool, verb: str) -> bool:
        """409 (True) when an intent, or a forecast unless forced, owns ``res``."""
        origin, ref = res.request.origin, res.request.origin_ref
        if origin is Origin.INTENT:
            message = (
                f"reservation {res.id} belongs to intent {ref}: {verb} the intent instead"
                f" (DELETE or re-submit /v1/intents/{ref})"
            )
        elif origin is Origin.PREDICTED and not force:
            message = (
                f"reservation {res.id} is driven by forecasts ({ref}): the next forecast would"
                f" undo this; add ?force=true to {verb} it anyway"
            )
        else:
            return False
        self._reply(ticket, 409, {"error": message, "field": None, "owner": ref})
        return True

    def _same_host(self, request: ReservationRequest) -> RequestError | None:
        mac = self.core.stitcher.same_host(request)
        if mac is None:
            return None
        return RequestError(
            f"src {request.src!r} and dst {request.dst!r} name the same host ({mac})", "dst"
        )

    def _events(self, ticket: int, since: str) -> None:
        try:
            version = int(since)
            if version < 0:
                raise ValueError
        except ValueError:
            message = f"since must be a non-negative integer, got {since!r}"
            self._add(error(ticket, 400, message, "since"))
            return
        db = self.core.db
        events = [e.to_dict() for e in db.events_since(version)]
        self._reply(ticket, 200, {"version": db.version, "events": events})

    def _create_reservation(self, ticket: int, body: Any, at: Instant) -> None:
        try:
            request = parse_request(body)
            same = self._same_host(request)
            if same is not None:
                raise same
        except RequestError as exc:
            self._add(error(ticket, 400, str(exc), exc.field))
            return
        if request.windowed:
            outcome = self.core.scheduling.reserve(request, at)
        else:
            outcome = self.core.stitching.reserve(request, at)
        if isinstance(outcome, Refusal):
            reply = refused(ticket, outcome)
            self._add(unless_discovering(self.core, reply, at.wall))
            return
        self._reply_when_installed(ticket, outcome, 201, at)

    def _modify_reservation(
        self, ticket: int, res_id: str, body: Any, force: bool, at: Instant
    ) -> None:
        try:
            check_patch(body)  # the body on its own first: 400 before 404
        except RequestError as exc:
            self._add(error(ticket, 400, str(exc), exc.field))
            return
        res = self._find(res_id, released=False)
        if res is None:
            self._add(error(ticket, 404, f"no reservation {res_id!r}", "id"))
            return
        if self._owned_elsewhere(ticket, res, force, "change"):
            return
        if self.core.scheduling.owns(res) or _changes_window(body):
            message = "a reservation's window cannot be changed: withdraw it and book again"
            self._reply(ticket, 409, {"error": message, "field": None})
            return
        try:
            if not isinstance(body, dict):
                raise RequestError("the body must be a JSON object", None)
            merged = {**res.request.to_dict(), **body}
            for key in ("origin", "origin_ref"):
                merged.pop(key, None)
            request = parse_request(merged, res.request.origin, res.request.origin_ref)
            same = self._same_host(request)
            if same is not None:
                raise same
        except RequestError as exc:
            self._add(error(ticket, 400, str(exc), exc.field))
            return
        refusal = self.core.stitching.modify(res.id, request, at)
        if refusal is not None:
            self._add(refused(ticket, refusal))
            return
        self._reply_when_installed(ticket, res, 200, at)

    def _reply_when_installed(self, ticket: int, res: Reservation, done: int, at: Instant) -> None:
        """Answer with ``done`` once the switches confirmed, or 202 while still installing."""
        self.waiters.reply_when(
            ticket,
            lambda: res.state is not State.INSTALLING,
            lambda: Reply(ticket, 202 if res.state is State.INSTALLING else done, res.to_dict()),
            at.mono,
        )

    def _create_intent(self, ticket: int, body: Any, dry_run: bool, at: Instant) -> None:
        try:
            preempt = False
            if isinstance(body, dict) and "preempt" in body:
                body = dict(body)
                preempt = body.pop("preempt")
                if not isinstance(preempt, bool):
                    raise IntentError("preempt must be true or false", "preempt")
            spec = parse_intent(body)
            check_window(spec, at.wall)
        except (IntentError, RequestError) as exc:
            self._add(error(ticket, 400, str(exc), exc.field))
            return
        stitching = self.core.stitching
        if dry_run:
            self._reply(ticket, 200, stitching.intent_dry_run(spec, at, preempt))
            return
        outcome = stitching.submit_intent(spec, at, preempt)
        if isinstance(outcome, list):
            names = ", ".join(c.name for c in outcome)
            conflicts = [
                {
                    "intent_id": c.intent_id,
                    "reservation_id": None if c.reservation_id is None else str(c.reservation_id),
                    "reason": c.reason,
                }
                for c in outcome
            ]
            body = {"error": f"the intent contradicts {names}", "field": None}
            self._reply(ticket, 409, {**body, "conflicts": conflicts})
            return
        ident = outcome.id
        self.core.scheduling.tick(at)  # a window within its lead time installs at once
        intents = stitching.intents.intents
        self.waiters.reply_when(
            ticket,
            lambda: intents[ident].state not in _BUSY_INTENT,
            lambda: Reply(ticket, 201, intents[ident].to_dict()),
            at.mono,
        )
