"""``/ui/``: the web view's static files (``vnstitch/northbound/ui/``), on the REST port.

The files hold no data, so they are served without the bearer token; every call the page
makes for data (``/v1/...``, ``/v1/stream``) carries the token like any other client and is
checked there. Only files inside the UI folder with a known type are served; everything else
is a 404. Responses forbid framing and any script, style or connection not from this origin.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ryu.app.wsgi import ControllerBase, route
from webob import Response

import vnstitch.northbound
from ryu_apps.rest_common import error_response

UI_DIR = (Path(vnstitch.northbound.__file__).parent / "ui").resolve()
CONTENT_TYPES = {
    ".html": "text/html",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    "": "text/plain",  # LICENSE, VERSIONS
}
# Cytoscape.js adds one <style> element to the page (its container rule); its hash lets just
# that one in (tests/unit/test_web_ui.py checks it against the vendored file).
CYTOSCAPE_STYLE = ".__________cytoscape_container { position: relative; }"
CYTOSCAPE_STYLE_HASH = "sha256-pgvDUBa4IjFA2yuSJ2cqcyxmNYJMborsd0ORcRv9vw8="
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; script-src 'self'; style-src 'self' '{CYTOSCAPE_STYLE_HASH}'; "
        "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


def ui_file(name: str) -> Path | None:
    """The file ``name`` names inside the UI folder, or None (outside, hidden, unknown type)."""
    parts = name.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None
    path = (UI_DIR / name).resolve()
    if not path.is_relative_to(UI_DIR) or not path.is_file():
        return None
    if path.suffix not in CONTENT_TYPES:
        return None
    return path


def file_response(path: Path) -> Response:
    """The file with its type, an ETag (a 304 when unchanged) and the security headers."""
    body = path.read_bytes()
    content_type = CONTENT_TYPES[path.suffix]
    text = content_type.startswith("text/") or content_type.endswith("+xml")
    response = Response(
        body=body,
        content_type=content_type,
        charset="utf-8" if text else None,
        conditional_response=True,
    )
    response.etag = hashlib.sha256(body).hexdigest()[:32]
    response.headers.update(SECURITY_HEADERS)
    return response  # conditional: webob answers 304 when If-None-Match names the ETag


class WebUi(ControllerBase):
    """Static files of the web view."""

    @route("ui", "/ui", methods=["GET"])
    def root(self, req: Any, **_kwargs: Any) -> Response:
        """``/ui`` -> ``/ui/`` (relative links in the page resolve against the folder)."""
        response = Response(status=301)
        response.location = "/ui/"
        return response

    @route("ui", "/ui/", methods=["GET"])
    def index(self, req: Any, **_kwargs: Any) -> Response:
        """The page."""
        return file_response(UI_DIR / "index.html")

    @route("ui", "/ui/{name}", methods=["GET"], requirements={"name": r"[A-Za-z0-9_./-]+"})
    def asset(self, req: Any, name: str, **_kwargs: Any) -> Response:
        """A script, style sheet, vendored library or licence."""
        path = ui_file(name)
        if path is None:
            return error_response(404, f"no file {name!r} in the web view", None)
        return file_response(path)


ROUTES = WebUi
