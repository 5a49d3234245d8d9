"""The controller's predictor sockets over CURVE: who gets in, and how big a frame may be.

A real controller (``ryu-manager ryu_apps.vnstitch``, no switches) with its keys made at start
in a temporary key directory. A client with a key that is not authorized — or without CURVE,
or with the wrong server key — is refused in the handshake and counted; the real predictor
process, given the controller's key directory, gets in; an authorized client's 64 MiB frame is
refused at its header without the controller's memory growing. No Mininet, no Open vSwitch.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zmq

from testbed.controller import ControllerProcess, free_tcp_port
from testbed.wait import wait_until
from vnstitch.messages import ForecastBatch, PairForecast, PairId, encode
from vnstitch.northbound.wire_keys import AUTHORIZED_DIR, read_public_key, write_public_key

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "queue-security-token"
PAIR = PairId("10.0.0.1", "10.0.0.2")


@dataclass
class Controller:
    process: ControllerProcess
    key_dir: Path
    forecasts: str
    observations: str
    workdir: Path

    def get(self, path: str) -> Any:
        req = urllib.request.Request(self.process.rest_url + path)
        req.add_header("Authorization", f"Bearer {TOKEN}")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def queue(self) -> dict[str, Any]:
        queue: dict[str, Any] = self.get("/v1/stats")["queue"]
        return queue

    def forecast_pairs(self) -> list[list[str]]:
        return [f["pair"] for f in self.get("/v1/forecasts")["forecasts"]]

    def server_key(self) -> bytes:
        return read_public_key(self.key_dir / "controller.key")


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Controller]:
    tmp = tmp_path_factory.mktemp("queue-security")
    key_dir = tmp / "curve"
    observations = f"tcp://127.0.0.1:{free_tcp_port()}"
    forecasts = f"tcp://127.0.0.1:{free_tcp_port()}"
    config = tmp / "c.toml"
    config.write_text(
        f'[predictor]\nobservations_endpoint = "{observations}"\n'
        f'forecasts_endpoint = "{forecasts}"\nkey_dir = "{key_dir}"\n\n'
        f'[api]\nstate_db = "{tmp / "s.db"}"\n'
    )
    env = {"VNSTITCH_CONFIG": str(config), "VNSTITCH_API_TOKEN": TOKEN}
    with ControllerProcess(["ryu_apps.vnstitch"], env=env, log_path=tmp / "ryu.log") as ctl:
        yield Controller(ctl, key_dir, forecasts, observations, tmp)


def _push(endpoint: str, server_key: bytes | None, keys: tuple[bytes, bytes] | None) -> Any:
    """A PUSH socket connected to the controller: CURVE with ``keys`` unless None."""
    sock = zmq.Context.instance().socket(zmq.PUSH)
    sock.setsockopt(zmq.LINGER, 0)
    if server_key is not None and keys is not None:
        sock.curve_serverkey = server_key
        sock.curve_publickey, sock.curve_secretkey = keys
    sock.connect(endpoint)
    return sock


def _batch(valid_until_s: float = 600.0, seq: int = 0) -> bytes:
    now = time.time()
    forecast = PairForecast(PAIR, (4.0,), (5.0,), now - 1, now + valid_until_s)
    return encode(ForecastBatch("test-client", seq, "test-model", 0.95, now, (forecast,)))


def _authorized_keys(ctl: Controller, name: str) -> tuple[bytes, bytes]:
    public, secret = zmq.curve_keypair()
    write_public_key(ctl.key_dir / AUTHORIZED_DIR / f"{name}.key", public)
    return public, secret


def _rss_peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


def test_keys_are_made_at_first_start_owner_only(controller: Controller) -> None:
    secret = controller.key_dir / "controller.key_secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert controller.key_dir.stat().st_mode & 0o777 == 0o700
    assert controller.queue()["curve"] is True


def test_a_frame_signed_with_another_key_is_dropped_and_counted(controller: Controller) -> None:
    before = controller.queue()
    stranger = _push(controller.forecasts, controller.server_key(), zmq.curve_keypair())
    try:
        stranger.send(_batch(valid_until_s=1e308))  # the probe's frame: ACTIVE forever, once
        wait_until(
            lambda: controller.queue()["rejected"].get("unauthorized_key", 0) > 0,
            10.0,
            0.1,
            "the unauthorized key to be refused and counted",
        )
    finally:
        stranger.close(0)
    after = controller.queue()
    assert after["received"] == before["received"] and after["dropped"] == before["dropped"]
    assert controller.forecast_pairs() == []
    metrics = urllib.request.Request(controller.process.rest_url + "/metrics")
    metrics.add_header("Authorization", f"Bearer {TOKEN}")
    with urllib.request.urlopen(metrics, timeout=10) as resp:
        text = resp.read().decode()
    assert 'vnstitch_predictor_rejected_total{reason="unauthorized_key"}' in text
    assert controller.process.is_running()


def test_clients_without_curve_or_with_the_wrong_server_key_are_refused(
    controller: Controller,
) -> None:
    plain = _push(controller.forecasts, None, None)
    impostor_server, _ = zmq.curve_keypair()
    wrong = _push(controller.forecasts, impostor_server, zmq.curve_keypair())
    try:
        plain.send(_batch())
        wrong.send(_batch())
        wait_until(
            lambda: controller.queue()["rejected"].get("handshake", 0) >= 2,
            10.0,
            0.1,
            "both handshakes to be refused and counted",
        )
    finally:
        plain.close(0)
        wrong.close(0)
    assert controller.forecast_pairs() == []


def test_an_authorized_client_gets_in_and_far_future_forecasts_are_dropped(
    controller: Controller,
) -> None:
    friend = _push(controller.forecasts, controller.server_key(), _authorized_keys(controller, "t"))
    try:
        friend.send(_batch(valid_until_s=1e308, seq=0))
        friend.send(_batch(valid_until_s=600.0, seq=1))
        wait_until(lambda: controller.forecast_pairs(), 10.0, 0.1, "the forecast to arrive")
    finally:
        friend.close(0)
    assert controller.forecast_pairs() == [[PAIR.src, PAIR.dst]]
    assert controller.queue()["dropped"].get("horizon") == 1


def test_the_real_predictor_connects(controller: Controller) -> None:
    argv = [sys.executable, "-m", "predictor", "run", "--no-retrain", "--status-interval", "0.2"]
    argv += ["--observations", controller.observations, "--forecasts", controller.forecasts]
    argv += ["--key-dir", str(controller.key_dir)]
    argv += ["--model-dir", str(controller.workdir / "models")]
    rejected = sum(controller.queue()["rejected"].values())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with (controller.workdir / "predictor.log").open("wb") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        status = wait_until(
            lambda: controller.queue()["predictor"], 30.0, 0.1, "the predictor's heartbeat"
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert status["source"].startswith("predictor-")
    assert (controller.key_dir / AUTHORIZED_DIR / "predictor.key").exists()
    assert sum(controller.queue()["rejected"].values()) == rejected


def test_an_oversized_frame_is_refused_before_it_is_read(controller: Controller) -> None:
    pid = controller.process.pid
    assert pid is not None
    keys = _authorized_keys(controller, "big")
    peak_before = _rss_peak_kib(pid)
    big = _push(controller.forecasts, controller.server_key(), keys)
    dropped = big.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    try:
        big.send(b"\x92" * (64 * 1024 * 1024))
        # ZeroMQ reads the frame's header, refuses the size and drops the connection.
        assert dropped.poll(10_000), "the controller never dropped the oversized sender"
    finally:
        big.disable_monitor()
        dropped.close(0)
        big.close(0)
    received = controller.queue()["received"]
    after = _push(controller.forecasts, controller.server_key(), keys)
    try:
        after.send(_batch(seq=5))
        wait_until(lambda: controller.queue()["received"] > received, 10.0, 0.1, "the next message")
    finally:
        after.close(0)
    grown_mib = (_rss_peak_kib(pid) - peak_before) / 1024
    assert grown_mib < 16, f"the controller's peak RSS grew by {grown_mib:.0f} MiB"
    assert "too_large" not in controller.queue()["dropped"]  # never reached the core
    assert controller.process.is_running()
