"""Write the controller's TOML config for a network the test bed is about to build.

Names, addresses and host ports follow ``build_network`` exactly (hosts are attached first,
so a switch's hosts are on ports 1..n), so the inventory is known before any host talks.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from pathlib import Path

import networkx as nx

from testbed import naming
from testbed.network import _sorted_nodes


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_for(
    graph: nx.Graph,
    prefix: str,
    *,
    hosts_per_switch: int = 1,
    switch_zones: Mapping[Hashable, str] | None = None,
    controller: Mapping[str, float] | None = None,
    predictor: Mapping[str, str | float | bool] | None = None,
    extra: str = "",
    inventory: bool = True,
) -> str:
    """TOML: switches (with zones), link capacities from ``bw_mbps``, the host inventory.

    Without ``inventory`` the controller knows no host until it sends a packet.
    """
    nodes = _sorted_nodes(graph)
    names = {node: naming.switch_name(prefix, i) for i, node in enumerate(nodes, 1)}
    lines = ["[controller]"]
    for key, value in (controller or {}).items():
        lines.append(f"{key} = {value}")
    if predictor:
        lines += ["", "[predictor]"]
        for option, setting in predictor.items():
            text = _q(setting) if isinstance(setting, str) else str(setting).lower()
            lines.append(f"{option} = {text}")
    for node in nodes:
        zone = (switch_zones or {}).get(node, graph.nodes[node].get("zone", "default"))
        lines += ["", "[[switch]]", f"name = {_q(names[node])}", f"zone = {_q(zone)}"]
        lat, lon = graph.nodes[node].get("lat"), graph.nodes[node].get("lon")
        if isinstance(lat, float | int) and isinstance(lon, float | int):  # Zoo / SNDlib
            lines += [f"latitude = {float(lat)}", f"longitude = {float(lon)}"]
    for u, v, attrs in graph.edges(data=True):
        if attrs.get("bw_mbps") or attrs.get("zone"):
            lines += ["", "[[link]]", f"a = {_q(names[u])}", f"b = {_q(names[v])}"]
            if attrs.get("bw_mbps"):
                lines.append(f"capacity_mbps = {float(attrs['bw_mbps'])}")
            if attrs.get("zone"):
                lines.append(f"zone = {_q(attrs['zone'])}")
    index = 0
    for node in nodes:
        for port in range(1, int(graph.nodes[node].get("hosts", hosts_per_switch)) + 1):
            index += 1
            if not inventory:
                continue
            name = naming.host_name(index)
            lines += [
                "",
                "[[host]]",
                f"name = {_q(name)}",
                f"mac = {_q(naming.host_mac(index))}",
                f"ip = {_q(naming.host_ip(index))}",
                f"switch = {_q(names[node])}",
                f"port = {port}",
            ]
            zone = graph.nodes[node].get("host_zone")
            if zone:
                lines.append(f"zone = {_q(zone)}")
    return "\n".join(lines) + "\n" + extra


def write_config(path: Path, graph: nx.Graph, prefix: str, **kwargs: object) -> Path:
    """Write :func:`config_for` to ``path`` and return it."""
    path.write_text(config_for(graph, prefix, **kwargs))  # type: ignore[arg-type]
    return path
