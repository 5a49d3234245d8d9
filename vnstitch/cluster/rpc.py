"""A minimal OVSDB JSON-RPC connection (RFC 7047) over TCP or a unix socket.

Blocking calls with a timeout; ``echo`` requests from the server are answered while a reply is
awaited, and notifications (``locked``, ``stolen``) are kept for the caller. The python ``ovs``
IDL is not used: it keeps a full replica and drives its own poll loop, where the store needs
only request/reply transactions and a lock, both a few lines of JSON.
"""

from __future__ import annotations

import codecs
import json
import socket
import time
from typing import Any

_DECODER = json.JSONDecoder()


class RpcError(Exception):
    """The connection failed or the server answered a request with an error."""


def parse_remote(remote: str) -> tuple[int, Any]:
    """``tcp:HOST:PORT`` or ``unix:PATH`` → (address family, address); ValueError otherwise."""
    kind, _, rest = remote.partition(":")
    if kind == "unix" and rest:
        return socket.AF_UNIX, rest
    if kind == "tcp":
        host, _, port = rest.rpartition(":")
        if host and port.isdigit():
            return socket.AF_INET, (host.strip("[]"), int(port))
    raise ValueError(f"store address {remote!r} is not tcp:HOST:PORT or unix:PATH")


class Connection:
    """One JSON-RPC session with one ovsdb-server."""

    def __init__(self, remote: str, timeout_s: float) -> None:
        """Connect to ``remote`` (RpcError if it cannot be reached within ``timeout_s``)."""
        self.remote = remote
        family, address = parse_remote(remote)
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.settimeout(timeout_s)
        try:
            self._sock.connect(address)
        except OSError as exc:
            self._sock.close()
            raise RpcError(f"{remote}: {exc}") from exc
        if family == socket.AF_INET:
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._timeout_s = timeout_s
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._buffer = ""
        self._next_id = 0
        self.notifications: list[tuple[str, list[Any]]] = []
        self.last_used = time.monotonic()

    def close(self) -> None:
        """Close the session (the server releases its locks)."""
        self._sock.close()

    def call(self, method: str, params: list[Any], timeout_s: float | None = None) -> Any:
        """Send one request and return its result; RpcError on an error reply or a failure."""
        self._next_id += 1
        request_id = self._next_id
        self._send({"method": method, "params": params, "id": request_id})
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            try:
                message = self._receive(deadline)
            except TimeoutError as exc:
                raise RpcError(f"{self.remote}: {method}: no answer in time") from exc
            if message.get("id") == request_id and "method" not in message:
                self.last_used = time.monotonic()
                if message.get("error") is not None:
                    raise RpcError(f"{self.remote}: {method}: {message['error']}")
                return message.get("result")
            self._dispatch(message)

    def wait_notification(self, timeout_s: float) -> tuple[str, list[Any]] | None:
        """The next notification (answering echoes meanwhile), or None after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while not self.notifications:
            try:
                message = self._receive(deadline)
            except TimeoutError:
                return None
            self._dispatch(message)
        return self.notifications.pop(0)

    def _dispatch(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if method == "echo" and message.get("id") is not None:
            self._send({"result": message.get("params", []), "error": None, "id": message["id"]})
        elif isinstance(method, str) and message.get("id") is None:
            self.notifications.append((method, list(message.get("params") or [])))

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self._sock.sendall(json.dumps(message, separators=(",", ":")).encode())
        except OSError as exc:
            raise RpcError(f"{self.remote}: send failed ({exc})") from exc

    def _receive(self, deadline: float | None) -> dict[str, Any]:
        while True:
            text = self._buffer.lstrip()
            if text:
                try:
                    message, end = _DECODER.raw_decode(text)
                except json.JSONDecodeError:
                    pass  # incomplete: read more
                else:
                    self._buffer = text[end:]
                    if not isinstance(message, dict):
                        raise RpcError(f"{self.remote}: not a JSON-RPC message: {message!r}")
                    return message
            left = self._timeout_s
            if deadline is not None:
                left = min(left, deadline - time.monotonic())
                if left <= 0:
                    raise TimeoutError(f"{self.remote}: no answer in time")
            self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                raise
            except OSError as exc:
                raise RpcError(f"{self.remote}: receive failed ({exc})") from exc
            if not chunk:
                raise RpcError(f"{self.remote}: connection closed by the server")
            self._buffer += self._utf8.decode(chunk)
