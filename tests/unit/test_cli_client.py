"""The REST client: bearer token, JSON bodies, server errors, unreachable controller, settings."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_fake_api import FakeApi

from vnstitch.northbound.client import DEFAULT_URL, ApiClient, ApiError, resolve_token, resolve_url


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi() as fake:
        yield fake


def test_get_decodes_json_and_sends_no_authorization_without_token(api: FakeApi) -> None:
    api.reply("GET", "/v1/links", 200, {"links": [{"src": "1"}]})
    assert ApiClient(api.url).get("/v1/links") == {"links": [{"src": "1"}]}
    assert "authorization" not in api.requests[0].headers


def test_bearer_token_and_json_body_are_sent(api: FakeApi) -> None:
    api.reply("POST", "/v1/reservations", 201, {"id": "1", "state": "ACTIVE"})
    client = ApiClient(api.url + "/", token="s3cret")
    answer = client.post("/v1/reservations", {"src": "h1", "dst": "h2"})
    assert answer == {"id": "1", "state": "ACTIVE"}
    sent = api.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/reservations")
    assert sent.headers["authorization"] == "Bearer s3cret"
    assert sent.headers["content-type"] == "application/json"
    assert sent.body == {"src": "h1", "dst": "h2"}


def test_patch_and_delete_use_their_methods(api: FakeApi) -> None:
    api.reply("PATCH", "/v1/reservations/1", 200, {"id": "1"})
    api.reply("DELETE", "/v1/reservations/1", 200, {"id": "1", "state": "RELEASED"})
    client = ApiClient(api.url)
    client.patch("/v1/reservations/1", {"bandwidth_mbps": 20})
    assert client.delete("/v1/reservations/1")["state"] == "RELEASED"
    assert [(r.method, r.body) for r in api.requests] == [
        ("PATCH", {"bandwidth_mbps": 20}),
        ("DELETE", None),
    ]


def test_text_answers_are_returned_as_text(api: FakeApi) -> None:
    api.reply("GET", "/metrics", 200, "# HELP x y\n")
    assert ApiClient(api.url).get("/metrics") == "# HELP x y\n"


def test_server_error_body_becomes_api_error_with_field(api: FakeApi) -> None:
    body = {"error": "bandwidth_mbps must be a number, got 'x'", "field": "bandwidth_mbps"}
    api.reply("POST", "/v1/reservations", 400, body)
    with pytest.raises(ApiError) as caught:
        ApiClient(api.url).post("/v1/reservations", {"bandwidth_mbps": "x"})
    err = caught.value
    assert (err.status, err.message, err.field) == (400, body["error"], "bandwidth_mbps")
    assert err.body == body


def test_non_json_error_keeps_the_raw_text(api: FakeApi) -> None:
    api.reply("GET", "/v1/topology", 500, "Internal Server Error: boom")
    with pytest.raises(ApiError) as caught:
        ApiClient(api.url).get("/v1/topology")
    assert caught.value.status == 500
    assert caught.value.field is None
    assert "boom" in caught.value.message


def test_proxy_settings_are_ignored(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    api.reply("GET", "/v1/stats", 200, {"audit_repairs": 0})
    assert ApiClient(api.url).get("/v1/stats") == {"audit_repairs": 0}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_connection_refused_says_where_and_how_to_start() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(ApiError) as caught:
        ApiClient(url, timeout_s=2).get("/v1/topology")
    assert caught.value.status == 0
    assert f"not reachable at {url}" in caught.value.message
    assert "vnstitch controller" in caught.value.message


def test_url_precedence_flag_then_env_then_default() -> None:
    env = {"VNSTITCH_URL": "http://10.0.0.9:8080"}
    assert resolve_url("http://flag:1", env) == "http://flag:1"
    assert resolve_url(None, env) == "http://10.0.0.9:8080"
    assert resolve_url(None, {}) == DEFAULT_URL == "http://127.0.0.1:8080"


def test_token_precedence_flag_then_env_then_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    env = {"VNSTITCH_API_TOKEN": "from-env", "VNSTITCH_TOKEN_FILE": str(token_file)}
    assert resolve_token("from-flag", env) == "from-flag"
    assert resolve_token(None, env) == "from-env"
    assert resolve_token(None, {"VNSTITCH_TOKEN_FILE": str(token_file)}) == "from-file"
    missing = tmp_path / "missing"
    assert resolve_token(None, {"VNSTITCH_TOKEN_FILE": str(missing)}, default_file=None) is None
    assert resolve_token(None, {}, default_file=missing) is None


def test_token_falls_back_to_the_file_the_controller_generates(tmp_path: Path) -> None:
    generated = tmp_path / "api-token"
    generated.write_text("generated\n")
    named = tmp_path / "named"
    assert resolve_token(None, {}, default_file=generated) == "generated"
    assert resolve_token(None, {"VNSTITCH_TOKEN_FILE": str(named)}, generated) == "generated"
    named.write_text("named")
    assert resolve_token(None, {"VNSTITCH_TOKEN_FILE": str(named)}, generated) == "named"
