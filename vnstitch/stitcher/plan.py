"""Compile a chosen path into a rule plan: flow entries along it, a meter at each ingress.

Rules match IPv4 from src to dst (plus ``in_port`` on every hop, and optionally the L4 protocol
and destination port), output along the path, and carry a cookie naming the reservation and its
version (``vnstitch.rules.cookies``). The ingress switch of each direction applies a drop meter,
so the flow cannot take more than it holds. How that meter is sized (a rate above the bandwidth,
so TCP reaches it, and a burst) is ``vnstitch.rules.meters``; the ledger books the meter's rate
-- what the meter actually lets through.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import networkx as nx

from topology.model import Attachment, Host, LinkId
from vnstitch.resources.keys import NodeResource, ResourceKind
from vnstitch.rules.cookies import (
    ARP_RESPONDER_COOKIE,
    KIND_INTENT,
    KIND_PREDICTED,
    KIND_RESERVATION,
    Cookie,
)
from vnstitch.rules.meters import meter_rate_mbps, reservation_meter
from vnstitch.rules.model import (
    ARP_REPLY,
    ARP_REQUEST,
    ETH_TYPE_ARP,
    ETH_TYPE_IPV4,
    PORT_IN_PORT,
    FlowRule,
    Match,
    Output,
    SetField,
)
from vnstitch.rules.priorities import (
    ARP_RESPONDER,
    RESERVATION,
    RESERVATION_PROTOCOL,
    RESERVATION_SERVICE,
)
from vnstitch.stitcher.reservation import Origin, PathPlan, ReservationRequest

COOKIE_KINDS = {
    Origin.REQUEST: KIND_RESERVATION,
    Origin.CONFIG: KIND_RESERVATION,
    Origin.PREDICTED: KIND_PREDICTED,
    Origin.INTENT: KIND_INTENT,
}


def reservation_priority(request: ReservationRequest) -> int:
    """More specific matches win: overlapping reservations of one host pair (all IPv4, one
    protocol, one service port) never tie at one priority, which OpenFlow leaves undefined."""
    if request.dst_port is not None:
        return RESERVATION_SERVICE
    return RESERVATION_PROTOCOL if request.ip_proto is not None else RESERVATION


def reservation_cookie(origin: Origin, owner: int, version: int) -> int:
    """The cookie of one version of a reservation's rules."""
    return Cookie(COOKIE_KINDS[origin], owner, version & 0xFFFF).encode()


def _match(request: ReservationRequest, src: Host, dst: Host, in_port: int, reverse: bool) -> Match:
    """The match of one direction; on the reverse direction the service port is the source."""
    if src.ip and dst.ip:
        port = request.dst_port
        tcp, udp = request.ip_proto == 6, request.ip_proto == 17
        return Match(
            in_port=in_port,
            eth_type=ETH_TYPE_IPV4,
            ipv4_src=src.ip,
            ipv4_dst=dst.ip,
            ip_proto=request.ip_proto,
            tcp_dst=port if tcp and not reverse else None,
            udp_dst=port if udp and not reverse else None,
            tcp_src=port if tcp and reverse else None,
            udp_src=port if udp and reverse else None,
        )
    return Match(in_port=in_port, eth_type=ETH_TYPE_IPV4, eth_src=src.mac, eth_dst=dst.mac)


def _direction(
    graph: nx.DiGraph,
    path: tuple[int, ...],
    src: Host,
    dst: Host,
    request: ReservationRequest,
    cookie: int,
    meter_id: int | None,
    reverse: bool = False,
) -> tuple[list[FlowRule], FlowRule]:
    """(downstream rules, downstream first; the ingress rule) for one direction."""
    assert src.attachment is not None and dst.attachment is not None
    rules = []
    for i, dpid in enumerate(path):
        in_port = src.attachment.port if i == 0 else graph.adj[path[i - 1]][dpid]["dst_port"]
        last = i == len(path) - 1
        out_port = dst.attachment.port if last else graph.adj[dpid][path[i + 1]]["src_port"]
        rules.append(
            FlowRule(
                dpid,
                reservation_priority(request),
                _match(request, src, dst, in_port, reverse),
                (Output(out_port),),
                cookie,
                meter_id=meter_id if i == 0 else None,
            )
        )
    ingress = rules[0]
    return list(reversed(rules[1:])), ingress


def path_links(graph: nx.DiGraph, path: tuple[int, ...]) -> list[LinkId]:
    """The directed LinkIds along a path of dpids."""
    out = []
    for u, v in itertools.pairwise(path):
        edge = graph.adj[u][v]
        out.append(LinkId(u, edge["src_port"], v, edge["dst_port"]))
    return out


def compile_plan(
    graph: nx.DiGraph,
    owner: int,
    version: int,
    path: tuple[int, ...],
    src: Host,
    dst: Host,
    request: ReservationRequest,
    meter_ids: Mapping[int, int],
    latency_ms: float | None,
) -> PathPlan:
    """The rules, meters and demands of ``request`` along ``path`` (src switch first).

    ``meter_ids`` gives the meter id to use on each ingress switch (src's, and dst's when
    bidirectional). Both hosts must be attached at the path's ends.
    """
    if not isinstance(src.attachment, Attachment) or not isinstance(dst.attachment, Attachment):
        raise ValueError("both endpoints must be attached to a switch")
    cookie = reservation_cookie(request.origin, owner, version)
    rate = meter_rate_mbps(request.bandwidth_mbps)
    metered = request.bandwidth_mbps > 0
    reverse = tuple(reversed(path)) if request.bidirectional else ()
    transit, ingress_f = _direction(
        graph, path, src, dst, request, cookie, meter_ids[path[0]] if metered else None
    )
    rules, ingress = list(transit), [ingress_f]
    demands: dict[object, float] = {}
    meters = []
    if metered:
        meters.append(reservation_meter(path[0], meter_ids[path[0]], rate, cookie))
    for link in path_links(graph, path):
        demands[link] = rate
    if reverse:
        transit_r, ingress_r = _direction(
            graph,
            reverse,
            dst,
            src,
            request,
            cookie,
            meter_ids[reverse[0]] if metered else None,
            reverse=True,
        )
        rules += transit_r
        ingress.append(ingress_r)
        if metered:
            meters.append(reservation_meter(reverse[0], meter_ids[reverse[0]], rate, cookie))
        for link in path_links(graph, reverse):
            demands[link] = rate
    rules += arp_responders(src, dst, ARP_RESPONDER_COOKIE, request.bidirectional)
    for rule in rules + ingress:
        key = NodeResource(ResourceKind.FLOWS, rule.dpid)
        demands[key] = demands.get(key, 0) + 1
    for meter in meters:
        key = NodeResource(ResourceKind.METERS, meter.dpid)
        demands[key] = demands.get(key, 0) + 1
    for host in (src, dst):  # compute and storage asked for at each endpoint
        for kind, amount in (
            (ResourceKind.CPU, request.cpu),
            (ResourceKind.MEMORY_MB, request.memory_mb),
            (ResourceKind.STORAGE_GB, request.storage_gb),
        ):
            if amount > 0:
                demands[NodeResource(kind, host.name)] = amount
    return PathPlan(
        version=version,
        path=path,
        reverse_path=reverse,
        rules=tuple(rules),
        ingress=tuple(ingress),
        meters=tuple(meters),
        demands=demands,
        latency_ms=latency_ms,
        meter_rate_mbps=rate if metered else 0.0,
    )


def arp_responder(asker: Host, target: Host, cookie: int) -> FlowRule | None:
    """Answer ``asker``'s ARP request for ``target`` at the asker's own switch port.

    Stitched traffic never visits the controller, its address resolution included: the reply
    is built in the data plane from constants known when the reservation is stitched.
    """
    att = asker.attachment
    if att is None or not asker.ip or not target.ip:
        return None
    match = Match(in_port=att.port, eth_type=ETH_TYPE_ARP, arp_op=ARP_REQUEST, arp_tpa=target.ip)
    actions = (
        SetField("eth_dst", asker.mac),
        SetField("eth_src", target.mac),
        SetField("arp_op", ARP_REPLY),
        SetField("arp_tha", asker.mac),
        SetField("arp_tpa", asker.ip),
        SetField("arp_sha", target.mac),
        SetField("arp_spa", target.ip),
        Output(PORT_IN_PORT),
    )
    return FlowRule(att.dpid, ARP_RESPONDER, match, actions, cookie)


def arp_responders(src: Host, dst: Host, cookie: int, both: bool) -> list[FlowRule]:
    """Responders for the src side (and the dst side of a bidirectional reservation)."""
    pairs = [(src, dst), (dst, src)] if both else [(src, dst)]
    return [r for a, t in pairs if (r := arp_responder(a, t, cookie)) is not None]
