"""Best-effort policing: how reservations become a guarantee on a datapath without queues.

The userspace datapath cannot shape or queue, so a reserved rate is guaranteed by admission
(the ledger never books more than a link's usable capacity) plus policing of everything else
at the edge. Scheme: every edge port gets a best-effort drop meter; the baseline rules that
take traffic in from that port (unicast ingress and broadcast flooding) apply it. Any link may
carry best-effort traffic from any edge port, so each port's rate is

    rate = min over links L of (capacity(L) - reserved(L)) / number of edge ports

and on every link reservations plus best-effort stay within capacity. The rate is recomputed
whenever reservations change, never below ``floor_mbps`` (0 keeps the strict guarantee). The
meters' ids and burst live in ``vnstitch.rules.meters``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from topology.model import Dpid, LinkId, PortNo
from vnstitch.rules.meters import best_effort_meter, best_effort_meter_id
from vnstitch.rules.model import FlowRule, MeterSpec


def best_effort_rate_mbps(
    capacity: Mapping[LinkId, float],
    reserved: Mapping[LinkId, float],
    edge_ports: int,
    floor_mbps: float = 0.0,
) -> float:
    """Per-edge-port best-effort rate that keeps every link within capacity."""
    if edge_ports <= 0 or not capacity:
        return max(floor_mbps, max(capacity.values(), default=0.0))
    spare = min(max(0.0, cap - reserved.get(lid, 0.0)) for lid, cap in capacity.items())
    return max(floor_mbps, spare / edge_ports)


def best_effort_meters(
    edge_ports: Iterable[tuple[Dpid, PortNo]], rate_mbps: float, cookie: int = 0
) -> list[MeterSpec]:
    """One meter per edge port at ``rate_mbps``."""
    return [best_effort_meter(dpid, port, rate_mbps, cookie) for dpid, port in sorted(edge_ports)]


def police(rules: Iterable[FlowRule], edge_ports: set[tuple[Dpid, PortNo]]) -> list[FlowRule]:
    """Attach the best-effort meter to rules taking traffic in from an edge port."""
    out = []
    for rule in rules:
        port = rule.match.in_port
        if port is not None and (rule.dpid, port) in edge_ports and rule.actions:
            rule = replace(rule, meter_id=best_effort_meter_id(port))
        out.append(rule)
    return out
