"""Bytes per endpoint pair from flow-entry counters, counted once at the pair's ingress.

Only entries that take traffic in from an edge port (``in_port`` where a host is attached)
are counted, so a packet crossing five switches counts once. The pair is named by IPv4
addresses: from the match's ``ipv4_src``/``ipv4_dst``, else from the MACs via the host table.
A counter that went down means the entry was replaced: its new value is the delta.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FlowKey = tuple[int, int, tuple[tuple[str, Any], ...]]  # dpid, priority, match


@dataclass(frozen=True)
class FlowSample:
    """One flow entry's counters as a switch reported them."""

    dpid: int
    priority: int
    cookie: int
    match: Mapping[str, Any]
    byte_count: int
    duration_s: float = 0.0


class PairCounters:
    """Turns successive flow-stat rounds into per-pair byte deltas."""

    def __init__(self) -> None:
        self._last: dict[FlowKey, int] = {}

    def update(
        self,
        samples: Iterable[FlowSample],
        is_host_port: Callable[[int, int], bool],
        ip_of_mac: Callable[[str], str | None],
        interval_s: float,
    ) -> dict[tuple[str, str], int]:
        """Deltas per (src_ip, dst_ip) since the previous round for these switches.

        An entry seen for the first time counts in full only if it is younger than the
        interval (after a controller restart, old entries' totals are not one interval's).
        """
        out: dict[tuple[str, str], int] = {}
        for s in samples:
            in_port = s.match.get("in_port")
            if in_port is None or not is_host_port(s.dpid, int(in_port)):
                continue
            src = s.match.get("ipv4_src") or ip_of_mac(str(s.match.get("eth_src", "")))
            dst = s.match.get("ipv4_dst") or ip_of_mac(str(s.match.get("eth_dst", "")))
            if not src or not dst:
                continue
            # Not keyed by cookie: an entry overwritten in place (a resize, a new version) keeps
            # its counters on Open vSwitch, so a new cookie must not count the history again.
            key: FlowKey = (s.dpid, s.priority, tuple(sorted(s.match.items())))
            previous = self._last.get(key)
            self._last[key] = s.byte_count
            if previous is None:
                delta = s.byte_count if s.duration_s <= interval_s else 0
            elif s.byte_count < previous:
                delta = s.byte_count
            else:
                delta = s.byte_count - previous
            if delta > 0:
                pair = (str(src), str(dst))
                out[pair] = out.get(pair, 0) + delta
        return out

    def forget_switch(self, dpid: int) -> None:
        """Drop the counters of a switch that went away."""
        self._last = {k: v for k, v in self._last.items() if k[0] != dpid}
