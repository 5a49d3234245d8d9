"""``/v1/openapi.json``: the OpenAPI 3 document of this API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ryu.app.wsgi import route
from webob import Response

import vnstitch.northbound
from ryu_apps.rest_common import Resource, guarded

OPENAPI = Path(vnstitch.northbound.__file__).parent / "openapi.json"


class OpenApiResource(Resource):
    """The API description."""

    @route("openapi", "/v1/openapi.json", methods=["GET"])
    @guarded(write=False)
    def openapi(self, req: Any, **_kwargs: Any) -> Any:
        """The document, as shipped in the package."""
        return Response(body=OPENAPI.read_bytes(), content_type="application/json", charset="utf-8")


ROUTES = OpenApiResource
