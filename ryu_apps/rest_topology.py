"""REST routes of the topology database: ``/v1/topology`` and ``/v1/topology/events``."""

from __future__ import annotations

from typing import Any

from ryu.app.wsgi import ControllerBase, route

from ryu_apps.rest_common import error_response, guarded, json_response

APP_KEY = "vnstitch_app"


class TopologyController(ControllerBase):  # type: ignore[misc]
    """Read-only views of the live graph."""

    def __init__(self, req: Any, link: Any, data: dict[str, Any], **config: Any) -> None:
        super().__init__(req, link, data, **config)
        self.app = data[APP_KEY]

    @route("topology", "/v1/topology", methods=["GET"])
    @guarded(write=False)
    def topology(self, req: Any, **_kwargs: Any) -> Any:
        """Switches, directed links and hosts."""
        return json_response(self.app.db.to_dict())

    @route("topology", "/v1/topology/events", methods=["GET"])
    @guarded(write=False)
    def events(self, req: Any, **_kwargs: Any) -> Any:
        """Topology events with a version greater than ``since``."""
        raw = req.GET.get("since", "0")
        try:
            since = int(raw)
            if since < 0:
                raise ValueError
        except ValueError:
            return error_response(
                400, f"since must be a non-negative integer, got {raw!r}", "since"
            )
        events = self.app.db.events_since(since)
        return json_response(
            {"version": self.app.db.version, "events": [e.to_dict() for e in events]}
        )
