"""Reactive shortest-path unicast between two hosts, planned on the first packet.

Rules match (in_port, eth_type IPv4, eth_src, eth_dst) on every switch of the path. Matching the
in_port keeps an old rule from catching packets after a path change; matching IPv4 keeps the
network IPv4-only (ARP goes to the controller above these rules, IPv6 is dropped below them).

Install order: every list is ordered downstream first, ingress last. Installed in that order
(with a barrier before the ingress rule), a packet never meets a half-built path: until the
ingress rule exists it still goes to the controller.
"""

from __future__ import annotations

import networkx as nx

from topology.model import Attachment, Dpid, PortNo
from vnstitch.rules.cookies import KIND_BASELINE, Cookie
from vnstitch.rules.model import ETH_TYPE_IPV4, FlowRule, Match, Output
from vnstitch.rules.priorities import BASELINE_UNICAST

UNICAST_OWNER = 2  # cookie owner of all reactive unicast rules
UNICAST_IDLE_TIMEOUT_S = 60


def unicast_cookie(version: int = 0) -> int:
    """Cookie of reactive unicast rules (kind BASELINE, owner UNICAST_OWNER)."""
    return Cookie(KIND_BASELINE, UNICAST_OWNER, version).encode()


def shortest_path(graph: nx.DiGraph, src: Dpid, dst: Dpid) -> list[Dpid] | None:
    """Fewest hops from ``src`` to ``dst``; ties go to the smallest dpid at each step."""
    if src == dst:
        return [src]
    if src not in graph or dst not in graph:
        return None
    to_dst: dict[Dpid, int] = nx.single_source_shortest_path_length(graph.reverse(copy=False), dst)
    if src not in to_dst:
        return None
    path = [src]
    while path[-1] != dst:
        here = path[-1]
        path.append(min(n for n in graph.successors(here) if to_dst.get(n) == to_dst[here] - 1))
    return path


def shortest_path_rules(
    graph: nx.DiGraph,
    src: Attachment,
    dst: Attachment,
    src_mac: str,
    dst_mac: str,
    cookie: int | None = None,
    idle_timeout: int = UNICAST_IDLE_TIMEOUT_S,
) -> list[FlowRule] | None:
    """Rules carrying ``src_mac -> dst_mac`` frames, downstream first; None if no path.

    ``graph`` is the NTD graph: edges ``u -> v`` with ``src_port`` and ``dst_port``. Hosts on the
    same port need no rule (empty list).
    """
    path = shortest_path(graph, src.dpid, dst.dpid)
    if path is None:
        return None
    if src == dst:
        return []
    cookie = unicast_cookie() if cookie is None else cookie
    rules: list[FlowRule] = []
    for i, dpid in enumerate(path):
        in_port: PortNo = src.port if i == 0 else graph.edges[path[i - 1], dpid]["dst_port"]
        out_port: PortNo = (
            dst.port if i == len(path) - 1 else graph.edges[dpid, path[i + 1]]["src_port"]
        )
        match = Match(in_port=in_port, eth_type=ETH_TYPE_IPV4, eth_src=src_mac, eth_dst=dst_mac)
        rules.append(
            FlowRule(
                dpid,
                BASELINE_UNICAST,
                match,
                (Output(out_port),),
                cookie,
                idle_timeout=idle_timeout,
            )
        )
    rules.reverse()
    return rules


def plan_pair(
    graph: nx.DiGraph,
    a: Attachment,
    b: Attachment,
    a_mac: str,
    b_mac: str,
    cookie: int | None = None,
    idle_timeout: int = UNICAST_IDLE_TIMEOUT_S,
) -> list[FlowRule] | None:
    """Both directions, the return path ``b -> a`` first, ``a -> b`` ingress last; all or none.

    ``a`` sent the packet that triggered the plan: its reply path is ready before its own
    packets stop reaching the controller.
    """
    back = shortest_path_rules(graph, b, a, b_mac, a_mac, cookie, idle_timeout)
    forth = shortest_path_rules(graph, a, b, a_mac, b_mac, cookie, idle_timeout)
    if back is None or forth is None:
        return None
    return back + forth
