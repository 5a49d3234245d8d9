"""The replay's traffic process, one per Mininet host: sends its schedule, receives, echoes probes.

``python -m mininet_scenarios.replay_sender SCHEDULE OUT T0`` (run inside a host): from wall
time ``T0`` (epoch seconds, the same clock in every host) it sends the datagrams of
:mod:`mininet_scenarios.replay_schedule` step by step over one UDP socket, echoes the probes
other hosts send it, counts what it receives, and writes a JSON result to ``OUT`` after the
last step (plus ``linger`` seconds for late echoes). Standard library only.
"""

from __future__ import annotations

import json
import select
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mininet_scenarios.replay_schedule import (
    DATA,
    ECHO,
    HEADER,
    MAGIC,
    PROBE,
    WIRE_OVERHEAD,
    HostSchedule,
)

RECEIVE_BUFFER = 4 << 20


@dataclass
class SenderResult:
    """What one host sent, received and measured."""

    src: str
    steps: int
    sent: dict[str, list[int]] = field(default_factory=dict)
    first: dict[str, dict[str, float]] = field(default_factory=dict)
    probes: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    received: dict[str, list[int]] = field(default_factory=dict)
    send_errors: dict[str, int] = field(default_factory=dict)
    max_lag_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The result file's content."""
        return {
            "src": self.src,
            "steps": self.steps,
            "sent": self.sent,
            "first": self.first,
            "probes": [
                {"dst": dst, "step": step, **probe}
                for (dst, step), probe in sorted(self.probes.items())
            ],
            "received": self.received,
            "send_errors": self.send_errors,
            "max_lag_ms": round(self.max_lag_ms, 3),
        }


class Sender:
    """Sends one host's schedule and serves its socket meanwhile."""

    def __init__(self, schedule: HostSchedule, t0: float) -> None:
        self.schedule = schedule
        self.t0 = t0
        self.result = SenderResult(schedule.src, schedule.steps)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        self.sock.bind(("0.0.0.0", schedule.port))
        self.sock.setblocking(False)
        self._seq = 0

    def _serve_until(self, deadline: float) -> None:
        """Receive (and echo) until wall time ``deadline``."""
        while True:
            wait = deadline - time.time()
            if wait <= 0:
                self._drain()
                return
            ready, _, _ = select.select([self.sock], [], [], wait)
            if ready:
                self._drain()

    def _drain(self) -> None:
        while True:
            try:
                data, addr = self.sock.recvfrom(65536)
            except BlockingIOError:
                return
            self._received(data, addr)

    def _received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < HEADER.size:
            return
        magic, kind, step, _seq, _index, sent_ns = HEADER.unpack_from(data)
        if magic != MAGIC:
            return
        if kind == ECHO:
            probe = self.result.probes.get((addr[0], step))
            if probe is not None and probe["rtt_ms"] is None:
                probe["rtt_ms"] = round((time.monotonic_ns() - sent_ns) / 1e6, 3)
            return
        counts = self.result.received.setdefault(addr[0], [0] * self.schedule.steps)
        if 0 <= step < len(counts):
            counts[step] += len(data) + WIRE_OVERHEAD
        if kind == PROBE:
            echo = HEADER.pack(MAGIC, ECHO, step, _seq, self.schedule.index, sent_ns)
            self._send(echo, addr)

    def _send(self, payload: bytes, addr: tuple[str, int]) -> bool:
        try:
            self.sock.sendto(payload, addr)
        except OSError as exc:
            name = type(exc).__name__
            self.result.send_errors[name] = self.result.send_errors.get(name, 0) + 1
            return False
        return True

    def _send_datagram(self, step: int, dst: str, size: int, probe: bool) -> None:
        self._seq += 1
        now_ns = time.monotonic_ns()
        kind = PROBE if probe else DATA
        header = HEADER.pack(MAGIC, kind, step, self._seq, self.schedule.index, now_ns)
        # ``size`` is the datagram's bytes on the wire, what the switches count
        payload = header + bytes(max(size - WIRE_OVERHEAD - len(header), 0))
        if dst not in self.result.first:
            self.result.first[dst] = {"step": step, "wall": time.time(), "mono": now_ns / 1e9}
        if probe:
            self.result.probes[(dst, step)] = {"rtt_ms": None, "mono": now_ns / 1e9}
        if self._send(payload, (dst, self.schedule.port)):
            sent = self.result.sent.setdefault(dst, [0] * self.schedule.steps)
            sent[step] += len(payload) + WIRE_OVERHEAD

    def run(self, linger_s: float = 1.5) -> SenderResult:
        """Send every step, then keep receiving for ``linger_s``."""
        step_s = self.schedule.step_s
        for step in range(self.schedule.steps):
            start = self.t0 + step * step_s
            for dg in self.schedule.datagrams(step):
                due = start + dg.offset_s
                self._serve_until(due)
                lag = (time.time() - due) * 1000
                self.result.max_lag_ms = max(self.result.max_lag_ms, lag)
                self._send_datagram(step, dg.dst, dg.size, dg.probe)
        self._serve_until(self.t0 + self.schedule.steps * step_s + linger_s)
        self.sock.close()
        return self.result


def main(argv: list[str] | None = None) -> int:
    """Entry point inside a Mininet host."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: replay_sender SCHEDULE OUT T0", file=sys.stderr)
        return 2
    schedule = HostSchedule.from_json(json.loads(Path(args[0]).read_text()))
    result = Sender(schedule, float(args[2])).run()
    out = Path(args[1])
    temporary = out.with_name(out.name + ".tmp")
    temporary.write_text(json.dumps(result.to_json()))
    temporary.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
