"""``/v1/reservations`` and ``/v1/links``: reservations and what they hold of each link."""

from __future__ import annotations

from typing import Any

from ryu.app.wsgi import route

from ryu_apps.rest_common import Resource, guarded, read_json_body
from vnstitch.core.commands import (
    CreateReservation,
    DeleteReservation,
    GetLinks,
    GetReservation,
    ListReservations,
    ModifyReservation,
)


class ReservationResource(Resource):
    """Create, list, change and withdraw reservations; link usage."""

    @route("reservations", "/v1/reservations", methods=["POST"])
    @guarded(write=True)
    def create(self, req: Any, **_kwargs: Any) -> Any:
        """Stitch a reservation: 201 ACTIVE/FAILED, 202 INSTALLING, 409 no path, 400 bad."""
        return self.ask(CreateReservation(read_json_body(req)))

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

    @route("reservations", "/v1/reservations/{res_id}", methods=["DELETE"])
    @guarded(write=True)
    def delete(self, req: Any, res_id: str, **_kwargs: Any) -> Any:
        """Withdraw a reservation: its rules go (ingress first), its resources are freed."""
        return self.ask(DeleteReservation(res_id))

    @route("reservations", "/v1/reservations/{res_id}", methods=["PATCH"])
    @guarded(write=True)
    def modify(self, req: Any, res_id: str, **_kwargs: Any) -> Any:
        """Change bandwidth or constraints: a make-before-break move onto the new plan."""
        return self.ask(ModifyReservation(res_id, read_json_body(req)))

    @route("links", "/v1/links", methods=["GET"])
    @guarded(write=False)
    def links(self, req: Any, **_kwargs: Any) -> Any:
        """Every directed link: capacity, reserved and measured utilisation in Mbit/s."""
        return self.ask(GetLinks())


ROUTES = ReservationResource
