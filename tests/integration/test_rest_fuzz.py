"""Property-based fuzzing of the REST API on a running controller: no input produces a 500.

Bodies are generated from the shapes in the OpenAPI document plus arbitrary JSON; every
answer must be one of the documented statuses with the JSON error body, and the controller
must still answer afterwards. No switches are needed: endpoints are simply unknown.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testbed.controller import ControllerProcess

pytestmark = pytest.mark.integration

TOKEN = "fuzz-token"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "src",
    "dst",
    "bandwidth_mbps",
    "max_latency_ms",
    "zones",
    "avoid_zones",
    "bidirectional",
    "ip_proto",
    "dst_port",
    "kind",
    "a",
    "b",
    "endpoints",
    "ports",
    "app",
    "cpu",
    "prefer_latency",
    "protection",
]
shaped = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6)
kinds = st.sampled_from(["connectivity", "low_latency", "isolation", "nope"])
intents = st.builds(lambda k, d: {**d, "kind": k}, kinds, shaped)


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControllerProcess]:
    tmp = tmp_path_factory.mktemp("fuzz")
    config = tmp / "c.toml"
    config.write_text(f'[predictor]\nenabled = false\n\n[api]\nstate_db = "{tmp / "s.db"}"\n')
    env = {"VNSTITCH_CONFIG": str(config), "VNSTITCH_API_TOKEN": TOKEN}
    with ControllerProcess(["ryu_apps.vnstitch"], env=env, log_path=tmp / "ryu.log") as ctl:
        yield ctl


def _call(ctl: ControllerProcess, method: str, path: str, raw: bytes) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(ctl.rest_url + path, data=raw, method=method)
    req.add_header("Authorization", f"Bearer {TOKEN}")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


ALLOWED = {200, 201, 202, 400, 404, 409, 413}


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(shaped, intents, json_values))
def test_no_body_makes_a_500(controller: ControllerProcess, body: Any) -> None:
    raw = json.dumps(body).encode()
    for method, path in (
        ("POST", "/v1/reservations"),
        ("POST", "/v1/intents"),
        ("POST", "/v1/intents?dry_run=true"),
        ("PATCH", "/v1/reservations/1"),
    ):
        status, answer = _call(controller, method, path, raw)
        assert status in ALLOWED, (method, path, body, status, answer)
        if status >= 400:
            assert isinstance(answer, dict) and "error" in answer and "field" in answer


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.binary(max_size=200))
def test_garbage_bytes_are_a_400(controller: ControllerProcess, raw: bytes) -> None:
    status, answer = _call(controller, "POST", "/v1/reservations", raw)
    assert status in (400, 409), answer


def test_oversized_body_is_413_and_the_controller_lives_on(controller: ControllerProcess) -> None:
    status, answer = _call(controller, "POST", "/v1/intents", b"[" + b"1," * 40000 + b"1]")
    assert status == 413, answer
    status, _ = _call(controller, "GET", "/v1/topology", b"")
    assert status == 200 and controller.is_running()
    assert os.path.exists(Path(controller.log_path))
