"""REST routes of the stitcher: ``/v1/reservations`` and ``/v1/links``."""

from __future__ import annotations

from typing import Any

from ryu.app.wsgi import ControllerBase, route

from ryu_apps.rest_common import (
    BodyError,
    error_response,
    guarded,
    json_response,
    read_json_body,
)
from ryu_apps.rest_topology import APP_KEY
from vnstitch.stitcher.request_body import parse_request
from vnstitch.stitcher.reservation import RequestError, State


class ReservationController(ControllerBase):  # type: ignore[misc]
    """Create, list, change and withdraw reservations; link usage."""

    def __init__(self, req: Any, link: Any, data: dict[str, Any], **config: Any) -> None:
        super().__init__(req, link, data, **config)
        self.app = data[APP_KEY]

    @route("reservations", "/v1/reservations", methods=["POST"])
    @guarded(write=True)
    def create(self, req: Any, **_kwargs: Any) -> Any:
        """Stitch a reservation: 201 ACTIVE/FAILED, 202 INSTALLING, 409 no path, 400 bad."""
        try:
            request = parse_request(read_json_body(req))
        except BodyError as exc:
            return error_response(exc.status, str(exc), None)
        except RequestError as exc:
            return error_response(400, str(exc), exc.field)
        res, refusal = self.app.reserve(request)
        if res is None:
            body = {"error": refusal.reason, "field": None, **refusal.to_dict()}
            return json_response(body, 409)
        status = 202 if res.state is State.INSTALLING else 201
        return json_response(res.to_dict(), status)

    @route("reservations", "/v1/reservations", methods=["GET"])
    @guarded(write=False)
    def list_all(self, req: Any, **_kwargs: Any) -> Any:
        """Every reservation not released."""
        return json_response({"reservations": [r.to_dict() for r in self.app.stitcher.live()]})

    def _find(self, res_id: str) -> Any:
        try:
            return self.app.stitcher.reservations.get(int(res_id))
        except ValueError:
            return None

    @route("reservations", "/v1/reservations/{res_id}", methods=["GET"])
    @guarded(write=False)
    def show(self, req: Any, res_id: str, **_kwargs: Any) -> Any:
        """One reservation."""
        res = self._find(res_id)
        if res is None:
            return error_response(404, f"no reservation {res_id!r}", "id")
        return json_response(res.to_dict())

    @route("reservations", "/v1/reservations/{res_id}", methods=["DELETE"])
    @guarded(write=True)
    def delete(self, req: Any, res_id: str, **_kwargs: Any) -> Any:
        """Withdraw a reservation: its rules go (ingress first), its resources are freed."""
        res = self._find(res_id)
        if res is None or res.state is State.RELEASED:
            return error_response(404, f"no reservation {res_id!r}", "id")
        self.app.withdraw(res.id)
        return json_response(res.to_dict())

    @route("reservations", "/v1/reservations/{res_id}", methods=["PATCH"])
    @guarded(write=True)
    def modify(self, req: Any, res_id: str, **_kwargs: Any) -> Any:
        """Change bandwidth or constraints: a make-before-break move onto the new plan."""
        res = self._find(res_id)
        if res is None or res.state is State.RELEASED:
            return error_response(404, f"no reservation {res_id!r}", "id")
        try:
            body = read_json_body(req)
            if not isinstance(body, dict):
                raise RequestError("the body must be a JSON object", None)
            merged = {**res.request.to_dict(), **body}
            for key in ("origin", "origin_ref"):
                merged.pop(key, None)
            request = parse_request(merged, res.request.origin, res.request.origin_ref)
        except BodyError as exc:
            return error_response(exc.status, str(exc), None)
        except RequestError as exc:
            return error_response(400, str(exc), exc.field)
        refusal = self.app.modify(res.id, request)
        if refusal is not None:
            return json_response({"error": refusal.reason, "field": None, **refusal.to_dict()}, 409)
        return json_response(res.to_dict(), 202 if res.state is State.INSTALLING else 200)

    @route("links", "/v1/links", methods=["GET"])
    @guarded(write=False)
    def links(self, req: Any, **_kwargs: Any) -> Any:
        """Every directed link: capacity, reserved and measured utilisation in Mbit/s."""
        return json_response({"links": self.app.link_report()})

    @route("stats", "/v1/stats", methods=["GET"])
    @guarded(write=False)
    def stats(self, req: Any, **_kwargs: Any) -> Any:
        """Controller counters: packet-ins by kind, audit repairs, jobs in flight."""
        return json_response(
            {
                "packet_in": dict(self.app.packet_in_counts),
                "audit_repairs": self.app.audit_repairs,
                "jobs_running": self.app.runner.busy(),
                "queue": None if self.app.predictor is None else self.app.predictor.bridge.status(),
            }
        )

    @route("forecasts", "/v1/forecasts", methods=["GET"])
    @guarded(write=False)
    def forecasts(self, req: Any, **_kwargs: Any) -> Any:
        """The latest forecast of every pair: bandwidth, validity, age, model."""
        link = self.app.predictor
        if link is None:
            return json_response({"forecasts": [], "queue": None})
        now = link.clock()
        return json_response(
            {"forecasts": link.forecasts_report(now), "queue": link.bridge.status()}
        )
