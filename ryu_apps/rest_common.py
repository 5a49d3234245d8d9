"""What every REST resource shares: the guard, body reading and turning replies into responses."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from ryu.app.wsgi import ControllerBase
from webob import Response

from vnstitch.core.actions import Reply
from vnstitch.core.commands import Command, ControllerApi

LOG = logging.getLogger("vnstitch.rest")
API_KEY = "vnstitch_api"
MAX_BODY = 64 * 1024
Handler = Callable[..., Any]


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON response."""
    return Response(
        status=status,
        content_type="application/json",
        charset="utf-8",
        body=json.dumps(body, indent=None, separators=(",", ":")).encode(),
    )


def error_response(status: int, message: str, field: str | None = None) -> Response:
    """The project's error body: ``{"error": "...", "field": "..."}``."""
    return json_response({"error": message, "field": field}, status)


class Resource(ControllerBase):
    """A REST resource: routes that turn requests into commands for the controller."""

    def __init__(self, req: Any, link: Any, data: dict[str, Any], **config: Any) -> None:
        super().__init__(req, link, data, **config)
        self.api: ControllerApi = data[API_KEY]

    def ask(self, command: Command) -> Response:
        """Send ``command`` and answer with its reply."""
        return respond(self.api.call(command))


def respond(reply: Reply) -> Response:
    """The HTTP response for a core reply."""
    if reply.content_type == "application/json":
        return json_response(reply.body, reply.status)
    return Response(
        status=reply.status, body=str(reply.body).encode(), content_type=reply.content_type
    )


def guarded(write: bool) -> Callable[[Handler], Handler]:
    """Check the bearer token (always for writes; for reads unless opened) and never leak a 500.

    Applied below ``@route`` so the route registers the guarded method.
    """

    def wrap(method: Handler) -> Handler:
        @functools.wraps(method)
        def inner(self: Resource, req: Any, **kwargs: Any) -> Any:
            if write or not self.api.open_reads:
                status = self.api.authorize(req.headers.get("Authorization"))
                if status == 401:
                    return error_response(
                        401,
                        "missing bearer token: send 'Authorization: Bearer <token>'",
                        "Authorization",
                    )
                if status == 403:
                    return error_response(403, "the bearer token is not valid", "Authorization")
            try:
                return method(self, req, **kwargs)
            except BodyError as exc:
                return error_response(exc.status, str(exc), None)
            except Exception:  # a bug must not take the API down or leak a traceback
                LOG.exception("REST %s %s failed", req.method, req.path)
                return error_response(500, "internal error: see the controller log", None)

        return inner

    return wrap


class BodyError(ValueError):
    """A request body that cannot be read: too large (413) or not JSON (400)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def read_json_body(req: Any) -> Any:
    """The decoded JSON body; BodyError if it is larger than MAX_BODY or not JSON."""
    length = req.content_length
    if length is not None and length > MAX_BODY:
        raise BodyError(f"body larger than {MAX_BODY} bytes", 413)
    raw = req.body_file.read(MAX_BODY + 1) if length is None else req.body
    if len(raw) > MAX_BODY:
        raise BodyError(f"body larger than {MAX_BODY} bytes", 413)
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(f"the body is not valid JSON: {exc}", 400) from exc


def flag(req: Any, name: str) -> bool:
    """A boolean query parameter (``1``, ``true``, ``yes``)."""
    return str(req.GET.get(name, "false")).lower() in ("1", "true", "yes")
