"""``/v1/stats`` and ``/metrics``: controller counters, and the Prometheus exposition."""

from __future__ import annotations

from typing import Any

from ryu.app.wsgi import route

from ryu_apps.rest_common import Resource, guarded
from vnstitch.core.commands import GetMetrics, GetStats


class StatsResource(Resource):
    """Counters and metrics."""

    @route("stats", "/v1/stats", methods=["GET"])
    @guarded(write=False)
    def stats(self, req: Any, **_kwargs: Any) -> Any:
        """Packet-ins by kind, audit repairs, jobs in flight, the predictor queue."""
        return self.ask(GetStats())

    @route("metrics", "/metrics", methods=["GET"])
    @guarded(write=False)
    def metrics(self, req: Any, **_kwargs: Any) -> Any:
        """Prometheus text exposition."""
        return self.ask(GetMetrics())


ROUTES = StatsResource
