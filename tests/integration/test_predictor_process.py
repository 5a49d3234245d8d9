"""The predictor process alone, against a harness that binds the sockets like the controller.

Runs ``python -m predictor run`` on loopback. No Open vSwitch, Mininet or root needed. The
harness is a CURVE server like the controller (its keypair and allow-list from the same key
directory, pyzmq's ZAP authenticator asking ``AuthorizedKeys``), so the predictor's keys are
exercised too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import msgpack
import pytest
import zmq
from zmq.auth.thread import ThreadAuthenticator

from predictor.generator import GeneratorConfig, generate
from predictor.models import TrainConfig
from predictor.training import train_on_trace
from vnstitch.messages import (
    SCHEMA_VERSION,
    ForecastBatch,
    Message,
    Observations,
    PairId,
    PairSample,
    PredictorStatus,
    decode,
    encode,
)
from vnstitch.northbound.wire_keys import (
    AUTHORIZED_DIR,
    SERVER_NAME,
    AuthorizedKeys,
    load_or_create_keypair,
)

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
STEP = 60.0
T0 = 1_700_000_000.0
PAIR = PairId("10.0.0.1", "10.0.0.2")


class _AllowList:
    """pyzmq's credentials provider, answered by the controller's allow-list."""

    def __init__(self, authorized: AuthorizedKeys) -> None:
        self.authorized = authorized

    def callback(self, domain: str, key: bytes) -> bool:
        return self.authorized.allows(key)


class ControllerHarness:
    """Binds PUB (observations) and PULL (forecasts) on loopback, as the controller will."""

    def __init__(self, key_dir: Path, obs_port: int = 0, fc_port: int = 0) -> None:
        self.key_dir = key_dir
        self.context = zmq.Context()
        self.auth = ThreadAuthenticator(self.context)
        self.auth.start()
        authorized = AuthorizedKeys(key_dir / AUTHORIZED_DIR)
        self.auth.configure_curve_callback("*", _AllowList(authorized))
        server = load_or_create_keypair(key_dir, SERVER_NAME, zmq.curve_keypair)
        self.pub = self.context.socket(zmq.PUB)
        self.pull = self.context.socket(zmq.PULL)
        for sock in (self.pub, self.pull):
            sock.setsockopt(zmq.LINGER, 0)
            sock.curve_server = True
            sock.curve_secretkey = server.secret
        self.obs_port = self._bind(self.pub, obs_port)
        self.fc_port = self._bind(self.pull, fc_port)
        self.step = 0

    @staticmethod
    def _bind(sock: zmq.Socket[bytes], port: int) -> int:
        if port:
            sock.bind(f"tcp://127.0.0.1:{port}")
            return port
        return sock.bind_to_random_port("tcp://127.0.0.1")

    def publish_step(self, mbps: float = 12.0, source: str = "ctl") -> float:
        """Publish the next time-compressed step; returns the end of its interval."""
        start = T0 + self.step * STEP
        sample = PairSample(PAIR, round(mbps * STEP * 1e6 / 8))
        self.pub.send(encode(Observations(source, self.step, start, start + STEP, (sample,))))
        self.step += 1
        return start + STEP

    def wait_for(
        self, want: Callable[[Message], bool], poke: Callable[[], object], timeout: float = 20.0
    ) -> Message:
        """Poll for a matching message, calling ``poke`` between polls; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            poke()
            if self.pull.poll(200):
                msg = decode(self.pull.recv())
                if want(msg):
                    return msg
        raise AssertionError("no matching message from the predictor in time")

    def first_forecast(self) -> ForecastBatch:
        """Publish steps until a forecast comes back (subscriptions take a moment to join)."""
        msg = self.wait_for(lambda m: isinstance(m, ForecastBatch), self.publish_step)
        assert isinstance(msg, ForecastBatch)
        return msg

    def close(self) -> None:
        self.pub.close()
        self.pull.close()
        self.auth.stop()
        self.context.term()


def start_predictor(harness: ControllerHarness, model_dir: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "predictor", "run"]
    argv += ["--observations", f"tcp://127.0.0.1:{harness.obs_port}"]
    argv += ["--forecasts", f"tcp://127.0.0.1:{harness.fc_port}"]
    argv += ["--model-dir", str(model_dir), "--step-seconds", str(STEP), "--horizon", "2"]
    argv += ["--status-interval", "0.2", "--no-retrain", "--key-dir", str(harness.key_dir)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(argv, cwd=ROOT, env=env, stderr=subprocess.PIPE)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[ControllerHarness]:
    h = ControllerHarness(tmp_path / "curve")
    yield h
    h.close()


@pytest.fixture
def predictor(harness: ControllerHarness, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = start_predictor(harness, tmp_path / "models")
    yield process
    stop(process)


def test_observations_in_forecasts_out(
    harness: ControllerHarness, predictor: subprocess.Popen[bytes]
) -> None:
    batch = harness.first_forecast()
    (forecast,) = batch.forecasts
    assert forecast.pair == PAIR
    published_ends = [T0 + k * STEP for k in range(1, harness.step + 1)]
    assert forecast.valid_from in published_ends  # forecasts start where an observed step ends
    assert forecast.valid_until == forecast.valid_from + 2 * STEP
    assert forecast.mean_mbps[0] == pytest.approx(12.0, rel=1e-3)
    assert batch.model_version == "fallback-recent-peak"


def test_garbage_is_dropped_and_counted_and_the_process_carries_on(
    harness: ControllerHarness, predictor: subprocess.Popen[bytes]
) -> None:
    harness.first_forecast()
    valid = encode(Observations("ctl", 0, T0, T0 + 1))
    wrong_version = msgpack.packb({**msgpack.unpackb(valid), "v": SCHEMA_VERSION + 1})
    for frame in (b"\xc1\xc1garbage", valid[:-3], wrong_version, msgpack.packb({"v": 1})):
        harness.pub.send(frame)
    harness.pub.send_multipart([b"two", b"frames"])

    def counted(msg: Message) -> bool:
        return isinstance(msg, PredictorStatus) and sum(msg.dropped.values()) >= 5

    status = harness.wait_for(counted, lambda: None)
    assert isinstance(status, PredictorStatus)
    for reason in ("garbage", "truncated", "version", "schema"):
        assert status.dropped.get(reason, 0) >= 1, status.dropped
    harness.first_forecast()
    assert predictor.poll() is None


def test_the_predictor_reconnects_after_the_controller_restarts(
    harness: ControllerHarness, predictor: subprocess.Popen[bytes]
) -> None:
    harness.first_forecast()
    ports, step = (harness.obs_port, harness.fc_port), harness.step
    harness.close()
    restarted = ControllerHarness(harness.key_dir, *ports)
    restarted.step = step
    try:
        batch = restarted.first_forecast()
        assert batch.forecasts[0].pair == PAIR
    finally:
        restarted.close()
    harness.context = zmq.Context()  # the fixture closes what it holds
    harness.auth = ThreadAuthenticator(harness.context)
    harness.pub, harness.pull = harness.context.socket(zmq.PUB), harness.context.socket(zmq.PULL)


def test_forecasts_resume_after_the_predictor_restarts(
    harness: ControllerHarness, tmp_path: Path
) -> None:
    first = start_predictor(harness, tmp_path)
    try:
        before = harness.first_forecast()
    finally:
        stop(first)
    second = start_predictor(harness, tmp_path)

    def from_the_new_process(msg: Message) -> bool:
        # the first process may have queued a later batch before it stopped: skip those
        return isinstance(msg, ForecastBatch) and msg.source != before.source

    try:
        after = harness.wait_for(from_the_new_process, harness.publish_step)
    finally:
        stop(second)
    assert isinstance(after, ForecastBatch)
    assert after.forecasts[0].pair == PAIR


def test_a_saved_model_is_loaded_and_named_in_the_forecasts(
    harness: ControllerHarness, tmp_path: Path
) -> None:
    trace = generate(GeneratorConfig(nodes=2, days=0.3, step_minutes=1, seed=3))
    info = train_on_trace(trace, TrainConfig(horizons=(1, 2), max_iter=5), tmp_path)
    process = start_predictor(harness, tmp_path)
    try:
        batch = harness.first_forecast()
    finally:
        stop(process)
    assert batch.model_version == info.tag
    forecast = batch.forecasts[0]
    assert len(forecast.upper_mbps) == 2
    assert all(u >= m for m, u in zip(forecast.mean_mbps, forecast.upper_mbps, strict=True))
