"""JSON responses and error bodies shared by the REST controllers."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from webob import Response

LOG = logging.getLogger("vnstitch.rest")
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


def guarded(write: bool) -> Callable[[Handler], Handler]:
    """Check the bearer token (always for writes; for reads unless opened) and never leak a 500.

    Applied below ``@route`` so the route registers the guarded method.
    """

    def wrap(method: Handler) -> Handler:
        @functools.wraps(method)
        def inner(self: Any, req: Any, **kwargs: Any) -> Any:
            app = self.app
            if write or not app.config.api.open_reads:
                status = app.api_token.check(req.headers.get("Authorization"))
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
            except Exception:  # a bug must not take the API down or leak a traceback
                LOG.exception("REST %s %s failed", req.method, req.path)
                return error_response(500, "internal error: see the controller log", None)

        return inner

    return wrap
