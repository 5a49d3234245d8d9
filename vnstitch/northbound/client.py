"""A small JSON client for the controller's REST API (stdlib urllib, no proxies)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from http.client import HTTPMessage
from pathlib import Path
from typing import IO, Any

from vnstitch.northbound.auth import DEFAULT_TOKEN_FILE

DEFAULT_URL = "http://127.0.0.1:8080"
URL_ENV = "VNSTITCH_URL"
TOKEN_ENV = "VNSTITCH_API_TOKEN"
TOKEN_FILE_ENV = "VNSTITCH_TOKEN_FILE"
START_HINT = (
    "start it with `vnstitch controller --config controller.toml`, "
    f"or point --url / ${URL_ENV} at a running controller"
)


class ApiError(Exception):
    """The controller refused a call (``status`` > 0) or could not be reached (``status`` 0)."""

    def __init__(
        self, status: int, message: str, field: str | None = None, body: Any = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.body = body


def resolve_url(cli_url: str | None, env: Mapping[str, str] = os.environ) -> str:
    """The base URL: ``--url``, else ``$VNSTITCH_URL``, else the loopback default."""
    return cli_url or env.get(URL_ENV) or DEFAULT_URL


def resolve_token(
    cli_token: str | None,
    env: Mapping[str, str] = os.environ,
    default_file: Path | None = DEFAULT_TOKEN_FILE,
) -> str | None:
    """The token: --token, $VNSTITCH_API_TOKEN, $VNSTITCH_TOKEN_FILE, or the controller's file."""
    if cli_token:
        return cli_token
    if env.get(TOKEN_ENV):
        return env[TOKEN_ENV]
    named = env.get(TOKEN_FILE_ENV)
    for path in (Path(named) if named else None, default_file):
        if path is not None and path.is_file():
            return path.read_text(encoding="utf-8").strip() or None
    return None


def _decode(raw: bytes) -> Any:
    """JSON if the body parses as JSON, else the text; None for an empty body."""
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def error_from_response(status: int, raw: bytes, reason: str = "") -> ApiError:
    """An ApiError from the server's ``{"error", "field"}`` body, or from its raw text."""
    body = _decode(raw)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        field = body.get("field")
        return ApiError(status, body["error"], field if isinstance(field, str) else None, body)
    text = body.strip() if isinstance(body, str) and body.strip() else reason or "no reason given"
    return ApiError(status, f"HTTP {status}: {text}", None, body)


class _FollowLeader(urllib.request.HTTPRedirectHandler):
    """Follow 307/308 for every method with its body (a cluster follower names its leader)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if code in (307, 308):
            return urllib.request.Request(
                newurl, data=req.data, headers=dict(req.header_items()), method=req.get_method()
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class ApiClient:
    """JSON calls on the controller's REST API; failures raise :class:`ApiError`."""

    def __init__(self, base_url: str, token: str | None = None, timeout_s: float = 10) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _FollowLeader())

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Send one call; returns the decoded JSON (or text) of a 2xx answer."""
        url = self.base_url + (path if path.startswith("/") else "/" + path)
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with self._opener.open(req, timeout=self.timeout_s) as resp:
                return _decode(resp.read())
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            exc.close()
            raise error_from_response(exc.code, raw, str(exc.reason)) from None
        except urllib.error.URLError as exc:
            raise self._unreachable(exc.reason) from None
        except OSError as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, reason: object) -> ApiError:
        if isinstance(reason, TimeoutError):
            return ApiError(0, f"no answer from {self.base_url} within {self.timeout_s} s")
        return ApiError(
            0, f"the controller is not reachable at {self.base_url} ({reason}); {START_HINT}"
        )

    def get(self, path: str, body: Any = None) -> Any:
        """GET ``path``."""
        return self.request("GET", path, body)

    def post(self, path: str, body: Any = None) -> Any:
        """POST ``body`` as JSON to ``path``."""
        return self.request("POST", path, body)

    def patch(self, path: str, body: Any = None) -> Any:
        """PATCH ``path`` with ``body`` as JSON."""
        return self.request("PATCH", path, body)

    def delete(self, path: str, body: Any = None) -> Any:
        """DELETE ``path``."""
        return self.request("DELETE", path, body)
