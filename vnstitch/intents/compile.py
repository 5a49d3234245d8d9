"""Compile an intent into reservation requests (connectivity, low latency) or drops (isolation).

Compilation returns data only: the lead's adapter submits the requests to the stitcher and
installs the drops. Requests that want the lowest-latency path say so (``prefer_latency``; the
``objective`` is then LATENCY). Requests and drops cover whatever resolves now; anything
unresolved makes the compilation incomplete, so the intent is FAILED with ``reason`` and compiled
again when the topology changes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, assert_never

from topology.model import Host, dpid_str
from vnstitch.intents.model import Intent
from vnstitch.intents.resolve import HostDirectory, resolve_group
from vnstitch.intents.specs import ConnectivitySpec, IsolationSpec, LowLatencySpec
from vnstitch.rules.cookies import KIND_ISOLATION, Cookie
from vnstitch.rules.model import ETH_TYPE_IPV4, IP_PROTO_TCP, IP_PROTO_UDP, FlowRule, Match
from vnstitch.rules.priorities import ISOLATION
from vnstitch.stitcher.reservation import Origin, ReservationRequest

IP_PROTOS = {"tcp": IP_PROTO_TCP, "udp": IP_PROTO_UDP}


class Objective(StrEnum):
    """What the path search should minimise for the intent's requests."""

    COST = "cost"  # the stitcher's usual cost (latency + utilisation + hops)
    LATENCY = "latency"  # the lowest-latency feasible path


@dataclass
class Compilation:
    """What one intent needs now: reservations, isolation drops, and what is missing."""

    intent_id: str
    objective: Objective = Objective.COST
    requests: list[ReservationRequest] = field(default_factory=list)
    drops: list[FlowRule] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    isolated_pairs: set[frozenset[str]] = field(default_factory=set)  # MAC pairs

    @property
    def complete(self) -> bool:
        """True if every endpoint resolved and nothing stands in the way."""
        return not self.problems

    @property
    def reason(self) -> str | None:
        """Why the intent cannot be met now (None if it can)."""
        return "; ".join(self.problems) or None

    def to_dict(self) -> dict[str, Any]:
        """The dry-run document (the adapter adds the paths the stitcher would choose)."""
        return {
            "intent": self.intent_id,
            "objective": self.objective.value,
            "satisfiable": self.complete,
            "reason": self.reason,
            "requests": [r.to_dict() for r in self.requests],
            "drops": [drop_to_dict(r) for r in self.drops],
            "unresolved": list(self.unresolved),
            "isolated_pairs": sorted(sorted(p) for p in self.isolated_pairs),
        }


def drop_to_dict(rule: FlowRule) -> dict[str, Any]:
    """JSON form of an isolation drop rule."""
    return {
        "dpid": dpid_str(rule.dpid),
        "priority": rule.priority,
        "match": rule.match.to_dict(),
        "actions": "drop",
        "cookie": f"0x{rule.cookie:016x}",
    }


def isolation_cookie(intent_number: int) -> int:
    """The cookie of every drop rule of isolation intent ``intent_number``."""
    return Cookie(KIND_ISOLATION, intent_number, 0).encode()


def compile_intent(intent: Intent, directory: HostDirectory) -> Compilation:
    """Compile ``intent`` against the hosts ``directory`` knows now."""
    spec = intent.spec
    match spec:
        case ConnectivitySpec():
            return _connectivity(intent.id, spec, directory)
        case LowLatencySpec():
            return _low_latency(intent.id, spec, directory)
        case IsolationSpec():
            return _isolation(intent, spec, directory)
        case _:
            assert_never(spec)


def _unknown(out: Compilation, endpoints: tuple[str, ...] | list[str]) -> None:
    for endpoint in endpoints:
        out.unresolved.append(endpoint)
        out.problems.append(f"unknown endpoint {endpoint!r}")


def _connectivity(ident: str, spec: ConnectivitySpec, directory: HostDirectory) -> Compilation:
    """The spec's whole reservation request, owned by the intent."""
    out = Compilation(ident, Objective.LATENCY if spec.prefer_latency else Objective.COST)
    src, dst = directory.find_host(spec.src), directory.find_host(spec.dst)
    _unknown(out, [e for e, h in ((spec.src, src), (spec.dst, dst)) if h is None])
    if src is not None and dst is not None and src.mac == dst.mac:
        out.problems.append(f"src {spec.src!r} and dst {spec.dst!r} are the same host")
    if out.problems:
        return out
    out.requests.append(spec.to_request(origin_ref=ident))
    return out


def _low_latency(ident: str, spec: LowLatencySpec, directory: HostDirectory) -> Compilation:
    """A lowest-latency request per unordered pair, per port and protocol (or all IPv4)."""
    out = Compilation(ident, Objective.LATENCY)
    group = resolve_group(spec.endpoints, directory)
    _unknown(out, group.missing)
    if len(group.hosts) < 2 and not group.missing:
        out.problems.append(f"endpoints name {len(group.hosts)} known host(s); two are needed")
    services: list[tuple[int | None, int | None]] = [
        (IP_PROTOS[proto], port) for port in spec.ports for proto in spec.protocols
    ] or [(None, None)]
    for a, b in itertools.combinations(group.hosts, 2):
        for ip_proto, port in services:
            out.requests.append(
                ReservationRequest(
                    src=a.name,
                    dst=b.name,
                    max_latency_ms=spec.max_latency_ms,
                    ip_proto=ip_proto,
                    dst_port=port,
                    origin=Origin.INTENT,
                    origin_ref=ident,
                    prefer_latency=True,
                )
            )
    return out


def _isolation(intent: Intent, spec: IsolationSpec, directory: HostDirectory) -> Compilation:
    """Drops at each source host's switch, for IPv4 and for any Ethernet frame, both ways."""
    out = Compilation(intent.id, Objective.COST)
    side_a, side_b = resolve_group(spec.a, directory), resolve_group(spec.b, directory)
    _unknown(out, side_a.missing + side_b.missing)
    cookie = isolation_cookie(intent.number)
    unattached: dict[str, Host] = {}
    for a, b in itertools.product(side_a.hosts, side_b.hosts):
        if a.mac == b.mac:
            continue
        out.isolated_pairs.add(frozenset((a.mac, b.mac)))
        for src, dst in ((a, b), (b, a)):
            if src.attachment is None:
                unattached[src.mac] = src
                continue
            out.drops.extend(_drops(src, dst, cookie))
    for host in unattached.values():
        out.unresolved.append(host.name)
        out.problems.append(f"host {host.name!r} has no known switch port yet")
    out.drops = sorted(set(out.drops), key=_drop_order)
    return out


def _drops(src: Host, dst: Host, cookie: int) -> list[FlowRule]:
    assert src.attachment is not None
    dpid = src.attachment.dpid
    rules = [FlowRule(dpid, ISOLATION, Match(eth_src=src.mac, eth_dst=dst.mac), (), cookie)]
    if src.ip and dst.ip:
        ip = Match(eth_type=ETH_TYPE_IPV4, ipv4_src=src.ip, ipv4_dst=dst.ip)
        rules.append(FlowRule(dpid, ISOLATION, ip, (), cookie))
    return rules


def _drop_order(rule: FlowRule) -> tuple[int, str]:
    return (rule.dpid, repr(sorted(rule.match.to_dict().items())))
