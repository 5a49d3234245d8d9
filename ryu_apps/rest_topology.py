"""``/v1/topology`` and ``/v1/topology/events``: read-only views of the live graph."""

from __future__ import annotations

from typing import Any

from ryu.app.wsgi import route

from ryu_apps.rest_common import Resource, guarded
from vnstitch.core.commands import GetTopology, GetTopologyEvents


class TopologyResource(Resource):
    """The live graph and its event log."""

    @route("topology", "/v1/topology", methods=["GET"])
    @guarded(write=False)
    def topology(self, req: Any, **_kwargs: Any) -> Any:
        """Switches, directed links and hosts."""
        return self.ask(GetTopology())

    @route("topology", "/v1/topology/events", methods=["GET"])
    @guarded(write=False)
    def events(self, req: Any, **_kwargs: Any) -> Any:
        """Topology events with a version greater than ``since``."""
        return self.ask(GetTopologyEvents(str(req.GET.get("since", "0"))))


ROUTES = TopologyResource
