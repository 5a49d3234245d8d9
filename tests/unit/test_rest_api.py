"""The REST routes on Ryu's WSGI application, driven in-process with a fake controller.

What the routes decide before a command reaches the core: body size and nesting, the
``dry_run`` query, a PATCH body that nulls an amount, and the 405 answers with ``Allow``.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from ryu.app.wsgi import WSGIApplication
from webob import Request

from ryu_apps.rest_api import register_routes
from ryu_apps.rest_common import MAX_BODY, MAX_DEPTH
from ryu_apps.rest_openapi import OPENAPI
from vnstitch.core.actions import Reply
from vnstitch.core.commands import Command, CreateIntent, CreateReservation, ModifyReservation

DOC: dict[str, Any] = json.loads(OPENAPI.read_text())
METHODS = {"get", "post", "put", "patch", "delete"}
TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class FakeController:
    """A ControllerApi that records each command and answers 200 with an empty object."""

    open_reads = False

    def __init__(self) -> None:
        self.commands: list[Command] = []

    def authorize(self, header: str | None) -> int:
        if not header:
            return 401
        return 200 if header == f"Bearer {TOKEN}" else 403

    def call(self, command: Command) -> Reply:
        self.commands.append(command)
        return Reply(0, 200, {})


@pytest.fixture
def api() -> FakeController:
    return FakeController()


@pytest.fixture
def wsgi(api: FakeController) -> WSGIApplication:
    app = WSGIApplication()
    register_routes(app, api)
    return app


def call(
    wsgi: WSGIApplication,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    environ: dict[str, Any] | None = None,
) -> tuple[int, dict[str, str], Any]:
    req = Request.blank(path, method=method, headers={**AUTH, **(headers or {})}, body=body)
    req.environ.update(environ or {})
    resp = req.get_response(wsgi)
    is_json = resp.content_type == "application/json" and resp.body
    payload = json.loads(resp.body) if is_json else resp.body
    return resp.status_int, dict(resp.headers), payload


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# ---- deeply nested JSON: 400, never a RecursionError 500
@pytest.mark.parametrize("path", ["/v1/reservations", "/v1/intents", "/v1/reservations/1"])
def test_thirty_thousand_brackets_are_a_400_naming_the_limit(
    wsgi: WSGIApplication, api: FakeController, path: str
) -> None:
    method = "PATCH" if path.endswith("/1") else "POST"
    status, _, answer = call(wsgi, method, path, nested(30000))  # 60 KB, under MAX_BODY
    assert status == 400, answer
    assert "nests" in answer["error"] and str(MAX_DEPTH) in answer["error"]
    assert not api.commands


def test_nesting_beyond_the_limit_but_within_the_decoder_is_a_400(
    wsgi: WSGIApplication, api: FakeController
) -> None:
    status, _, answer = call(wsgi, "POST", "/v1/intents", nested(MAX_DEPTH + 1))
    assert status == 400 and "nests" in answer["error"]
    deep_object = b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1)
    assert call(wsgi, "POST", "/v1/reservations", deep_object)[0] == 400
    assert not api.commands
    assert call(wsgi, "POST", "/v1/intents", nested(MAX_DEPTH))[0] == 200  # the core judges it
    assert api.commands == [CreateIntent(json.loads(nested(MAX_DEPTH)), False)]


# ---- the dry_run query: exactly true or false
@pytest.mark.parametrize(("query", "dry_run"), [("", False), ("?dry_run=false", False)])
def test_dry_run_false_or_absent_submits(
    wsgi: WSGIApplication, api: FakeController, query: str, dry_run: bool
) -> None:
    assert call(wsgi, "POST", f"/v1/intents{query}", b"{}")[0] == 200
    assert api.commands == [CreateIntent({}, dry_run)]


def test_dry_run_true_only_plans(wsgi: WSGIApplication, api: FakeController) -> None:
    assert call(wsgi, "POST", "/v1/intents?dry_run=true", b"{}")[0] == 200
    assert api.commands == [CreateIntent({}, True)]


@pytest.mark.parametrize(
    "query", ["yes", "1", "0", "True", "on", "", "true&dry_run=false", "true&dry_run=true"]
)
def test_any_other_dry_run_is_a_400(wsgi: WSGIApplication, api: FakeController, query: str) -> None:
    status, _, answer = call(wsgi, "POST", f"/v1/intents?dry_run={query}", b"{}")
    assert (status, answer["field"]) == (400, "dry_run"), answer
    assert not api.commands


def test_a_reservation_dry_run_is_refused_not_installed(
    wsgi: WSGIApplication, api: FakeController
) -> None:
    body = json.dumps({"src": "h1", "dst": "h2"}).encode()
    status, _, answer = call(wsgi, "POST", "/v1/reservations?dry_run=true", body)
    assert (status, answer["field"]) == (400, "dry_run") and "/v1/intents" in answer["error"]
    assert not api.commands
    assert call(wsgi, "POST", "/v1/reservations", body)[0] == 200
    assert api.commands == [CreateReservation({"src": "h1", "dst": "h2"})]


# ---- PATCH: the body reaches the core as sent (the core checks it: test_core_patch.py)
def test_patching_a_constraint_to_null_clears_it(
    wsgi: WSGIApplication, api: FakeController
) -> None:
    body = {"max_latency_ms": None, "zones": None, "bandwidth_mbps": 0}
    assert call(wsgi, "PATCH", "/v1/reservations/7", json.dumps(body).encode())[0] == 200
    assert api.commands == [ModifyReservation("7", body)]


# ---- 405 with Allow, OPTIONS, and paths that do not exist
def documented_methods() -> dict[str, list[str]]:
    """Each documented path and its methods, as ``Allow`` should list them."""
    return {path: [m.upper() for m in item if m in METHODS] for path, item in DOC["paths"].items()}


@pytest.mark.parametrize("path", sorted(documented_methods()))
def test_every_undocumented_method_is_a_405_listing_the_documented_ones(
    wsgi: WSGIApplication, api: FakeController, path: str
) -> None:
    concrete = path.replace("{id}", "1")
    allowed = documented_methods()[path]
    for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "TRACE"} - {*allowed}):
        status, headers, answer = call(wsgi, method, concrete, headers={})
        assert status == 405, (method, path)
        assert sorted(headers["Allow"].split(", ")) == sorted([*allowed, "OPTIONS"])
        if method != "HEAD":
            assert method in answer["error"] and answer["field"] is None
    assert not api.commands


def test_options_answers_204_with_allow_and_no_token_needed(wsgi: WSGIApplication) -> None:
    req = Request.blank("/v1/reservations/3", method="OPTIONS")
    resp = req.get_response(wsgi)
    assert resp.status_int == 204
    assert resp.headers["Allow"] == "GET, PATCH, DELETE, OPTIONS"


def test_a_served_method_still_needs_the_token(wsgi: WSGIApplication) -> None:
    req = Request.blank("/v1/reservations", method="POST", body=b"{}")
    assert req.get_response(wsgi).status_int == 401


def test_a_path_that_does_not_exist_is_still_a_404(wsgi: WSGIApplication) -> None:
    assert call(wsgi, "GET", "/v1/nothing-here")[0] == 404
    assert call(wsgi, "PUT", "/v1/nothing-here")[0] == 404


# ---- body size: Content-Length or chunked
def chunked(raw: bytes) -> dict[str, Any]:
    """The environ of a chunked request as eventlet hands it over: no length, chunks decoded."""
    return {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(raw)}


def test_a_chunked_body_is_read_not_taken_for_empty(
    wsgi: WSGIApplication, api: FakeController
) -> None:
    raw = json.dumps({"src": "h1", "dst": "h2"}).encode()
    req = Request.blank("/v1/reservations", method="POST", headers=AUTH, environ=chunked(raw))
    req.environ.pop("CONTENT_LENGTH", None)
    assert req.get_response(wsgi).status_int == 200
    assert api.commands == [CreateReservation({"src": "h1", "dst": "h2"})]


def test_a_twenty_mib_chunked_body_is_a_413_read_only_past_the_limit(
    wsgi: WSGIApplication, api: FakeController
) -> None:
    body = io.BytesIO(b"[" + b"1," * (10 * 1024 * 1024) + b"1]")
    environ = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": body}
    req = Request.blank("/v1/intents", method="POST", headers=AUTH, environ=environ)
    req.environ.pop("CONTENT_LENGTH", None)
    resp = req.get_response(wsgi)
    assert resp.status_int == 413 and str(MAX_BODY) in json.loads(resp.body)["error"]
    assert body.tell() == MAX_BODY + 1  # bounded: the rest is never read into memory
    assert not api.commands


def test_a_content_length_over_the_limit_is_a_413_before_reading(
    wsgi: WSGIApplication, api: FakeController
) -> None:
    status, _, answer = call(wsgi, "POST", "/v1/reservations", b"{" + b" " * MAX_BODY + b"}")
    assert status == 413, answer
    assert not api.commands


def test_a_body_without_length_or_chunks_is_empty(
    wsgi: WSGIApplication, api: FakeController
) -> None:
    req = Request.blank("/v1/intents", method="POST", headers=AUTH)
    req.environ.pop("CONTENT_LENGTH", None)
    assert req.get_response(wsgi).status_int == 200
    assert api.commands == [CreateIntent(None, False)]  # the core answers 400: not an object
