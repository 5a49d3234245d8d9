"""The predictor's CURVE credentials: its own keypair and the controller's public key.

The keypair is made at the first start in the key directory (and authorized there, see
``vnstitch.northbound.wire_keys``); the controller's public key is read from
``controller.key`` in the same directory unless a file is named. A predictor started before
the controller's first start waits for that file.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import zmq

from vnstitch.northbound.wire_keys import (
    CLIENT_NAME,
    PUBLIC_SUFFIX,
    SERVER_NAME,
    CurveKeypair,
    load_or_create_client_keypair,
    read_public_key,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CurveClient:
    """What a client socket needs to reach the controller: its server key and our keypair."""

    server_key: bytes
    keys: CurveKeypair

    def apply(self, sock: zmq.Socket[bytes]) -> None:
        """Make ``sock`` a CURVE client of the controller (before it connects)."""
        sock.curve_serverkey = self.server_key
        sock.curve_publickey = self.keys.public
        sock.curve_secretkey = self.keys.secret


def server_key_path(key_dir: Path, server_key: Path | None) -> Path:
    """The controller's public key file: ``server_key``, else ``controller.key`` in key_dir."""
    return server_key if server_key is not None else key_dir / f"{SERVER_NAME}{PUBLIC_SUFFIX}"


def curve_client(
    key_dir: Path,
    server_key: Path | None = None,
    name: str = CLIENT_NAME,
    stop: threading.Event | None = None,
    timeout_s: float | None = None,
) -> CurveClient | None:
    """Our keypair (made if absent) and the controller's key, waiting for it to exist.

    Returns None if ``stop`` is set while waiting; raises KeyFileError after ``timeout_s``.
    """
    keys = load_or_create_client_keypair(key_dir, name, zmq.curve_keypair)
    log.info("CURVE keypair %s: %s", name, keys.source)
    path = server_key_path(key_dir, server_key)
    stop = stop or threading.Event()
    waited = 0.0
    while not path.exists():
        if waited == 0.0:
            log.info("waiting for the controller's public key %s (made at its first start)", path)
        if timeout_s is not None and waited >= timeout_s:
            break
        if stop.wait(0.2):
            return None
        waited += 0.2
    return CurveClient(read_public_key(path), keys)
