"""The controller's side of the ZeroMQ link to the predictor: bytes in and out, nothing else.

The controller binds both sockets — observations out (PUB), forecasts in (PULL) — so either
process can restart and ZeroMQ reconnects by itself. With CURVE (the default) the controller is
the server: only clients whose public key is authorized get through the handshake
(``ryu_apps.queue_auth``), and the traffic is encrypted. Every socket sets ``ZMQ_MAXMSGSIZE``:
a larger frame disconnects its sender at the frame header instead of being read whole.
eventlet's green ZeroMQ lets a green thread blocked in ``recv`` leave the OpenFlow loop running.
Decoding, counting and dropping bad frames is the core's (``vnstitch.core.prediction``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventlet.green import zmq

from ryu_apps.queue_auth import ZAP_DOMAIN, Rejected, ZapHandler, watch_handshakes
from vnstitch.northbound.wire_keys import CURVE_BOX_BYTES, AuthorizedKeys, CurveKeypair

LOG = logging.getLogger("vnstitch.queue")
FORECASTS_RCVHWM = 100  # forecasts waiting for the event loop (each up to max_message_bytes)


@dataclass(frozen=True)
class CurveServer:
    """The controller's CURVE keypair and the client keys it lets in."""

    keys: CurveKeypair
    authorized: AuthorizedKeys


class QueueBridge:
    """Binds the two sockets; sends frames; hands every received message's frames on.

    ``loops`` are the green threads to spawn: the receiver, and with CURVE the ZAP handler and
    the two handshake watchers.
    """

    def __init__(
        self,
        observations_endpoint: str,
        forecasts_endpoint: str,
        on_frames: Callable[[tuple[bytes, ...]], None],
        max_message_bytes: int,
        curve: CurveServer | None,
        on_rejected: Rejected,
    ) -> None:
        self._ctx = zmq.Context()  # its own: one ZAP handler per context
        self._max_message_bytes = max_message_bytes
        self._curve = curve
        self.loops: list[Callable[[], None]] = [self.receive_forever]
        if curve is not None:
            self.loops.append(ZapHandler(self._ctx, curve.authorized, on_rejected).serve_forever)
        self._pub = self._socket(zmq.PUB)
        self._pull = self._socket(zmq.PULL)
        try:
            self._pub.setsockopt(zmq.SNDHWM, 1000)
            self._pub.bind(observations_endpoint)
            self._pull.setsockopt(zmq.RCVHWM, FORECASTS_RCVHWM)
            self._pull.bind(forecasts_endpoint)
        except zmq.ZMQError:  # e.g. the leader it replaces still holds one: free both to retry
            self.close()
            raise
        if curve is not None:
            self.loops.append(watch_handshakes(self._pub, "observations", on_rejected))
            self.loops.append(watch_handshakes(self._pull, "forecasts", on_rejected))
        self._on_frames = on_frames
        self.endpoints = (observations_endpoint, forecasts_endpoint)

    def _socket(self, kind: int) -> Any:
        sock = self._ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        limit = self._max_message_bytes
        if self._curve is not None:
            sock.curve_server = True
            sock.curve_secretkey = self._curve.keys.secret
            sock.setsockopt(zmq.ZAP_DOMAIN, ZAP_DOMAIN)
            limit += CURVE_BOX_BYTES
        sock.setsockopt(zmq.MAXMSGSIZE, limit)
        return sock

    def close(self) -> None:
        """Unbind the two sockets (a cluster leader stepping down; kill the loops first).

        The context is left to the collector: terminating it would wait for the ZAP and
        monitor sockets the killed loops held.
        """
        self._pub.close(linger=0)
        self._pull.close(linger=0)

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
