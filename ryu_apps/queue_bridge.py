"""The controller's side of the ZeroMQ link to the predictor: bytes in and out, nothing else.

The controller binds both sockets — observations out (PUB), forecasts in (PULL) — so either
process can restart and ZeroMQ reconnects by itself. eventlet's green ZeroMQ lets a green
thread blocked in ``recv`` leave the OpenFlow loop running. Decoding, counting and dropping
bad frames is the core's (``vnstitch.core.prediction``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from eventlet.green import zmq

LOG = logging.getLogger("vnstitch.queue")


class QueueBridge:
    """Binds the two sockets; sends frames; hands every received message's frames on."""

    def __init__(
        self,
        observations_endpoint: str,
        forecasts_endpoint: str,
        on_frames: Callable[[tuple[bytes, ...]], None],
    ) -> None:
        self._ctx = zmq.Context.instance()
        self._pub = self._ctx.socket(zmq.PUB)
        self._pub.setsockopt(zmq.LINGER, 0)
        self._pub.setsockopt(zmq.SNDHWM, 1000)
        self._pub.bind(observations_endpoint)
        self._pull = self._ctx.socket(zmq.PULL)
        self._pull.setsockopt(zmq.LINGER, 0)
        self._pull.bind(forecasts_endpoint)
        self._on_frames = on_frames
        self.endpoints = (observations_endpoint, forecasts_endpoint)

    def publish(self, frame: bytes) -> None:
        """Send one message to whoever subscribed (dropped if nobody listens or HWM is hit)."""
        try:
            self._pub.send(frame, zmq.NOBLOCK)
        except zmq.ZMQError as exc:
            LOG.debug("observation not sent: %s", exc)

    def receive_forever(self) -> None:
        """Green-thread loop: every multipart message goes to the core as it came."""
        while True:
            try:
                frames = self._pull.recv_multipart()
            except zmq.ZMQError as exc:
                LOG.warning("forecast socket error: %s", exc)
                continue
            self._on_frames(tuple(bytes(f) for f in frames))
