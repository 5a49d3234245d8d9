"""Flow entries as the switches report them (or as a plan would put them), and matching.

An :class:`Entry` is one flow entry: priority, cookie, match (OXM field names and values,
a masked field's value a ``(value, mask)`` pair), meter, apply-actions, write-actions,
goto-table. :func:`entry_of_report` builds one from what the adapter reports
(``vnstitch.core.events.FlowCounters``, described here by the :class:`ReportedFlow`
protocol), :func:`entry_of_rule` from a planned ``FlowRule``. ``describe`` names it the way
reasons do: ``cookie 0x2100000000010000 priority 65000 match {eth_src=…, eth_dst=…}``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, Protocol, assert_never

from topology.model import dpid_str
from vnstitch.rules.model import (
    PORT_CONTROLLER,
    FlowRule,
    Group,
    Output,
    ReportedAction,
    SetField,
    UnknownAction,
)
from vnstitch.verify.packets import ANY, MAC_FIELDS

SwitchPort = tuple[int, int]
OFPP_MAX = 0xFFFFFF00  # port numbers above are reserved (IN_PORT, FLOOD, CONTROLLER, ...)
PORT_NAMES = {
    0xFFFFFFF8: "IN_PORT",
    0xFFFFFFF9: "TABLE",
    0xFFFFFFFA: "NORMAL",
    0xFFFFFFFB: "FLOOD",
    0xFFFFFFFC: "ALL",
    PORT_CONTROLLER: "CONTROLLER",
    0xFFFFFFFE: "LOCAL",
    0xFFFFFFFF: "ANY",
}
FIELD_ORDER = (
    "in_port",
    "eth_type",
    "eth_src",
    "eth_dst",
    "vlan_vid",
    "ipv4_src",
    "ipv4_dst",
    "ip_proto",
    "tcp_src",
    "tcp_dst",
    "udp_src",
    "udp_dst",
    "arp_op",
    "arp_spa",
    "arp_tpa",
    "arp_sha",
    "arp_tha",
)
_RANK = {name: i for i, name in enumerate(FIELD_ORDER)}

MatchItems = tuple[tuple[str, Any], ...]
Effect = tuple[Any, ...]


def port_name(port: int) -> str:
    """A port number, or the name of a reserved port."""
    return PORT_NAMES.get(port, str(port))


def _format_value(name: str, value: Any) -> str:
    if isinstance(value, tuple):
        return f"{_format_value(name, value[0])}/{_format_value(name, value[1])}"
    if name == "eth_type" and isinstance(value, int):
        return f"0x{value:04x}"
    return str(value)


def format_match(match: Iterable[tuple[str, Any]]) -> str:
    """``{in_port=1, eth_type=0x0800, ipv4_dst=10.0.0.3}``, fields in a fixed order."""
    ordered = sorted(match, key=lambda kv: (_RANK.get(kv[0], len(_RANK)), kv[0]))
    return "{" + ", ".join(f"{k}={_format_value(k, v)}" for k, v in ordered) + "}"


def _norm_value(name: str, value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_norm_value(name, v) for v in value)
    return value.lower() if name in MAC_FIELDS and isinstance(value, str) else value


def match_fields(match: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """A reported or planned match as (field names, values), in the order given; MACs in lower
    case, a masked field's value a (value, mask) pair."""
    names = tuple(match)
    values = tuple(match.values())
    if not MAC_FIELDS.isdisjoint(names) or list in map(type, values):
        values = tuple(_norm_value(k, v) for k, v in zip(names, values, strict=True))
    return names, values


class Entry(NamedTuple):
    """One flow entry of switch ``dpid``, planned or as reported; no actions means drop.

    The match is ``names`` and ``values`` side by side (``match`` pairs them), so an entry's
    hash key in its table is ``values`` itself. Build entries with :func:`make_entry`, which
    sets ``fast_out``: the single plain output port when that is all the entry does.
    """

    dpid: int
    priority: int
    cookie: int
    names: tuple[str, ...]
    values: tuple[Any, ...]
    meter_id: int | None = None
    actions: tuple[ReportedAction, ...] = ()
    write_actions: tuple[ReportedAction, ...] = ()
    goto_table: int | None = None
    other_instructions: tuple[str, ...] = ()
    table_id: int = 0
    fast_out: int | None = None

    @property
    def match(self) -> MatchItems:
        """The match as (field, value) pairs."""
        return tuple(zip(self.names, self.values, strict=True))

    @property
    def effect(self) -> Effect:
        """What the entry does to a packet (two entries with equal effects are interchangeable)."""
        return (
            self.meter_id,
            self.actions,
            self.write_actions,
            self.goto_table,
            self.other_instructions,
        )

    def match_dict(self) -> dict[str, Any]:
        """The match as a dict (masked fields as (value, mask))."""
        return dict(zip(self.names, self.values, strict=True))

    def describe(self) -> str:
        """``cookie 0x2100000000010000 priority 65000 match {eth_src=…, eth_dst=…}``."""
        match = format_match(self.match)
        return f"cookie 0x{self.cookie:016x} priority {self.priority} match {match}"

    def describe_actions(self) -> str:
        """``meter 3, output:2`` / ``drop``."""
        parts = [] if self.meter_id is None else [f"meter {self.meter_id}"]
        parts += [_action_text(a) for a in self.actions]
        parts += [f"write {_action_text(a)}" for a in self.write_actions]
        if self.goto_table is not None:
            parts.append(f"goto_table:{self.goto_table}")
        parts += list(self.other_instructions)
        has_effect = self.actions or self.write_actions or self.goto_table is not None
        return ", ".join(parts if has_effect else [*parts, "drop"])

    def to_dict(self) -> dict[str, Any]:
        """JSON form (for the trace the REST API returns)."""
        return {
            "dpid": dpid_str(self.dpid),
            "cookie": f"0x{self.cookie:016x}",
            "priority": self.priority,
            "match": {k: _format_value(k, v) for k, v in self.match},
            "actions": self.describe_actions(),
        }


def make_entry(
    dpid: int,
    priority: int,
    cookie: int,
    match: Mapping[str, Any],
    meter_id: int | None = None,
    actions: tuple[ReportedAction, ...] = (),
    write_actions: tuple[ReportedAction, ...] = (),
    goto_table: int | None = None,
    other_instructions: tuple[str, ...] = (),
    table_id: int = 0,
) -> Entry:
    """An entry, with ``fast_out`` worked out."""
    names, values = match_fields(match)
    fast_out = None
    if len(actions) == 1 and not write_actions and goto_table is None and not other_instructions:
        only = actions[0]
        if type(only) is Output and only.port < OFPP_MAX:
            fast_out = only.port
    return Entry(
        dpid,
        priority,
        cookie,
        names,
        values,
        meter_id,
        actions,
        write_actions,
        goto_table,
        other_instructions,
        table_id,
        fast_out,
    )


def _action_text(action: ReportedAction) -> str:
    match action:
        case Output(port):
            return f"output:{port_name(port)}"
        case SetField(name, value):
            return f"set_field:{name}={value}"
        case Group(group_id):
            return f"group:{group_id}"
        case UnknownAction(name):
            return name
        case _:
            assert_never(action)


class ReportedFlow(Protocol):
    """A flow entry as the adapter reports it (``vnstitch.core.events.FlowCounters``)."""

    @property
    def priority(self) -> int: ...
    @property
    def cookie(self) -> int: ...
    @property
    def match(self) -> Mapping[str, Any]: ...
    @property
    def table_id(self) -> int: ...
    @property
    def meter_id(self) -> int | None: ...
    @property
    def actions(self) -> tuple[ReportedAction, ...]: ...
    @property
    def write_actions(self) -> tuple[ReportedAction, ...]: ...
    @property
    def goto_table(self) -> int | None: ...
    @property
    def other_instructions(self) -> tuple[str, ...]: ...


def entry_of_report(dpid: int, flow: ReportedFlow) -> Entry:
    """An observed entry from one reported flow."""
    return make_entry(
        dpid,
        flow.priority,
        flow.cookie,
        flow.match,
        flow.meter_id,
        flow.actions,
        flow.write_actions,
        flow.goto_table,
        flow.other_instructions,
        flow.table_id,
    )


def entry_of_rule(rule: FlowRule) -> Entry:
    """The entry a planned rule becomes on its switch (what the switch would report)."""
    return make_entry(
        rule.dpid,
        rule.priority,
        rule.cookie,
        rule.match.to_dict(),
        rule.meter_id,
        rule.actions,
        table_id=rule.table_id,
    )


# ---- matching ---------------------------------------------------------------------------
NO, YES, MAYBE = 0, 1, 2
_MISSING = object()


def _as_int(value: Any) -> int:
    if isinstance(value, int):
        return value
    text = str(value)
    try:
        return int(ipaddress.ip_address(text))
    except ValueError:
        return int(text.replace(":", "").replace("-", ""), 16)


def _masked_equal(have: Any, want: tuple[Any, Any]) -> bool:
    mask = _as_int(want[1])
    return _as_int(have) & mask == _as_int(want[0]) & mask


def match_state(entry: Entry, fields: Mapping[str, Any]) -> int:
    """NO, YES, or MAYBE (the entry names a field the packet class leaves open)."""
    maybe = False
    for name, want in zip(entry.names, entry.values, strict=True):
        have = fields.get(name, _MISSING)
        if have is _MISSING:
            return NO
        if have is ANY:
            maybe = True
        elif isinstance(want, tuple):
            if not _masked_equal(have, want):
                return NO
        elif have != want:
            return NO
    return MAYBE if maybe else YES
