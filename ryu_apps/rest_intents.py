"""``/v1/intents``: submit, list, show and withdraw intents."""

from __future__ import annotations

from typing import Any

from ryu.app.wsgi import route

from ryu_apps.rest_common import Resource, boolean_query, guarded, read_json_body
from vnstitch.core.commands import CreateIntent, DeleteIntent, GetIntent, ListIntents


class IntentResource(Resource):
    """Intents: what should hold, kept true by the controller."""

    @route("intents", "/v1/intents", methods=["POST"])
    @guarded(write=True)
    def create(self, req: Any, **_kwargs: Any) -> Any:
        """Accept an intent: 201 with its state (FAILED with a reason is still accepted).

        ``?dry_run=true`` only plans it (200 with paths, resources and rules); ``dry_run`` is
        exactly ``true`` or ``false``: anything else is a 400 rather than a guess.
        """
        dry_run = boolean_query(req, "dry_run")
        return self.ask(CreateIntent(read_json_body(req), dry_run))

    @route("intents", "/v1/intents", methods=["GET"])
    @guarded(write=False)
    def list_all(self, req: Any, **_kwargs: Any) -> Any:
        """Every intent, withdrawn ones included."""
        return self.ask(ListIntents())

    @route("intents", "/v1/intents/{intent_id}", methods=["GET"])
    @guarded(write=False)
    def show(self, req: Any, intent_id: str, **_kwargs: Any) -> Any:
        """One intent."""
        return self.ask(GetIntent(intent_id))

    @route("intents", "/v1/intents/{intent_id}", methods=["DELETE"])
    @guarded(write=True)
    def delete(self, req: Any, intent_id: str, **_kwargs: Any) -> Any:
        """Withdraw an intent: its reservations and drop rules go."""
        return self.ask(DeleteIntent(intent_id))


ROUTES = IntentResource
