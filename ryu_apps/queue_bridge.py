"""The controller's side of the ZeroMQ link to the predictor (wire contract: ``messages``).

The controller binds both sockets — observations out (PUB), forecasts in (PULL) — so either
process can restart and ZeroMQ reconnects by itself. It uses eventlet's green ZeroMQ, so a
green thread blocked in ``recv`` lets the OpenFlow event loop run. A malformed, truncated or
wrong-version message is dropped and counted, never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from eventlet.green import zmq

from vnstitch.messages import DecodeError, DropCounter, Message, decode, encode

LOG = logging.getLogger("vnstitch.queue")


class QueueBridge:
    """Binds the two sockets; publishes controller messages; hands received ones to a callback."""

    def __init__(
        self,
        observations_endpoint: str,
        forecasts_endpoint: str,
        on_message: Callable[[Message], None],
    ) -> None:
        self._ctx = zmq.Context.instance()
        self._pub = self._ctx.socket(zmq.PUB)
        self._pub.setsockopt(zmq.LINGER, 0)
        self._pub.setsockopt(zmq.SNDHWM, 1000)
        self._pub.bind(observations_endpoint)
        self._pull = self._ctx.socket(zmq.PULL)
        self._pull.setsockopt(zmq.LINGER, 0)
        self._pull.bind(forecasts_endpoint)
        self._on_message = on_message
        self.drops = DropCounter()
        self.received = 0
        self.sent = 0
        self.endpoints = (observations_endpoint, forecasts_endpoint)

    def publish(self, msg: Message) -> None:
        """Send one message to whoever subscribed (dropped silently if nobody listens)."""
        try:
            self._pub.send(encode(msg), zmq.NOBLOCK)
            self.sent += 1
        except zmq.ZMQError as exc:
            LOG.debug("observation not sent: %s", exc)

    def receive_forever(self) -> None:
        """Green-thread loop: decode every frame, count the bad ones, dispatch the good ones."""
        while True:
            try:
                frames = self._pull.recv_multipart()
            except zmq.ZMQError as exc:
                LOG.warning("forecast socket error: %s", exc)
                continue
            if len(frames) != 1:
                self.drops.count("garbage")
                continue
            try:
                msg = decode(frames[0])
            except DecodeError as exc:
                self.drops.count(exc.reason)
                LOG.debug("dropped a message from the predictor: %s", exc)
                continue
            self.received += 1
            try:
                self._on_message(msg)
            except Exception:  # a handler bug must not stop the queue
                LOG.exception("handling %s failed", type(msg).__name__)

    def status(self) -> dict[str, Any]:
        """Counters for /v1/stats and metrics."""
        return {
            "observations_endpoint": self.endpoints[0],
            "forecasts_endpoint": self.endpoints[1],
            "sent": self.sent,
            "received": self.received,
            "dropped": dict(self.drops.by_reason),
        }

    def close(self) -> None:
        """Close both sockets."""
        self._pub.close(0)
        self._pull.close(0)
