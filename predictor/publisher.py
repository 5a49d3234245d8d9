"""The predictor process: ZeroMQ sockets around the engine, model updates in a worker process.

Retraining and recalibration run in that worker, so forecasting never waits for them. The
controller binds both sockets; this process connects a SUB (observations) and a PUSH
(forecasts), so either side may restart and ZeroMQ reconnects. Both are CURVE clients of the
controller (``predictor.curve_client``) unless ``--no-curve``, and both bound the frame size.
Given every instance of a controller cluster, they reach whichever binds (the leader): each
endpoint is retried every 250 ms at most, and ZMTP heartbeats drop a peer silent for 3 s.
Frames that do not decode are dropped and counted; forecasts that cannot be handed to a
connected controller are dropped.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
import uuid
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import zmq

from predictor.classes import load_classifier
from predictor.curve_client import CurveClient, curve_client
from predictor.engine import EngineConfig, PredictorEngine
from predictor.model_updates import ModelUpdate, TrainingJob
from predictor.models import Forecaster
from predictor.seeding import DEFAULT_FIRST_IP, seed_from_trace
from predictor.store import latest_tag, load_model, save_model
from vnstitch.messages import DEFAULT_MAX_MESSAGE_BYTES, DecodeError, Message, decode, encode
from vnstitch.northbound.wire_keys import CURVE_BOX_BYTES, DEFAULT_KEY_DIR, KeyFileError

log = logging.getLogger(__name__)

SEND_FAILED = "send_failed"
RECONNECT_IVL_MAX_MS = 250  # the longest wait before trying an endpoint again
HEARTBEAT_IVL_MS = 1000  # ZMTP pings to each controller
HEARTBEAT_TIMEOUT_MS = 3000  # a controller silent this long is disconnected


@dataclass(frozen=True)
class RunConfig:
    """Settings of ``predictor run``."""

    observations: str
    forecasts: str
    model_dir: Path
    classes: Path | None = None
    horizon: int = 3
    step_seconds: float = 300.0
    retrain: bool = True
    status_interval: float = 5.0
    threads: int = 1
    poll_ms: int = 100
    seed_trace: Path | None = None  # history before the live observations (a replay's past)
    seed_until: float | None = None  # end of the seeded history (epoch s); None: whole trace
    seed_first_ip: str = DEFAULT_FIRST_IP  # trace node i is this address + i
    bytes_scale: float = 1.0  # observed bytes x this (time-compressed replay)
    idle_days: float = 7.0  # forecast the pairs with traffic in this many days
    curve: bool = True  # False: plain TCP, for a controller with [predictor] curve = false
    key_dir: Path = DEFAULT_KEY_DIR  # our keypair; the controller's controller.key by default
    server_key: Path | None = None  # the controller's public key file, if not in key_dir
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES


def _connect(
    context: zmq.Context[zmq.Socket[bytes]], config: RunConfig, curve: CurveClient | None
) -> tuple[zmq.Socket[bytes], zmq.Socket[bytes]]:
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.setsockopt(zmq.RCVHWM, 10_000)
    push = context.socket(zmq.PUSH)
    push.setsockopt(zmq.IMMEDIATE, 1)  # queue nothing while the controller is away
    push.setsockopt(zmq.SNDHWM, 100)
    limit = config.max_message_bytes + (CURVE_BOX_BYTES if curve is not None else 0)
    for sock in (sub, push):
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RECONNECT_IVL, 100)
        # a follower's endpoints refuse until it leads: retried this often, not backed off to
        # seconds, so the predictor reaches a new leader soon after it binds
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, RECONNECT_IVL_MAX_MS)
        # a peer that stops answering (a paused or cut-off old leader, a dead host) is dropped,
        # so PUSH stops handing it every other batch; a TCP reset would take minutes
        sock.setsockopt(zmq.HEARTBEAT_IVL, HEARTBEAT_IVL_MS)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS)
        sock.setsockopt(zmq.MAXMSGSIZE, limit)
        if curve is not None:
            curve.apply(sock)
    # Several endpoints (comma-separated): every instance of a controller cluster. Only the
    # leader binds them, so SUB hears the leader and PUSH (IMMEDIATE) sends only to it.
    for endpoint in config.observations.split(","):
        sub.connect(endpoint.strip())
    for endpoint in config.forecasts.split(","):
        push.connect(endpoint.strip())
    return sub, push


class ForecastPublisher:
    """Feeds observations to the engine and publishes its forecasts until ``stop`` is set."""

    def __init__(
        self, config: RunConfig, engine: PredictorEngine, curve: CurveClient | None = None
    ) -> None:
        self.config = config
        self.engine = engine
        self.curve = curve
        # A process, not a thread: a recalibration holds the interpreter for seconds, which
        # in a time-compressed replay (a step a second) held every forecast back for steps.
        # At the lowest CPU priority: on a busy machine the forecasts go first.
        self._worker: Executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=os.nice,
            initargs=(19,),
        )
        self._update: tuple[ModelUpdate, Future[Forecaster]] | None = None

    def _send(self, push: zmq.Socket[bytes], messages: list[Message]) -> None:
        for msg in messages:
            try:
                push.send(encode(msg), zmq.NOBLOCK)
            except zmq.Again:
                self.engine.drops.count(SEND_FAILED)

    def _receive(self, sub: zmq.Socket[bytes], push: zmq.Socket[bytes]) -> None:
        while True:
            try:
                frames = sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                if len(frames) != 1:
                    raise DecodeError("garbage", f"{len(frames)} frames")
                msg = decode(frames[0], self.config.max_message_bytes)
            except DecodeError as exc:
                self.engine.drops.count(exc.reason)
                log.debug("dropped a message: %s", exc)
                continue
            self._send(push, self.engine.handle(msg))

    def _background(self) -> None:
        """Install a finished retraining or recalibration; start the next one when due."""
        if self._update is not None and self._update[1].done():
            update, future = self._update
            self._update = None
            try:
                forecaster = future.result()
            except Exception:
                log.exception("background job failed; keeping %s", self.engine.model_version)
                self.engine.install(None, self.engine.model_version)
            else:
                self._install(update, forecaster)
        if self._update is None:
            due = self.engine.next_job()
            if due is not None:
                if isinstance(due, TrainingJob):
                    log.info("retraining on %d steps x %d pairs", *due.rates.shape)
                self._update = (due, self._worker.submit(due.run))

    def _install(self, update: ModelUpdate, forecaster: Forecaster) -> None:
        if not isinstance(update, TrainingJob):
            self.engine.install_recalibration(forecaster)
            return
        rows, pairs = update.rates.shape
        info = save_model(forecaster, self.config.model_dir, update.trained_until, rows, pairs)
        self.engine.install(forecaster, info.tag)

    def run(self, stop: threading.Event) -> None:
        """Receive, forecast, send and retrain until ``stop`` is set."""
        sub, push = _connect(zmq.Context.instance(), self.config, self.curve)
        poller = zmq.Poller()
        poller.register(sub, zmq.POLLIN)
        next_status = 0.0
        try:
            while not stop.is_set():
                if poller.poll(self.config.poll_ms):
                    self._receive(sub, push)
                self._background()
                now = time.time()  # heartbeat pacing only; forecasts use message timestamps
                if now >= next_status:
                    self._send(push, [self.engine.status(now)])
                    next_status = now + self.config.status_interval
        finally:
            sub.close()
            push.close()
            self._worker.shutdown(wait=False, cancel_futures=True)


def build_engine(config: RunConfig) -> PredictorEngine:
    """An engine with the configured classes, the latest saved model if any, and the seed."""
    engine_config = EngineConfig(
        horizon=config.horizon,
        step_seconds=config.step_seconds,
        retrain=config.retrain,
        threads=config.threads,
        bytes_scale=config.bytes_scale,
        idle_days=config.idle_days,
    )
    engine = PredictorEngine(f"predictor-{uuid.uuid4().hex[:8]}", engine_config)
    engine.classifier = load_classifier(config.classes)
    _load_latest(engine, config.model_dir)
    if config.seed_trace is not None:
        from predictor.trace import load_trace

        trace = load_trace(config.seed_trace)
        until = config.seed_until if config.seed_until is not None else float("inf")
        engine.seed(seed_from_trace(trace, until, config.seed_first_ip))
    return engine


def _load_latest(engine: PredictorEngine, model_dir: Path) -> None:
    tag = latest_tag(model_dir)
    if tag is None:
        log.info("no model in %s: forecasting with the fallback until trained", model_dir)
        return
    try:
        forecaster, info = load_model(model_dir, tag)
    except (OSError, ValueError) as exc:
        log.warning("cannot load model %s (%s): using the fallback", tag, exc)
        return
    engine.install(forecaster, info.tag)


def run_publisher(config: RunConfig) -> int:
    """Run until SIGINT or SIGTERM; returns the exit status."""
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    curve = None
    if config.curve:
        try:
            curve = curve_client(config.key_dir, config.server_key, stop=stop)
        except (KeyFileError, OSError) as exc:
            log.error("predictor: %s", exc)
            return 2
        if curve is None:
            return 0  # stopped while waiting for the controller's key
    else:
        log.warning("--no-curve: plain TCP, for a controller with [predictor] curve = false")
    engine = build_engine(config)
    log.info(
        "predictor %s: observations from %s, forecasts to %s, model %s",
        engine.source,
        config.observations,
        config.forecasts,
        engine.model_version,
    )
    ForecastPublisher(config, engine, curve).run(stop)
    return 0
