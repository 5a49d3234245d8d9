"""The switches' tables as they reported them, indexed so a packet is looked up, not scanned.

:class:`ObservedNetwork` holds, per switch, the flow entries (table 0), meters and groups a
switch reported, the links between switches and the ports known to be down. It is filled one
switch at a time (``set_flows`` when that switch's flow-stats reply arrives), so loading never
costs more than one switch's reply at once.

Lookup (:meth:`SwitchTable.lookup`) is tuple-space search: entries are grouped by the set of
fields they match (their *shape*; e.g. every reservation entry matches ``in_port, eth_type,
ipv4_src, ipv4_dst``) and, within a shape, hashed by their values. A packet costs one hash probe
per shape whose entries could outrank what was already found, shapes taken highest priority
first. Shapes that cannot apply to a packet (another eth_type, a field the packet lacks) are
pruned once per packet layout (:data:`vnstitch.verify.packets.Profile`) and cached. Entries with
masked fields are few and are matched one by one.

A packet field that is :data:`~vnstitch.verify.packets.ANY` makes an entry naming that field a
*partial* match: it catches part of the packet class. ``lookup`` returns those that outrank the
entry that catches the whole class, and the tracer splits the class there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any, Protocol

from vnstitch.rules.fake_table import LinkEnds
from vnstitch.rules.model import FlowRule, GroupSpec, MeterSpec
from vnstitch.verify.entries import (
    MAYBE,
    YES,
    Entry,
    ReportedFlow,
    SwitchPort,
    entry_of_report,
    entry_of_rule,
    match_state,
)
from vnstitch.verify.packets import Packet, Profile


class ReportedMeter(Protocol):
    """A meter as the adapter reports it (``vnstitch.core.events.MeterConfig``)."""

    @property
    def meter_id(self) -> int: ...
    @property
    def rate_kbps(self) -> int | None: ...
    @property
    def burst_kb(self) -> int | None: ...
    @property
    def per_packet(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ObservedMeter:
    """A meter a switch holds: the rate of its (lowest) drop band."""

    meter_id: int
    rate_kbps: int | None  # None: no drop band, or a packets/s meter
    burst_kb: int | None = None
    per_packet: bool = False


# ---- the indexed table ------------------------------------------------------------------
EXACT, PARTIAL, SCAN = 0, 1, 2
Getter = Callable[[Mapping[str, Any]], Any]
PlanStep = tuple[int, int, Getter | None, Any]  # (max priority, mode, key getter, index)
NONE: tuple[Entry, ...] = ()


def _no_fields(_: Mapping[str, Any]) -> Any:
    return ()


def _getter(names: tuple[str, ...]) -> Getter:
    return itemgetter(*names) if names else _no_fields


class _Shape:
    """Entries matching the same fields (in the same order, and eth_type), hashed by values.

    ``index`` keeps only the highest-priority entry of each key: entries with the same match
    at lower priority never handle a packet (the one above matches the same packets). Views
    by a subset of the fields (for packet classes leaving some open) keep every entry.
    """

    __slots__ = ("_views", "entries", "eth_type", "index", "masked", "max_priority", "names")

    def __init__(self, names: tuple[str, ...], eth_type: Any, masked: bool) -> None:
        self.names = names
        self.eth_type = eth_type
        self.masked = masked
        self.entries: list[Entry] = []
        self.index: dict[Any, Entry] = {}
        self.max_priority = -1
        self._views: dict[tuple[str, ...], dict[Any, list[Entry]]] = {}

    def finish(self) -> None:
        self.entries.sort(key=_PRIORITY, reverse=True)
        self.max_priority = self.entries[0].priority
        if self.masked:
            return
        index = self.index
        single = len(self.names) == 1
        for entry in reversed(self.entries):  # lowest first: the highest of a key stays
            index[entry.values[0] if single else entry.values] = entry

    def view(self, names: tuple[str, ...]) -> dict[Any, list[Entry]]:
        """The entries hashed by the values of ``names`` only (highest priority first)."""
        found = self._views.get(names)
        if found is None:
            getter = _getter(names)
            found = {}
            for entry in self.entries:
                found.setdefault(getter(entry.match_dict()), []).append(entry)
            self._views[names] = found
        return found


_PRIORITY = attrgetter("priority")


class Plan:
    """How one switch's table is searched for packets of one profile (cached).

    ``steps``: the shapes that can apply, highest priority first, as (max priority, mode, key
    getter, index). ``exact``: (max priority, getter, index) of the same steps when every one
    is an exact hash probe (no wildcard or masked field involved), else None: the tracer's
    fast path then probes them inline, the first (``head_*``; None when not exact) before any
    loop: a hit there above ``rest_max`` is the answer. ``peers``: the switch's links, by
    output port.
    """

    __slots__ = ("exact", "head_getter", "head_index", "peers", "rest_max", "steps", "table")

    def __init__(self, table: SwitchTable, steps: tuple[PlanStep, ...]) -> None:
        self.table = table
        self.steps = steps
        self.peers: dict[int, SwitchPort] = {}  # out port -> far end; set by ObservedNetwork
        self.exact: tuple[tuple[int, Getter, dict[Any, Entry]], ...] | None = None
        # The first step alone, and the highest priority after it: a hit above that is final.
        self.head_getter: Getter = _no_fields
        self.head_index: dict[Any, Entry] | None = None
        self.rest_max = steps[1][0] if len(steps) > 1 else -1
        if all(mode == EXACT for _, mode, _, _ in steps):
            self.exact = tuple((p, g, i) for p, _, g, i in steps if g is not None)
            if self.exact:
                _, self.head_getter, self.head_index = self.exact[0]


class SwitchTable:
    """Table 0 of one switch, indexed for lookup."""

    def __init__(self, dpid: int, entries: Iterable[Entry]) -> None:
        self.dpid = dpid
        self.entries: list[Entry] = []
        self.other_tables = 0  # entries in tables > 0 (unreachable without goto-table)
        shapes: dict[tuple[tuple[str, ...], Any, bool], _Shape] = {}
        for entry in entries:
            if entry.table_id != 0:
                self.other_tables += 1
                continue
            self.entries.append(entry)
            names, values = entry.names, entry.values
            masked = tuple in map(type, values)
            eth = values[names.index("eth_type")] if "eth_type" in names else None
            key = (names, None if masked and type(eth) is tuple else eth, masked)
            shape = shapes.get(key)
            if shape is None:
                shape = shapes[key] = _Shape(*key)
            shape.entries.append(entry)
        for shape in shapes.values():
            shape.finish()
        self._shapes = sorted(shapes.values(), key=lambda s: -s.max_priority)
        self._plans: dict[Profile, Plan] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def plan(self, profile: Profile) -> Plan:
        """The search plan for packets of ``profile``."""
        found = self._plans.get(profile)
        if found is not None:
            return found
        present, wild, eth_type = profile
        steps: list[PlanStep] = []
        for shape in self._shapes:
            if shape.eth_type is not None and shape.eth_type != eth_type:
                continue
            if not present.issuperset(shape.names):
                continue  # the packet lacks a field every entry of the shape matches on
            if shape.masked:
                steps.append((shape.max_priority, SCAN, None, shape.entries))
            elif wild.isdisjoint(shape.names):
                steps.append((shape.max_priority, EXACT, _getter(shape.names), shape.index))
            else:
                fixed = tuple(n for n in shape.names if n not in wild)
                steps.append((shape.max_priority, PARTIAL, _getter(fixed), shape.view(fixed)))
        found = self._plans[profile] = Plan(self, tuple(steps))
        return found

    def lookup(self, packet: Packet) -> tuple[Entry | None, tuple[Entry, ...], tuple[Entry, ...]]:
        """(the entry that handles the packet or None; equal-priority entries acting differently;
        higher-priority entries that catch only part of the packet class)."""
        fields = packet.fields
        best: Entry | None = None
        rivals: tuple[Entry, ...] = NONE
        partial: list[Entry] | None = None
        for max_priority, mode, getter, index in self.plan(packet.profile).steps:
            if best is not None and max_priority < best.priority:
                break
            if mode == EXACT:
                assert getter is not None
                top = index.get(getter(fields))
                if top is None:
                    continue
                if best is None or top.priority > best.priority:
                    best, rivals = top, NONE
                elif top.priority == best.priority and top.effect != best.effect:
                    rivals += (top,)
            elif mode == PARTIAL:
                assert getter is not None
                for entry in index.get(getter(fields), NONE):
                    if best is None or entry.priority > best.priority:
                        partial = [entry] if partial is None else [*partial, entry]
            else:
                for entry in index:
                    if best is not None and entry.priority < best.priority:
                        break
                    state = match_state(entry, fields)
                    if state == MAYBE:
                        partial = [entry] if partial is None else [*partial, entry]
                    elif state == YES:
                        if best is None or entry.priority > best.priority:
                            best, rivals = entry, NONE
                        elif entry.priority == best.priority and entry.effect != best.effect:
                            rivals += (entry,)
        if partial is None:
            return best, rivals, NONE
        floor = -1 if best is None else best.priority
        return best, rivals, tuple(e for e in partial if e.priority > floor)


class ObservedNetwork:
    """What the switches reported, plus the links between them: the data plane to trace.

    A switch whose flows were never set is *unreported*: a trace reaching it stops there
    (verdict: unverified), never a failure. Meters and groups likewise: a switch whose meter
    table was not reported has its meters' presence and rates left unchecked.
    """

    def __init__(self, links: Iterable[LinkEnds] = (), down_ports: Iterable[SwitchPort] = ()):
        self.peers: dict[SwitchPort, SwitchPort] = {}
        self.down: set[SwitchPort] = set(down_ports)
        self.flows: dict[int, SwitchTable] = {}
        self.meters: dict[int, dict[int, ObservedMeter]] = {}
        self.groups: dict[int, dict[int, GroupSpec]] = {}
        self.ports: dict[int, tuple[int, ...]] = {}  # for FLOOD/ALL outputs
        self._plans: dict[Profile, dict[int, Plan]] = {}  # profile -> switch -> plan
        self._peers_of: dict[int, dict[int, SwitchPort]] = {}  # switch -> out port -> far end
        self.set_links(links)

    def plans(self, profile: Profile) -> dict[int, Plan]:
        """The search plans of packets of ``profile`` found so far, by switch (see ``plan``)."""
        found = self._plans.get(profile)
        if found is None:
            found = self._plans[profile] = {}
        return found

    def plan(self, dpid: int, profile: Profile) -> Plan | None:
        """Switch ``dpid``'s plan for ``profile`` (None: its flows were never reported)."""
        table = self.flows.get(dpid)
        if table is None:
            return None
        found = self.plans(profile)[dpid] = table.plan(profile)
        found.peers = self._peers_of.get(dpid, {})
        return found

    # ---- topology -----------------------------------------------------------------------
    def set_links(self, links: Iterable[LinkEnds]) -> None:
        """The directed switch-to-switch links now (replaces the previous set)."""
        self.peers = {(lk.src, lk.src_port): (lk.dst, lk.dst_port) for lk in links}
        self._peers_of = {}
        for (dpid, port), far in self.peers.items():
            self._peers_of.setdefault(dpid, {})[port] = far
        self._plans.clear()

    def set_down_ports(self, ports: Iterable[SwitchPort]) -> None:
        """Ports that are down (fast-failover buckets watching them are not live)."""
        self.down = set(ports)

    def set_switch_ports(self, dpid: int, ports: Iterable[int]) -> None:
        """A switch's ports, so FLOOD and ALL outputs can be followed."""
        self.ports[dpid] = tuple(sorted(ports))

    # ---- what a switch reported ---------------------------------------------------------
    def set_entries(self, dpid: int, entries: Iterable[Entry]) -> None:
        """Replace switch ``dpid``'s flow table."""
        self.flows[dpid] = SwitchTable(dpid, entries)
        for plans in self._plans.values():
            plans.pop(dpid, None)

    def set_flows(self, dpid: int, flows: Iterable[ReportedFlow]) -> None:
        """Replace switch ``dpid``'s flow table from its flow-stats reply."""
        self.set_entries(dpid, (entry_of_report(dpid, f) for f in flows))

    def set_meters(self, dpid: int, meters: Iterable[ReportedMeter]) -> None:
        """Replace switch ``dpid``'s meter table from its meter-config reply."""
        self.meters[dpid] = {
            m.meter_id: ObservedMeter(m.meter_id, m.rate_kbps, m.burst_kb, m.per_packet)
            for m in meters
        }

    def set_groups(self, dpid: int, groups: Iterable[GroupSpec]) -> None:
        """Replace switch ``dpid``'s group table from its group-description reply."""
        self.groups[dpid] = {g.group_id: g for g in groups}

    def forget(self, dpid: int) -> None:
        """A switch went away: everything it reported is unknown again."""
        for table in (self.flows, self.meters, self.groups, self.ports):
            table.pop(dpid, None)
        for plans in self._plans.values():
            plans.pop(dpid, None)

    # ---- planned tables, as switches holding exactly the plan would report them ---------
    @classmethod
    def of_plan(
        cls,
        links: Iterable[LinkEnds],
        rules: Iterable[FlowRule],
        meters: Iterable[MeterSpec] = (),
        groups: Iterable[GroupSpec] = (),
        dpids: Iterable[int] = (),
    ) -> ObservedNetwork:
        """Every switch of ``links``, ``rules`` and ``dpids`` reported, holding just these."""
        links = list(links)
        net = cls(links)
        by_switch: dict[int, list[Entry]] = {d: [] for d in dpids}
        for lk in links:
            by_switch.setdefault(lk.src, [])
            by_switch.setdefault(lk.dst, [])
        for rule in {r.key: r for r in rules}.values():  # a later ADD replaces an equal key
            by_switch.setdefault(rule.dpid, []).append(entry_of_rule(rule))
        for dpid, entries in by_switch.items():
            net.set_entries(dpid, entries)
            net.meters[dpid] = {}
            net.groups[dpid] = {}
        for m in meters:
            observed = ObservedMeter(m.meter_id, m.rate_kbps, m.burst_kb)
            net.meters.setdefault(m.dpid, {})[m.meter_id] = observed
        for g in groups:
            net.groups.setdefault(g.dpid, {})[g.group_id] = g
        return net
