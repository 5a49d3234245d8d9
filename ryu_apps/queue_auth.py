"""Who may use the predictor sockets: a ZAP handler and a handshake watcher, as green threads.

ZeroMQ asks the ZAP handler (a REP socket at ``inproc://zeromq.zap.01`` in the sockets'
context) about every CURVE client during the handshake; it answers 200 only for a public key
found in the authorized-keys directory (:class:`vnstitch.northbound.wire_keys.AuthorizedKeys`).
The watcher reads the sockets' monitor events and reports handshakes that failed before ZAP
was asked: a client without CURVE, one with the wrong server key, bytes that are not ZeroMQ.
Both run on eventlet's green ZeroMQ, so waiting never blocks the OpenFlow loop; both only
report (``on_rejected(reason, detail)``), the core counts and logs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from eventlet.green import zmq
from zmq.utils import z85
from zmq.utils.monitor import recv_monitor_message

from vnstitch.core.events import REJECTED_HANDSHAKE, REJECTED_KEY
from vnstitch.northbound.wire_keys import AuthorizedKeys

LOG = logging.getLogger("vnstitch.queue")
ZAP_ENDPOINT = "inproc://zeromq.zap.01"
ZAP_DOMAIN = b"vnstitch"
Rejected = Callable[[str, str], None]

# Handshakes refused before the ZAP handler saw them (ZAP refusals are reported by the handler).
_FAILED = zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL


def zap_answer(request: Sequence[bytes], authorized: AuthorizedKeys) -> tuple[list[bytes], str]:
    """The ZAP reply frames for one request, and why a refused client was refused ("" if not)."""
    if len(request) < 6:
        return [b"1.0", b"", b"500", b"malformed ZAP request", b"", b""], "malformed ZAP request"
    request_id, address, mechanism = request[1], request[3], request[5]
    credentials = request[6:]
    peer = address.decode(errors="replace") or "?"
    if mechanism != b"CURVE" or len(credentials) != 1 or len(credentials[0]) != 32:
        return [b"1.0", request_id, b"400", b"CURVE only", b"", b""], f"{peer}: not CURVE"
    key = z85.encode(credentials[0])
    if not authorized.allows(key):
        why = f"{peer}: client key {key.decode()} is not in {authorized.directory}"
        return [b"1.0", request_id, b"400", b"key not authorized", b"", b""], why
    return [b"1.0", request_id, b"200", b"OK", key, b""], ""


class ZapHandler:
    """Answers ZeroMQ's authentication requests for one context."""

    def __init__(self, context: Any, authorized: AuthorizedKeys, on_rejected: Rejected) -> None:
        self.authorized = authorized
        self.on_rejected = on_rejected
        self._socket = context.socket(zmq.REP)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.bind(ZAP_ENDPOINT)  # before any CURVE socket binds: no handler = allow all

    def serve_forever(self) -> None:
        """Green-thread loop: one reply for every request, whatever goes wrong in between."""
        while True:
            try:
                request = self._socket.recv_multipart()
            except zmq.ZMQError as exc:
                LOG.warning("ZAP socket error: %s", exc)
                continue
            try:
                reply, refused = zap_answer(request, self.authorized)
            except Exception:  # a bad key file must not leave ZeroMQ without an answer
                LOG.exception("ZAP request failed; refusing the client")
                reply, refused = [b"1.0", request[1], b"500", b"error", b"", b""], "ZAP error"
            self._socket.send_multipart(reply)
            if refused:
                self.on_rejected(REJECTED_KEY, refused)


def watch_handshakes(socket: Any, name: str, on_rejected: Rejected) -> Callable[[], None]:
    """A green-thread loop reporting ``socket``'s failed handshakes (those ZAP never saw)."""
    monitor = socket.get_monitor_socket(_FAILED)

    def loop() -> None:
        while True:
            try:
                event = recv_monitor_message(monitor)
            except zmq.ZMQError as exc:
                LOG.warning("monitor of the %s socket: %s", name, exc)
                continue
            if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
                detail = f"{name} socket: handshake failed ({_protocol_error(event['value'])})"
            else:
                detail = f"{name} socket: handshake failed (no detail)"
            on_rejected(REJECTED_HANDSHAKE, detail)

    return loop


_PROTOCOL_ERRORS: dict[int, str] = {
    int(member.value): name.lower()
    for name, member in zmq.Event.__members__.items()
    if name.startswith("PROTOCOL_ERROR")
}


def _protocol_error(value: int) -> str:
    known: str | None = _PROTOCOL_ERRORS.get(value)
    return known or f"protocol error {value:#x}"
