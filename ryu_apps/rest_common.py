"""What every REST resource shares: the guard, body and query reading, replies to responses."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ryu.app.wsgi import ControllerBase
from webob import Response

from vnstitch.core.actions import Reply
from vnstitch.core.commands import Command, ControllerApi
from vnstitch.core.stored_reads import serves

if TYPE_CHECKING:
    from ryu_apps.cluster_member import ClusterMember

LOG = logging.getLogger("vnstitch.rest")
API_KEY = "vnstitch_api"
MEMBER_KEY = "vnstitch_cluster_member"
ROLE_HEADER = "X-Vnstitch-Role"  # "follower" on a read a follower answered from the store
STALE_HEADER = "X-Vnstitch-Stale"  # "true": the store had no majority, its last copy answered
MAX_BODY = 64 * 1024  # bytes; every valid body is a few hundred
MAX_DEPTH = 32  # nesting of arrays and objects; every valid body nests 3 deep at most
BOOLEANS = {"true": True, "false": False}
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
        self.member: ClusterMember | None = data.get(MEMBER_KEY)

    def ask(self, command: Command) -> Response:
        """Send ``command`` and answer with its reply (a follower's 307 names the leader).

        A follower answers the reads of reservations and intents itself, from the store.
        """
        member = self.member
        if member is not None and serves(command) and member.following():
            reply, stale = member.stored_read(command)
            response = respond(reply)
            response.headers[ROLE_HEADER] = "follower"
            if stale:
                response.headers[STALE_HEADER] = "true"
            return response
        reply = self.api.call(command)
        response = respond(reply)
        if reply.status == 307:
            response.headers["Location"] = reply.body["leader_url"].rstrip("/") + self.req.path_qs
        return response


def respond(reply: Reply) -> Response:
    """The HTTP response for a core reply."""
    if reply.content_type == "application/json":
        response = json_response(reply.body, reply.status)
        if reply.status == 503 and isinstance(reply.body, dict) and "retry_after_s" in reply.body:
            response.headers["Retry-After"] = str(reply.body["retry_after_s"])
        return response
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
            except ClientError as exc:
                return error_response(exc.status, str(exc), exc.field)
            except Exception:  # a bug must not take the API down or leak a traceback
                LOG.exception("REST %s %s failed", req.method, req.path)
                return error_response(500, "internal error: see the controller log", None)

        return inner

    return wrap


class ClientError(ValueError):
    """A request the route refuses before it becomes a command: 400 or 413, naming the field."""

    def __init__(self, message: str, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


def read_body(req: Any) -> bytes:
    """The raw body, at most MAX_BODY bytes (413 beyond), chunked or with a Content-Length.

    A chunked body is read (eventlet decodes the chunks) only up to one byte past the limit;
    whatever is left the server discards after the answer. No length and not chunked: no body.
    """
    too_large = ClientError(f"the body is larger than {MAX_BODY} bytes", 413)
    encoding = str(req.environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
    if "chunked" in encoding:
        raw = req.environ["wsgi.input"].read(MAX_BODY + 1)
    else:
        length = req.content_length
        if length is not None and length > MAX_BODY:
            raise too_large
        raw = req.body if length else b""
    if len(raw) > MAX_BODY:
        raise too_large
    return bytes(raw)


def read_json_body(req: Any) -> Any:
    """The decoded JSON body; ClientError if too large (413), not JSON or nested too deep (400)."""
    raw = read_body(req)
    too_deep = ClientError(f"the body nests arrays and objects deeper than {MAX_DEPTH} levels")
    try:
        body = json.loads(raw or b"null")
    except RecursionError:  # the decoder recurses once per level: thousands of '[' end here
        raise too_deep from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ClientError(f"the body is not valid JSON: {exc}") from exc
    if nesting(body) > MAX_DEPTH:
        raise too_deep
    return body


def nesting(value: Any) -> int:
    """How deep arrays and objects nest in a decoded JSON value (a scalar: 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def boolean_query(req: Any, name: str, default: bool = False) -> bool:
    """A boolean query parameter: exactly ``true`` or ``false`` (400 otherwise, or if repeated)."""
    values = req.GET.getall(name)
    if not values:
        return default
    if len(values) > 1 or values[0] not in BOOLEANS:
        shown = "&".join(f"{name}={v}" for v in values)[:60]
        raise ClientError(f"{name} must be true or false, got {shown!r}", 400, name)
    return BOOLEANS[values[0]]


def refuse_query(req: Any, name: str, why: str) -> None:
    """400 if query parameter ``name`` is present: it means nothing on this route."""
    if name in req.GET:
        raise ClientError(f"{name} is not a parameter of {req.method} {req.path}: {why}", 400, name)
