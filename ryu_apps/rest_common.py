"""JSON responses and error bodies shared by the REST controllers."""

from __future__ import annotations

import json
from typing import Any

from webob import Response


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
