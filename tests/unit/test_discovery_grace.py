"""After a restart, a refusal only for not knowing the network yet is 503, later a 409 again."""

from __future__ import annotations

from pathlib import Path

from core_harness import HOSTS, Harness

from vnstitch.core.commands import CreateReservation
from vnstitch.stitcher.reservation import State

H1, H4 = HOSTS[1][1], HOSTS[4][1]


def _udp(port: int, mbps: float = 1.0) -> CreateReservation:
    return CreateReservation(
        {"src": H1, "dst": H4, "bandwidth_mbps": mbps, "ip_proto": 17, "dst_port": port}
    )


def test_a_refusal_while_rediscovering_is_503_then_409_again(tmp_path: Path) -> None:
    """Restarted, switches not yet seen: 503 + retry; once discovered, no path is a 409."""
    h = Harness(tmp_path)
    h.connect_square()
    h.advance(10.0)
    first = h.call(_udp(1), 1)
    assert first is not None and first.status == 201, first

    again = h.restarted()
    early = again.call(_udp(2), 2)
    assert early is not None and early.status == 503, early
    assert early.body["retry_after_s"] == 1 and early.body["constraint"] == "endpoint"
    assert "still discovering the network" in early.body["error"]

    again.connect_square()
    for _ in range(3):
        again.advance(10.0)
        again.audit()
    assert again.core.stitcher.reservations[int(first.body["id"])].state is State.ACTIVE
    again.cable(2, 4, up=False)
    again.cable(3, 4, up=False)
    late = again.call(_udp(4), 4)
    assert late is not None and late.status == 409, late
    assert "retry_after_s" not in late.body


def test_a_genuine_refusal_during_the_grace_stays_409(tmp_path: Path) -> None:
    """Known network, a bandwidth no link has: 409 even right after the restart."""
    h = Harness(tmp_path)
    h.connect_square()
    again = h.restarted()
    again.connect_square()
    reply = again.call(_udp(5, mbps=1e9), 1)
    assert reply is not None and reply.status == 409, reply
    assert reply.body["constraint"] not in ("endpoint", "connectivity")


def test_a_first_start_knows_no_network_to_wait_for(tmp_path: Path) -> None:
    """Nothing stored, no takeover: an unknown host is a 409 from the first second."""
    h = Harness(tmp_path)
    reply = h.call(_udp(6), 1)
    assert reply is not None and reply.status == 409 and reply.body["constraint"] == "endpoint"
