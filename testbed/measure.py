"""Parse what ping and iperf3 print into numbers."""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass, field

_RTT_RE = re.compile(r"time[=<]([\d.]+) ms")
_SUMMARY_RE = re.compile(r"(\d+) packets transmitted, (\d+)(?: packets)? received")


@dataclass(frozen=True)
class PingResult:
    """Echo requests sent, replies received and the round-trip time of each reply."""

    sent: int
    received: int
    rtts_ms: list[float] = field(default_factory=list)

    @property
    def loss(self) -> float:
        """Fraction of requests without a reply (1.0 when nothing was sent)."""
        return 1.0 if self.sent == 0 else 1.0 - self.received / self.sent

    @property
    def median_ms(self) -> float:
        """Median round-trip time; ValueError when no reply arrived."""
        if not self.rtts_ms:
            raise ValueError("no replies, no round-trip time")
        return statistics.median(self.rtts_ms)


def parse_ping(output: str) -> PingResult:
    """Read iputils ping output: per-reply RTTs and the summary counts."""
    rtts = [float(m.group(1)) for m in _RTT_RE.finditer(output)]
    summary = _SUMMARY_RE.search(output)
    if summary is None:
        return PingResult(sent=0, received=0, rtts_ms=rtts)
    return PingResult(int(summary.group(1)), int(summary.group(2)), rtts)


def parse_iperf3(output: str) -> float:
    """Received throughput in Mbit/s from `iperf3 -J` client output (TCP or UDP)."""
    report = json.loads(output)
    if "error" in report:
        raise RuntimeError(f"iperf3: {report['error']}")
    end = report["end"]
    if "sum_received" in end:
        return float(end["sum_received"]["bits_per_second"]) / 1e6
    total = end["sum"]
    lost = float(total.get("lost_percent", 0.0))
    return float(total["bits_per_second"]) * (1.0 - lost / 100.0) / 1e6


def parse_iperf3_udp_loss(output: str) -> tuple[int, int]:
    """(lost, sent) datagrams from `iperf3 -u -J` client output (the receiver's count)."""
    report = json.loads(output)
    if "error" in report:
        raise RuntimeError(f"iperf3: {report['error']}")
    total = report["end"]["sum"]
    return int(total["lost_packets"]), int(total["packets"])
