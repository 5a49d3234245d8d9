"""The predictor's CURVE credentials: its keypair made and authorized, the controller's key read
or waited for."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import zmq

from predictor.curve_client import curve_client
from vnstitch.northbound.wire_keys import (
    SERVER_NAME,
    KeyFileError,
    load_or_create_keypair,
    read_public_key,
)


def test_the_client_gets_the_server_key_and_an_authorized_keypair(tmp_path: Path) -> None:
    server = load_or_create_keypair(tmp_path, SERVER_NAME, zmq.curve_keypair)
    client = curve_client(tmp_path)
    assert client is not None and client.server_key == server.public
    assert read_public_key(tmp_path / "authorized" / "predictor.key") == client.keys.public
    sock = zmq.Context.instance().socket(zmq.PUSH)
    try:
        client.apply(sock)  # the keys are accepted by ZeroMQ (valid Z85, 32-byte keys)
        assert sock.getsockopt(zmq.MECHANISM) == zmq.CURVE
    finally:
        sock.close(0)


def test_a_named_server_key_file_is_used(tmp_path: Path) -> None:
    server = load_or_create_keypair(tmp_path / "elsewhere", SERVER_NAME, zmq.curve_keypair)
    client = curve_client(tmp_path / "mine", tmp_path / "elsewhere" / "controller.key")
    assert client is not None and client.server_key == server.public


def test_waiting_for_the_server_key_ends_on_stop_or_timeout(tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()
    assert curve_client(tmp_path, stop=stop) is None
    with pytest.raises(KeyFileError, match="no key file"):
        curve_client(tmp_path, timeout_s=0.3)
