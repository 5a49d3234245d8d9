"""``/v1/forecasts``: the predictor's latest forecast per pair, and the queue's counters."""

from __future__ import annotations

from typing import Any

from ryu.app.wsgi import route

from ryu_apps.rest_common import Resource, guarded
from vnstitch.core.commands import GetForecasts


class ForecastResource(Resource):
    """Forecasts as the controller holds them."""

    @route("forecasts", "/v1/forecasts", methods=["GET"])
    @guarded(write=False)
    def forecasts(self, req: Any, **_kwargs: Any) -> Any:
        """The latest forecast of every pair: bandwidth, validity, age, model."""
        return self.ask(GetForecasts())


ROUTES = ForecastResource
