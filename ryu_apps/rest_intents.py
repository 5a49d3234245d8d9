"""REST routes of the intent API, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ryu.app.wsgi import ControllerBase, route
from webob import Response

import vnstitch.northbound
from ryu_apps.rest_common import (
    BodyError,
    error_response,
    guarded,
    json_response,
    read_json_body,
)
from ryu_apps.rest_topology import APP_KEY
from vnstitch.intents.parse import IntentError, parse_intent
from vnstitch.northbound.metrics import CONTENT_TYPE
from vnstitch.stitcher.reservation import RequestError

OPENAPI = Path(vnstitch.northbound.__file__).parent / "openapi.json"


class IntentController(ControllerBase):  # type: ignore[misc]
    """Submit, list, show and withdraw intents."""

    def __init__(self, req: Any, link: Any, data: dict[str, Any], **config: Any) -> None:
        super().__init__(req, link, data, **config)
        self.app = data[APP_KEY]

    @route("intents", "/v1/intents", methods=["POST"])
    @guarded(write=True)
    def create(self, req: Any, **_kwargs: Any) -> Any:
        """Accept an intent: 201 with its state (FAILED with a reason is still accepted)."""
        try:
            spec = parse_intent(read_json_body(req))
        except BodyError as exc:
            return error_response(exc.status, str(exc), None)
        except (IntentError, RequestError) as exc:
            return error_response(400, str(exc), exc.field)
        if req.GET.get("dry_run", "false").lower() in ("1", "true", "yes"):
            return json_response(self.app.intent_dry_run(spec))
        intent, conflicts = self.app.submit_intent(spec)
        if intent is None:
            names = ", ".join(c.intent_id for c in conflicts)
            body = {
                "error": f"the intent contradicts {names}",
                "field": None,
                "conflicts": [{"intent_id": c.intent_id, "reason": c.reason} for c in conflicts],
            }
            return json_response(body, 409)
        return json_response(intent.to_dict(), 201)

    @route("intents", "/v1/intents", methods=["GET"])
    @guarded(write=False)
    def list_all(self, req: Any, **_kwargs: Any) -> Any:
        """Every intent, withdrawn ones included."""
        return json_response({"intents": [i.to_dict() for i in self.app.intents.intents.values()]})

    @route("intents", "/v1/intents/{intent_id}", methods=["GET"])
    @guarded(write=False)
    def show(self, req: Any, intent_id: str, **_kwargs: Any) -> Any:
        """One intent."""
        intent = self.app.intents.intents.get(intent_id)
        if intent is None:
            return error_response(404, f"no intent {intent_id!r}", "id")
        return json_response(intent.to_dict())

    @route("intents", "/v1/intents/{intent_id}", methods=["DELETE"])
    @guarded(write=True)
    def delete(self, req: Any, intent_id: str, **_kwargs: Any) -> Any:
        """Withdraw an intent: its reservations and drop rules go."""
        if intent_id not in self.app.intents.intents:
            return error_response(404, f"no intent {intent_id!r}", "id")
        return json_response(self.app.withdraw_intent(intent_id).to_dict())

    @route("metrics", "/metrics", methods=["GET"])
    @guarded(write=False)
    def metrics(self, req: Any, **_kwargs: Any) -> Any:
        """Prometheus text exposition."""
        return Response(
            body=self.app.render_metrics().encode(), content_type=CONTENT_TYPE, charset=None
        )

    @route("openapi", "/v1/openapi.json", methods=["GET"])
    @guarded(write=False)
    def openapi(self, req: Any, **_kwargs: Any) -> Any:
        """The OpenAPI 3 document of this API."""
        return Response(body=OPENAPI.read_bytes(), content_type="application/json", charset="utf-8")
