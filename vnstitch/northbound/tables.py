"""Aligned text tables for the CLI: topology, reservations, intents and forecasts.

Times are shown as the API gives them, wall-clock UTC in RFC 3339 (``2026-11-29T21:17:35.123Z``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from vnstitch.clock import TimeFormatError, parse_rfc3339, rfc3339

Row = Sequence[Any]


def cell(value: Any) -> str:
    """One value as table text: ``-`` for null, short floats, comma-joined lists."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value) if value else "-"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def utc_time(value: Any) -> Any:
    """An RFC 3339 time (any offset) or a Unix time, as RFC 3339 UTC; anything else unchanged."""
    try:
        if isinstance(value, str):
            return rfc3339(parse_rfc3339(value))
        if isinstance(value, int | float) and not isinstance(value, bool):
            return rfc3339(value)
    except (TimeFormatError, OverflowError, OSError, ValueError):  # not a time: shown as is
        pass
    return value


def _numeric(values: Sequence[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in present
    )


def render_table(headers: Sequence[str], rows: Sequence[Row]) -> str:
    """Columns padded to their widest cell; numeric columns right-aligned; no trailing blanks."""
    texts = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in texts]) for i, h in enumerate(headers)]
    right = [_numeric([row[i] for row in rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(r) for r in texts)
    return "\n".join(out)


def short_dpid(dpid: Any) -> str:
    """A 16-hex-digit datapath id without its leading zeros."""
    text = str(dpid)
    return text.lstrip("0") or "0"


def _section(title: str, headers: Sequence[str], rows: Sequence[Row]) -> str:
    if not rows:
        return f"{title}: none"
    return f"{title} ({len(rows)}):\n{render_table(headers, rows)}"


def topology_text(doc: Mapping[str, Any]) -> str:
    """Switch, link and host tables of a ``GET /v1/topology`` document."""
    switches = doc.get("switches") or []
    names = {s.get("dpid"): s.get("name") or short_dpid(s.get("dpid")) for s in switches}

    def port(dpid: Any, port_no: Any) -> str:
        return f"{names.get(dpid) or short_dpid(dpid)}:{port_no}"

    switch_rows = [
        (
            s.get("name"),
            s.get("dpid"),
            s.get("zone"),
            sum(1 for p in s.get("ports") or [] if p.get("up")),
            len(s.get("ports") or []),
        )
        for s in switches
    ]
    link_rows = [
        (
            port(lk.get("src"), lk.get("src_port")),
            port(lk.get("dst"), lk.get("dst_port")),
            lk.get("capacity_mbps"),
            lk.get("latency_ms"),
            lk.get("zone"),
        )
        for lk in doc.get("links") or []
    ]
    host_rows = []
    for host in doc.get("hosts") or []:
        att = host.get("attachment")
        where = port(att.get("dpid"), att.get("port")) if isinstance(att, dict) else None
        get = host.get
        host_rows.append((get("name"), get("ip"), get("mac"), get("zone"), where, get("source")))
    return "\n\n".join(
        [
            _section("switches", ("name", "dpid", "zone", "ports up", "ports"), switch_rows),
            _section(
                "links",
                ("src", "dst", "capacity Mbit/s", "latency ms", "zone"),
                link_rows,
            ),
            _section("hosts", ("name", "ip", "mac", "zone", "attached", "source"), host_rows),
        ]
    )


def reservations_text(reservations: Sequence[Mapping[str, Any]]) -> str:
    """The reservation table: id, state, endpoints, bandwidth, path, protection and reason.

    ``protected``: "yes" while a backup is installed around every link, "no" when protection
    was asked for but is not in force (a failure not yet re-protected), "-" when not asked."""
    rows = [
        (
            r.get("id"),
            r.get("state"),
            r.get("src"),
            r.get("dst"),
            r.get("bandwidth_mbps"),
            " > ".join(short_dpid(d) for d in r.get("path") or []) or None,
            ("yes" if r.get("protected") else "no") if r.get("protection") else None,
            r.get("reason"),
        )
        for r in reservations
    ]
    headers = ("id", "state", "src", "dst", "bandwidth Mbit/s", "path", "protected", "reason")
    return _section("reservations", headers, rows)


def intents_text(intents: Sequence[Mapping[str, Any]]) -> str:
    """The intent table: id, kind, state and reason."""
    rows = [(i.get("id"), i.get("kind"), i.get("state"), i.get("reason")) for i in intents]
    return _section("intents", ("id", "kind", "state", "reason"), rows)


def intent_text(intent: Mapping[str, Any]) -> str:
    """One intent: its header fields, its spec and the reservations it compiled to."""
    lines = [f"{key}: {cell(intent.get(key))}" for key in ("id", "kind", "state", "reason")]
    window = intent.get("window")
    if isinstance(window, dict):  # a windowed connectivity intent
        end = utc_time(window.get("end")) if window.get("end") else "open-ended"
        lines.append(f"window: {utc_time(window.get('start'))} - {end}")
    if intent.get("next_occurrence"):
        lines.append(f"next_occurrence: {utc_time(intent.get('next_occurrence'))}")
    spec = intent.get("spec")
    if isinstance(spec, dict) and spec:
        lines.append("spec:")
        lines.extend(f"  {key}: {cell(value)}" for key, value in spec.items())
    reservations = intent.get("reservations") or []
    if all(isinstance(r, dict) for r in reservations):
        lines.append(reservations_text(reservations))
    else:
        lines.append(f"reservations: {cell(reservations)}")
    return "\n".join(lines)


def forecasts_text(forecasts: Sequence[Mapping[str, Any]]) -> str:
    """The forecast table: pair, mean, upper bound (with its quantile), validity and model."""
    rows = [
        (
            " -> ".join(str(p) for p in f.get("pair") or []),
            f.get("mean_mbps"),
            f.get("upper_mbps"),
            f.get("quantile"),
            utc_time(f.get("valid_until")),
            f.get("age_s"),
            f.get("model"),
        )
        for f in forecasts
    ]
    headers = (
        "pair",
        "mean Mbit/s",
        "upper Mbit/s",
        "quantile",
        "valid until",
        "age s",
        "model",
    )
    return _section("forecasts", headers, rows)


def anomalies_text(anomalies: Sequence[Mapping[str, Any]]) -> str:
    """The predictor's latest anomalies: when, pair, what it saw against its interval."""
    rows = [
        (
            utc_time(a.get("time")),
            " -> ".join(str(p) for p in a.get("pair") or []),
            a.get("direction"),
            a.get("observed_mbps"),
            f"{a.get('lower_mbps')}-{a.get('upper_mbps')}",
            a.get("steps_outside"),
        )
        for a in anomalies
    ]
    headers = ("time", "pair", "traffic", "Mbit/s", "interval Mbit/s", "steps outside")
    return _section("anomalies", headers, rows)


def trace_text(doc: Mapping[str, Any]) -> str:
    """``vnstitch trace ID``: each direction's verdict and its hops through the switches."""
    lines = [f"reservation {doc.get('id')} ({doc.get('state')})"]
    if not doc.get("tables_reported"):
        lines.append("(not every switch on the path has reported its tables yet)")
    for direction in doc.get("directions") or []:
        lines += ["", f"{direction.get('direction')}: {direction.get('verdict')}"]
        if direction.get("reason"):
            lines.append(f"  {direction['reason']}")
        for branch in (direction.get("trace") or {}).get("branches") or []:
            rows = []
            for hop in branch.get("hops") or []:
                entry = hop.get("entry") or {}
                rows.append(
                    (
                        short_dpid(hop.get("dpid")),
                        cell(hop.get("in_port")),
                        cell(entry.get("cookie")),
                        cell(entry.get("priority")),
                        cell(hop.get("meter")),
                        ",".join(str(p) for p in hop.get("out_ports") or []) or "-",
                    )
                )
            headers = ("switch", "in", "cookie", "priority", "meter", "out")
            lines.append(render_table(headers, rows))
            lines.append(f"  -> {(branch.get('outcome') or {}).get('text')}")
    return "\n".join(lines)
