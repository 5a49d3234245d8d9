"""The ZAP answer: 200 only for a CURVE client whose key is in the allow-list."""

from __future__ import annotations

from pathlib import Path

import zmq
from zmq.utils import z85

from ryu_apps.queue_auth import zap_answer
from vnstitch.northbound.wire_keys import AuthorizedKeys, write_public_key


def _request(mechanism: bytes, *credentials: bytes) -> list[bytes]:
    return [b"1.0", b"id-7", b"vnstitch", b"127.0.0.1", b"", mechanism, *credentials]


def test_only_authorized_curve_clients_get_200(tmp_path: Path) -> None:
    allowed = AuthorizedKeys(tmp_path)
    good, _ = zmq.curve_keypair()
    other, _ = zmq.curve_keypair()
    write_public_key(tmp_path / "predictor.key", good)

    reply, refused = zap_answer(_request(b"CURVE", z85.decode(good)), allowed)
    assert reply[:3] == [b"1.0", b"id-7", b"200"] and refused == ""

    reply, refused = zap_answer(_request(b"CURVE", z85.decode(other)), allowed)
    assert reply[:3] == [b"1.0", b"id-7", b"400"]
    assert other.decode() in refused and str(tmp_path) in refused

    reply, refused = zap_answer(_request(b"NULL"), allowed)
    assert reply[2] == b"400" and "not CURVE" in refused

    reply, refused = zap_answer([b"1.0"], allowed)
    assert reply[2] == b"500" and refused
