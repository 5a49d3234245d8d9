"""The controller as the REST routes see it (:class:`vnstitch.core.commands.ControllerApi`).

Routes get this object and nothing else of the app: they authorise with it and send it
commands, which run on the app's event queue; the route waits for the reply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ryu.app.wsgi import WSGIApplication

from ryu_apps import (
    rest_forecasts,
    rest_intents,
    rest_openapi,
    rest_reservations,
    rest_stats,
    rest_topology,
)
from ryu_apps.rest_common import API_KEY
from vnstitch.core.actions import Reply
from vnstitch.core.commands import Command
from vnstitch.northbound.auth import ApiToken

if TYPE_CHECKING:
    from ryu_apps.vnstitch import VnstitchApp

REPLY_TIMEOUT_S = 30.0  # a command's reply waits at most this long (the core holds it <= 2 s)


class RyuControllerApi:
    """Commands onto the app's event queue, replies back to the waiting route."""

    def __init__(self, app: VnstitchApp, token: ApiToken) -> None:
        self._app = app
        self._token = token

    @property
    def open_reads(self) -> bool:
        """True when reads need no bearer token."""
        return self._app.config.api.open_reads

    def authorize(self, header: str | None) -> int:
        """200, or 401 (no token) / 403 (wrong token)."""
        return self._token.check(header) or 200

    def call(self, command: Command) -> Reply:
        """Run ``command`` on the event loop and wait for its reply."""
        return self._app.request(command, REPLY_TIMEOUT_S)


def register_routes(wsgi: WSGIApplication, api: RyuControllerApi) -> None:
    """Register every REST resource with Ryu's WSGI application."""
    for module in (
        rest_topology,
        rest_reservations,
        rest_intents,
        rest_forecasts,
        rest_stats,
        rest_openapi,
    ):
        wsgi.register(module.ROUTES, {API_KEY: api})
