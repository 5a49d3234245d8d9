"""Reading ping and iperf3 output, and polling with a deadline."""

from __future__ import annotations

import json
import struct

import pytest

from testbed.measure import parse_iperf3, parse_ping
from testbed.relay import AUXDATA, PACKET_AUXDATA, SOL_PACKET, restore_vlan
from testbed.wait import wait_until

PING_OUTPUT = """PING 10.0.0.3 (10.0.0.3) 56(84) bytes of data.
64 bytes from 10.0.0.3: icmp_seq=1 ttl=64 time=40.8 ms
64 bytes from 10.0.0.3: icmp_seq=3 ttl=64 time=41.2 ms

--- 10.0.0.3 ping statistics ---
3 packets transmitted, 2 received, 33.3333% packet loss, time 2003ms
rtt min/avg/max/mdev = 40.800/41.000/41.200/0.200 ms
"""


def test_ping_output_gives_counts_rtts_loss_and_median() -> None:
    result = parse_ping(PING_OUTPUT)
    assert (result.sent, result.received, result.rtts_ms) == (3, 2, [40.8, 41.2])
    assert result.loss == pytest.approx(1 / 3)
    assert result.median_ms == pytest.approx(41.0)


def test_unreachable_ping_counts_as_total_loss() -> None:
    result = parse_ping("ping: connect: Network is unreachable\n")
    assert result.loss == 1.0 and result.rtts_ms == []
    with pytest.raises(ValueError):
        _ = result.median_ms


def test_iperf3_reports_received_rate_for_tcp_and_udp() -> None:
    sums = {"sum_sent": {"bits_per_second": 11e6}, "sum_received": {"bits_per_second": 9.5e6}}
    tcp = {"end": sums}
    assert parse_iperf3(json.dumps(tcp)) == pytest.approx(9.5)
    old_udp = {"end": {"sum": {"bits_per_second": 20e6, "lost_percent": 25.0}}}
    assert parse_iperf3(json.dumps(old_udp)) == pytest.approx(15.0)
    with pytest.raises(RuntimeError, match="unable to connect"):
        parse_iperf3(json.dumps({"error": "unable to connect to server"}))


def test_relay_puts_back_the_vlan_tag_the_kernel_stripped() -> None:
    frame = bytes(range(12)) + b"\x88\xb5payload"
    tagged_aux = AUXDATA.pack(1 << 4 | 1 << 6, 0, 0, 0, 0, 0x6064, 0x88A8)
    restored = restore_vlan(frame, [(SOL_PACKET, PACKET_AUXDATA, tagged_aux)])
    assert restored == frame[:12] + struct.pack("!HH", 0x88A8, 0x6064) + frame[12:]
    untagged_aux = AUXDATA.pack(0, 0, 0, 0, 0, 0, 0)
    assert restore_vlan(frame, [(SOL_PACKET, PACKET_AUXDATA, untagged_aux)]) == frame


def test_wait_until_returns_the_truthy_value_or_times_out_naming_what() -> None:
    calls = iter([0, None, "ready"])
    assert wait_until(lambda: next(calls), 1.0, interval_s=0.001) == "ready"
    with pytest.raises(TimeoutError, match=r"timed out after 0.05s waiting for the moon"):
        wait_until(lambda: False, 0.05, interval_s=0.01, what="the moon")
