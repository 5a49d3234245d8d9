"""What each replay sender sends: per-destination rates per step, and the datagrams they make.

Standard library only: the sender imports this inside the Mininet hosts. A pair's rate in a
step becomes evenly spaced UDP datagrams over the step's wall time, the first one at the step's
start (pairs are spread a little; over the first half second in the replay's first step, where
every pair already sending in the trace starts at once). The first datagram of a pair's first
sending step is a *probe* (the receiver echoes it: that round trip is the pair's first-packet
RTT), as is the first datagram of every ``probe_every``-th step after it (steady-state RTT).
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HEADER = struct.Struct("!2sBIIIQ")  # magic, kind, step, sequence, source index, send time (ns)
MAGIC = b"VR"
DATA, PROBE, ECHO = 0, 1, 2
MIN_DATAGRAM = HEADER.size
MAX_DATAGRAM = 1472  # one Ethernet frame, no fragmentation
WIRE_OVERHEAD = 42  # Ethernet, IPv4 and UDP headers: a datagram of size n is n bytes on the wire
MAX_PHASE_S = 0.05  # pairs' datagrams are spread over this much at most
FIRST_STEP_SPREAD_S = 0.5  # in the replay's first step, pairs start spread over this much
BITS_PER_MEGABIT = 1e6


@dataclass(frozen=True)
class Datagram:
    """One datagram of a step: when (seconds after the step's start), to whom, how big."""

    offset_s: float
    dst: str
    size: int
    probe: bool = False


def step_datagrams(
    rate_mbps: float, step_s: float, payload: int, phase: float = 0.0, spread_s: float = 0.0
) -> list[tuple[float, int]]:
    """(offset, size) of the evenly spaced datagrams carrying ``rate_mbps`` for ``step_s``.

    ``phase`` (0..1) delays the first one by that share of the gap between two datagrams, at
    most ``MAX_PHASE_S``, or by that share of ``spread_s`` when given (the rest follow evenly
    in the time left), so that pairs starting together do not send their first datagrams at
    once.
    """
    total = rate_mbps * BITS_PER_MEGABIT / 8 * step_s
    if total <= 0:
        return []
    count = max(1, math.ceil(total / payload))
    size = min(max(round(total / count), MIN_DATAGRAM), MAX_DATAGRAM)
    shift = phase * (spread_s if spread_s > 0 else min(step_s / count, MAX_PHASE_S))
    gap = (step_s - shift) / count
    return [(shift + k * gap, size) for k in range(count)]


def pair_phase(src_index: int, dst: str) -> float:
    """A fixed pseudo-random phase (0..1) per pair, the same in every run."""
    return zlib.crc32(f"{src_index}>{dst}".encode()) / 2**32


@dataclass(frozen=True)
class HostSchedule:
    """The rates one source host sends to each destination, one value per replay step."""

    src: str
    index: int  # the source's number in the replay (echoes name it)
    rates: dict[str, list[float]]  # destination IP -> Mbit/s per step
    steps: int  # replay steps (a host that only receives still serves them all)
    step_s: float = 1.0
    payload: int = 1400
    port: int = 9000
    probe_every: int = 10

    def first_steps(self) -> dict[str, int]:
        """The first step each destination is sent anything (silent ones left out)."""
        out = {}
        for dst, rates in self.rates.items():
            first = next((k for k, r in enumerate(rates) if r > 0), None)
            if first is not None:
                out[dst] = first
        return out

    def datagrams(self, step: int) -> list[Datagram]:
        """The datagrams of one step, in sending order."""
        first = self.first_steps()
        out = []
        for dst, rates in sorted(self.rates.items()):
            if step >= len(rates) or rates[step] <= 0:
                continue
            since = step - first[dst]
            probing = since == 0 or (self.probe_every > 0 and since % self.probe_every == 0)
            phase = pair_phase(self.index, dst)
            spread = min(FIRST_STEP_SPREAD_S, self.step_s / 2) if step == 0 else 0.0
            datagrams = step_datagrams(rates[step], self.step_s, self.payload, phase, spread)
            for k, (offset, size) in enumerate(datagrams):
                out.append(Datagram(offset, dst, size, probing and k == 0))
        out.sort(key=lambda d: (d.offset_s, not d.probe, d.dst))
        return out

    def to_json(self) -> dict[str, Any]:
        """The schedule file's content."""
        return {
            "src": self.src,
            "index": self.index,
            "rates": self.rates,
            "steps": self.steps,
            "step_s": self.step_s,
            "payload": self.payload,
            "port": self.port,
            "probe_every": self.probe_every,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HostSchedule:
        """Read a schedule file's content."""
        return cls(
            str(data["src"]),
            int(data["index"]),
            {str(k): [float(x) for x in v] for k, v in data["rates"].items()},
            int(data["steps"]),
            float(data["step_s"]),
            int(data["payload"]),
            int(data["port"]),
            int(data["probe_every"]),
        )


def build_schedules(
    hosts: Sequence[str],
    rates: Sequence[Sequence[float]],
    pairs: Sequence[tuple[str, str]],
    *,
    step_s: float = 1.0,
    payload: int = 1400,
    probe_every: int = 10,
) -> dict[str, HostSchedule]:
    """One schedule per host from (steps, pairs) rates; pairs that never send are left out."""
    per_host: dict[str, dict[str, list[float]]] = {h: {} for h in hosts}
    for column, (src, dst) in enumerate(pairs):
        series = [float(row[column]) for row in rates]
        if any(r > 0 for r in series):
            per_host[src][dst] = series
    return {
        src: HostSchedule(
            src, i, per_host[src], len(rates), step_s, payload, probe_every=probe_every
        )
        for i, src in enumerate(hosts)
    }


def write_schedule(schedule: HostSchedule, path: Path) -> Path:
    """Write a schedule file (JSON) and return its path."""
    path.write_text(json.dumps(schedule.to_json()))
    return path
