"""Watching the controller during a replay: its clock, reservations, forecasts, observations.

A background thread subscribes to the controller's observation queue (a second subscriber does
not disturb the predictor) and polls the REST API: ``/v1/reservations`` and ``/v1/forecasts``
every ``poll_s``, ``/v1/stats`` every fourth poll. The observations' stamps give the
controller's traffic clock, so the replay's senders start when it reaches the first step.
Reservation times are the controller's monotonic clock, the one every Mininet host shares.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import zmq

from testbed.stack import RestError, Stack
from testbed.wait import wait_until
from vnstitch.clock import parse_rfc3339
from vnstitch.messages import DEFAULT_MAX_MESSAGE_BYTES, DecodeError, Observations, decode
from vnstitch.northbound.wire_keys import CURVE_BOX_BYTES

log = logging.getLogger(__name__)


@dataclass
class ReservationTrack:
    """What the polls saw of one predicted reservation."""

    res_id: str
    pair: tuple[str, str]
    first_seen: float  # wall time of the first poll that listed it
    activated_mono: float | None = None  # controller's ACTIVE time (monotonic), first sighting
    gone: float | None = None  # wall time of the first poll that no longer listed it
    rate_mbps: float = 0.0  # bandwidth of the latest ACTIVE version
    bidirectional: bool = True  # carries the reverse pair's traffic too


@dataclass
class MonitorRecord:
    """Everything the monitor collected (wall times are ``time.time()``)."""

    clock_offsets: list[float] = field(default_factory=list)  # wall - traffic / scale
    observations: list[tuple[float, float, dict[tuple[str, str], int]]] = field(
        default_factory=list
    )
    reservations: dict[str, ReservationTrack] = field(default_factory=dict)
    reserved: list[tuple[float, dict[tuple[str, str], float]]] = field(default_factory=list)
    forecasts: list[tuple[float, list[dict[str, Any]]]] = field(default_factory=list)
    stats: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # /v1/stats
    poll_errors: int = 0


def dump_record(record: MonitorRecord, path: Path) -> Path:
    """Write the raw record (JSON) for later inspection."""
    data = {
        "clock_offsets": record.clock_offsets,
        "observations": [
            [start, end, [[src, dst, count] for (src, dst), count in samples.items()]]
            for start, end, samples in record.observations
        ],
        "reservations": [asdict(track) for track in record.reservations.values()],
        "reserved": [
            [wall, [[src, dst, rate] for (src, dst), rate in reserved.items()]]
            for wall, reserved in record.reserved
        ],
        "forecasts": record.forecasts,
        "stats": record.stats,
        "poll_errors": record.poll_errors,
    }
    path.write_text(json.dumps(data))
    return path


class ControllerMonitor(threading.Thread):
    """Collects a :class:`MonitorRecord` until :meth:`stop`."""

    def __init__(
        self,
        stack: Stack,
        time_origin: float,
        time_scale: float,
        poll_s: float = 0.25,
        round_lag_s: float = 0.0,
    ) -> None:
        super().__init__(name="replay-monitor", daemon=True)
        self.stack = stack
        self.time_origin = time_origin
        self.time_scale = time_scale
        self.poll_s = poll_s
        self.round_lag_s = round_lag_s  # a step is read this long after it ends (counter lag)
        self.stats_every = 4  # /v1/stats polled every this many polls
        self.record = MonitorRecord()
        self._stop_event = threading.Event()
        self._lock = threading.Lock()

    def stop(self) -> MonitorRecord:
        """Stop collecting and return the record."""
        self._stop_event.set()
        self.join(timeout=10)
        return self.record

    # ---- the controller's traffic clock ------------------------------------------------------
    def clock_start(self) -> float | None:
        """The controller's clock start (wall), from the observations seen so far."""
        with self._lock:
            offsets = list(self.record.clock_offsets)
        # a stamp is taken before the message is received: the smallest offset is the closest
        return min(offsets) if offsets else None

    def wait_clock_start(self, timeout_s: float = 30.0, samples: int = 3) -> float:
        """Wait for a few observation rounds, then return the clock start estimate."""

        def enough() -> bool:
            with self._lock:
                return len(self.record.clock_offsets) >= samples

        wait_until(enough, timeout_s, 0.1, "observations from the controller")
        start = self.clock_start()
        assert start is not None
        return start

    def traffic_time(self, wall: float) -> float:
        """The controller's traffic clock at a wall time."""
        start = self.clock_start()
        if start is None:
            raise RuntimeError("the controller's clock is not known yet")
        return self.time_origin + (wall - start) * self.time_scale

    # ---- collection ----------------------------------------------------------------------------
    def run(self) -> None:
        """Subscribe and poll until stopped."""
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
        sub = context.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.MAXMSGSIZE, DEFAULT_MAX_MESSAGE_BYTES + CURVE_BOX_BYTES)
        self.stack.curve_client("replay-monitor").apply(sub)
        sub.connect(self.stack.observations_endpoint)
        next_poll, polls = 0.0, 0
        try:
            while not self._stop_event.is_set():
                if sub.poll(20):
                    self._receive(sub)
                now = time.time()
                if now >= next_poll:
                    next_poll = now + self.poll_s
                    self._poll(polls % self.stats_every == 0)
                    polls += 1
        finally:
            sub.close()

    def _receive(self, sub: zmq.Socket[bytes]) -> None:
        while True:
            try:
                frame = sub.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            received = time.time()
            try:
                msg = decode(frame)
            except DecodeError:
                continue
            if not isinstance(msg, Observations):
                continue
            wall_end = (msg.interval_end - self.time_origin) / self.time_scale
            offset = received - wall_end - self.round_lag_s
            samples = {(s.pair.src, s.pair.dst): s.bytes for s in msg.samples}
            with self._lock:
                self.record.clock_offsets.append(offset)
                self.record.observations.append((msg.interval_start, msg.interval_end, samples))

    def _poll(self, with_stats: bool) -> None:
        try:
            listing = self.stack.get("/v1/reservations")["reservations"]
            forecasts = self.stack.get("/v1/forecasts")["forecasts"]
            stats = self.stack.get("/v1/stats") if with_stats else None
        except (RestError, OSError, ValueError) as exc:
            self.record.poll_errors += 1
            log.debug("poll failed: %s", exc)
            return
        wall = time.time()
        self._reservations(wall, listing)
        self.record.forecasts.append((wall, forecasts))
        if stats is not None:
            self.record.stats.append((wall, stats))

    def _reservations(self, wall: float, listing: list[dict[str, Any]]) -> None:
        tracks = self.record.reservations
        seen, reserved = set(), {}
        for res in listing:
            if not res.get("predicted"):
                continue
            res_id = str(res["id"])
            seen.add(res_id)
            track = tracks.get(res_id)
            if track is None:
                track = ReservationTrack(
                    res_id,
                    (res["src"], res["dst"]),
                    wall,
                    bidirectional=bool(res.get("bidirectional", True)),
                )
                tracks[res_id] = track
            state = res["state"]
            if state == "ACTIVE":
                if track.activated_mono is None:
                    # the API shows wall-clock UTC; the senders time on this host's monotonic clock
                    confirmed = parse_rfc3339(res.get("installed_at") or res["updated_at"])
                    track.activated_mono = confirmed - (time.time() - time.monotonic())
                track.rate_mbps = float(res["bandwidth_mbps"])
            moving = state == "INSTALLING" and res.get("reason") == "moving"
            if track.activated_mono is not None and (state == "ACTIVE" or moving):
                reserved[track.pair] = track.rate_mbps  # a move keeps the old rules meanwhile
                if res.get("bidirectional", True):  # the reverse direction rides on it too
                    src, dst = track.pair
                    reserved[(dst, src)] = max(reserved.get((dst, src), 0.0), track.rate_mbps)
        for res_id, track in tracks.items():
            if track.gone is None and res_id not in seen:
                track.gone = wall
        self.record.reserved.append((wall, reserved))
