"""The controller as the REST routes see it (:class:`vnstitch.core.commands.ControllerApi`).

Routes get this object and nothing else of the app: they authorise with it and send it
commands, which run on the app's event queue; the route waits for the reply. Every path also
answers the methods it does not serve: 405 with ``Allow`` (``OPTIONS``: 204 with ``Allow``).
The web view's static files (``/ui/``, :mod:`ryu_apps.web_ui`) are served on the same port.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ryu.app.wsgi import ControllerBase, WSGIApplication
from webob import Response

from ryu_apps import (
    rest_cluster,
    rest_forecasts,
    rest_intents,
    rest_openapi,
    rest_reservations,
    rest_stats,
    rest_stream,
    rest_topology,
    web_ui,
)
from ryu_apps.cluster_member import ClusterMember
from ryu_apps.rest_cluster import MEMBER_KEY
from ryu_apps.rest_common import API_KEY, error_response
from ryu_apps.rest_stream import SLOTS_KEY, StreamSlots
from vnstitch.core.actions import Reply
from vnstitch.core.commands import Command, ControllerApi
from vnstitch.northbound.auth import ApiToken

if TYPE_CHECKING:
    from ryu_apps.vnstitch import VnstitchApp

METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE")  # as ``Allow`` lists them
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


RESOURCES = (
    rest_topology,
    rest_reservations,
    rest_intents,
    rest_forecasts,
    rest_stats,
    rest_openapi,
    rest_stream,
    rest_cluster,
)


def register_routes(
    wsgi: WSGIApplication, api: ControllerApi, member: ClusterMember | None = None
) -> None:
    """Register every REST resource with Ryu's WSGI application, then the 405 answers.

    Routes match in the order they were connected, so each path's fallback (any method) comes
    after its real routes and only catches the methods the path does not serve.
    """
    data = {API_KEY: api, SLOTS_KEY: StreamSlots(), MEMBER_KEY: member}
    for module in (*RESOURCES, web_ui):
        wsgi.register(module.ROUTES, data)
    for path, methods in allowed_methods((*RESOURCES, web_ui)).items():
        wsgi.mapper.connect(
            "method_not_allowed",
            path,
            controller=MethodNotAllowed,
            action="refuse",
            allow=", ".join([*methods, "OPTIONS"]),
            conditions={},
        )


def allowed_methods(modules: Iterable[ModuleType]) -> dict[str, list[str]]:
    """Each routed path and the HTTP methods its ``@route``s serve (GET, POST, PATCH, DELETE)."""
    allowed: dict[str, set[str]] = {}
    for module in modules:
        for _, method in inspect.getmembers(module.ROUTES, inspect.isfunction):
            info = getattr(method, "routing_info", None)
            if info:
                allowed.setdefault(info["path"], set()).update(info["methods"])
    return {path: sorted(methods, key=METHOD_ORDER.index) for path, methods in allowed.items()}


class MethodNotAllowed(ControllerBase):
    """A method the path does not serve: 405 with ``Allow``; ``OPTIONS``: 204 with ``Allow``.

    Answered before the bearer token is checked, like a path that does not exist: the allowed
    methods are those of the public OpenAPI document.
    """

    def refuse(self, req: Any, allow: str, **_kwargs: Any) -> Response:
        """The answer to a method no route of this path serves."""
        if req.method == "OPTIONS":
            response = Response(status=204)
        else:
            message = f"{req.method} is not allowed on {req.path}; allowed: {allow}"
            response = error_response(405, message, None)
        response.headers["Allow"] = allow
        return response
