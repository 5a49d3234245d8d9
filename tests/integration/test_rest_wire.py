"""The REST API over a real socket (eventlet's server): chunked bodies, size and nesting limits,
405 with ``Allow``, the ``dry_run`` query and PATCH nulls. One controller, no switches."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from testbed.controller import ControllerProcess

pytestmark = pytest.mark.integration

TOKEN = "wire-token"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControllerProcess]:
    tmp = tmp_path_factory.mktemp("wire")
    config = tmp / "c.toml"
    config.write_text(f'[predictor]\nenabled = false\n\n[api]\nstate_db = "{tmp / "s.db"}"\n')
    env = {"VNSTITCH_CONFIG": str(config), "VNSTITCH_API_TOKEN": TOKEN}
    with ControllerProcess(["ryu_apps.vnstitch"], env=env, log_path=tmp / "ryu.log") as ctl:
        yield ctl


def send(
    ctl: ControllerProcess,
    method: str,
    path: str,
    body: bytes | Iterable[bytes] | None = None,
    scheme: str = "Bearer",
) -> tuple[int, http.client.HTTPMessage, Any]:
    """One request; an iterable body goes chunked (no Content-Length)."""
    conn = http.client.HTTPConnection("127.0.0.1", ctl.rest_port, timeout=30)
    try:
        headers = {"Authorization": f"{scheme} {TOKEN}", "Content-Type": "application/json"}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, resp.headers, json.loads(raw) if raw else None
    finally:
        conn.close()


def test_a_chunked_body_is_read(controller: ControllerProcess) -> None:
    chunks = [b'{"src": "h1", ', b'"dst": "h2"}']
    status, _, answer = send(controller, "POST", "/v1/reservations", iter(chunks))
    assert status == 409 and answer["constraint"] == "endpoint", answer  # parsed: hosts unknown


def test_a_twenty_mib_chunked_body_is_a_413(controller: ControllerProcess) -> None:
    status, _, answer = send(controller, "POST", "/v1/intents", (b" " * MIB for _ in range(20)))
    assert status == 413 and answer["error"].startswith("the body is larger"), answer
    assert send(controller, "GET", "/v1/topology")[0] == 200 and controller.is_running()


@pytest.mark.parametrize("path", ["/v1/reservations", "/v1/intents"])
def test_thirty_thousand_brackets_are_a_400(controller: ControllerProcess, path: str) -> None:
    status, _, answer = send(controller, "POST", path, b"[" * 30000 + b"]" * 30000)
    assert status == 400 and "nests" in answer["error"], answer


def test_an_unserved_method_is_a_405_with_allow(controller: ControllerProcess) -> None:
    status, headers, answer = send(controller, "PUT", "/v1/reservations/1", b"{}")
    assert status == 405 and headers["Allow"] == "GET, PATCH, DELETE, OPTIONS", answer
    assert send(controller, "OPTIONS", "/v1/intents")[0] == 204


def test_dry_run_is_true_or_false_only(controller: ControllerProcess) -> None:
    body = json.dumps({"kind": "isolation", "a": ["h1"], "b": ["h2"]}).encode()
    status, _, answer = send(controller, "POST", "/v1/intents?dry_run=yes", body)
    assert (status, answer["field"]) == (400, "dry_run")
    status, _, answer = send(controller, "POST", "/v1/intents?dry_run=true", body, scheme="bearer")
    assert status == 200 and answer["dry_run"] is True and "id" not in answer, answer
    assert send(controller, "GET", "/v1/intents")[2] == {"intents": []}  # nothing stored


def test_patch_null_bandwidth_is_a_400(controller: ControllerProcess) -> None:
    status, _, answer = send(controller, "PATCH", "/v1/reservations/1", b'{"bandwidth_mbps": null}')
    assert (status, answer["field"]) == (400, "bandwidth_mbps"), answer
