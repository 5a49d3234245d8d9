"""``/v1/reservations`` and ``/v1/links``: reservations and what they hold of each link."""

from __future__ import annotations

from typing import Any

from ryu.app.wsgi import route

from ryu_apps.rest_common import (
    Resource,
    boolean_query,
    guarded,
    read_json_body,
    refuse_query,
)
from vnstitch.core.commands import (
    CreateReservation,
    DeleteReservation,
    GetLinks,
    GetReservation,
    ListReservations,
    ModifyReservation,
    ReservationAvailability,
    TraceReservation,
)

NO_DRY_RUN = (
    "reservations have no dry run; plan one as POST /v1/intents?dry_run=true (connectivity)"
)


class ReservationResource(Resource):
    """Create, list, change and withdraw reservations; link usage."""

    @route("reservations", "/v1/reservations", methods=["POST"])
    @guarded(write=True)
    def create(self, req: Any, **_kwargs: Any) -> Any:
        """Stitch a reservation: 201 ACTIVE/FAILED, 202 INSTALLING, 409 no path, 400 bad.

        ``?dry_run`` is refused rather than ignored: ignoring it would install for real.
        """
        refuse_query(req, "dry_run", NO_DRY_RUN)
        return self.ask(CreateReservation(read_json_body(req)))

    @route("reservations", "/v1/reservations/availability", methods=["POST"])
    @guarded(write=True)
    def availability(self, req: Any, **_kwargs: Any) -> Any:
        """The earliest window that fits a request, and its path (books nothing)."""
        return self.ask(ReservationAvailability(read_json_body(req)))

    @route("reservations", "/v1/reservations", methods=["GET"])
    @guarded(write=False)
    def list_all(self, req: Any, **_kwargs: Any) -> Any:
        """Every reservation not released."""
        return self.ask(ListReservations())

    @route("reservations", "/v1/reservations/{res_id}", methods=["GET"])
    @guarded(write=False)
    def show(self, req: Any, res_id: str, **_kwargs: Any) -> Any:
        """One reservation."""
        return self.ask(GetReservation(res_id))

    @route("reservations", "/v1/reservations/{res_id}/trace", methods=["GET"])
    @guarded(write=False)
    def trace(self, req: Any, res_id: str, **_kwargs: Any) -> Any:
        """Each direction's packet, hop by hop, through the tables the switches reported."""
        return self.ask(TraceReservation(res_id))

    @route("reservations", "/v1/reservations/{res_id}", methods=["DELETE"])
    @guarded(write=True)
    def delete(self, req: Any, res_id: str, **_kwargs: Any) -> Any:
        """Withdraw a reservation: its rules go (ingress first), its resources are freed.

        An intent's reservation is withdrawn through its intent (409); a forecast-driven one
        only with ``?force=true``.
        """
        return self.ask(DeleteReservation(res_id, boolean_query(req, "force")))

    @route("reservations", "/v1/reservations/{res_id}", methods=["PATCH"])
    @guarded(write=True)
    def modify(self, req: Any, res_id: str, **_kwargs: Any) -> Any:
        """Change bandwidth or constraints: a make-before-break move onto the new plan."""
        body = read_json_body(req)
        return self.ask(ModifyReservation(res_id, body, boolean_query(req, "force")))

    @route("links", "/v1/links", methods=["GET"])
    @guarded(write=False)
    def links(self, req: Any, **_kwargs: Any) -> Any:
        """Every directed link: capacity, reserved and measured utilisation in Mbit/s."""
        return self.ask(GetLinks())


ROUTES = ReservationResource
