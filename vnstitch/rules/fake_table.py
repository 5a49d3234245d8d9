"""A fake network of OpenFlow flow tables that answers "where does this packet leave?".

Tests apply planned :class:`FlowRule` lists and trace packets instead of comparing bytes.
Semantics follow OpenFlow 1.3 on table 0 (the only table planners use):

* ``apply`` is FlowMod ADD: an entry with the same (table, priority, match) is replaced.
* A rule with a ``meter_id`` is refused unless that meter is on the switch (OFPMMFC_UNKNOWN_METER);
  deleting a meter removes the flows that use it. Likewise a rule sending to a group the switch
  does not hold is refused (OFPBAC_BAD_OUT_GROUP), and deleting a group removes its flows.
* Groups: ALL copies to every bucket, INDIRECT and SELECT use their first bucket, FAST_FAILOVER
  the first bucket whose watched port is live. A port is live unless it is set down
  (``set_port``) or its link was removed (``remove_link``: the cable was pulled).
* The highest-priority matching rule wins. Two matching rules of equal priority whose effects
  differ are undefined behaviour on a real switch, so ``trace`` raises :class:`AmbiguousMatch`.
* An output to a port that carries a link continues at the far switch; any other port is an
  exit (a removed link's port too). ``PORT_CONTROLLER`` is a controller hit, ``PORT_IN_PORT``
  sends back out of the ingress port; a plain output to the ingress port is not sent
  (switches require ``IN_PORT`` for that).
* No matching rule is a table miss; a rule without actions is a drop.
* A packet reaching the same (switch, in_port) twice is a loop; that branch stops there.

Links are anything with ``src``, ``src_port``, ``dst``, ``dst_port`` (e.g.
``topology.model.LinkId``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from vnstitch.rules.model import (
    PORT_CONTROLLER,
    PORT_IN_PORT,
    FlowRule,
    Group,
    GroupKind,
    GroupSpec,
    Match,
    MeterSpec,
    Output,
    ReportedAction,
)

SwitchPort = tuple[int, int]
MeterKey = tuple[int, int]
GroupKey = tuple[int, int]  # (dpid, group id)

MAX_HOPS = 10_000


class LinkEnds(Protocol):
    """A directed switch-to-switch link, as ``topology.model.LinkId`` provides it."""

    @property
    def src(self) -> int: ...

    @property
    def src_port(self) -> int: ...

    @property
    def dst(self) -> int: ...

    @property
    def dst_port(self) -> int: ...


class AmbiguousMatch(Exception):
    """Two rules of equal top priority match a packet and do different things."""


class UnknownMeter(Exception):
    """A rule refers to a meter that is not installed on its switch."""


class UnknownGroup(Exception):
    """A rule refers to a group that is not installed on its switch."""


@dataclass(frozen=True)
class Hop:
    """One switch a packet passed: where it entered and the rule that handled it (None = miss)."""

    dpid: int
    in_port: int
    rule: FlowRule | None


@dataclass
class TraceResult:
    """Everything that happened to one packet and its copies."""

    exits: list[SwitchPort] = field(default_factory=list)
    to_controller: list[SwitchPort] = field(default_factory=list)  # (dpid, in_port)
    table_misses: list[SwitchPort] = field(default_factory=list)  # (dpid, in_port)
    drops: list[SwitchPort] = field(default_factory=list)  # (dpid, in_port)
    loops: list[SwitchPort] = field(default_factory=list)  # (dpid, in_port) reached again
    hops: list[Hop] = field(default_factory=list)
    meters: list[MeterKey] = field(default_factory=list)  # (dpid, meter_id), in hop order
    buckets: list[tuple[int, int, int]] = field(default_factory=list)  # (dpid, group, bucket)

    @property
    def switches(self) -> list[int]:
        """Dpids of the hops, in the order they were taken."""
        return [h.dpid for h in self.hops]

    @property
    def delivered_only_to(self) -> SwitchPort | None:
        """The single exit if the packet left exactly once and nothing else happened."""
        clean = not (self.to_controller or self.table_misses or self.drops or self.loops)
        return self.exits[0] if clean and len(self.exits) == 1 else None


def _same_effect(a: FlowRule, b: FlowRule) -> bool:
    return a.actions == b.actions and a.meter_id == b.meter_id


class FakeNetwork:
    """Per-switch flow tables joined by links; applies rules and traces packets."""

    def __init__(self, links: Iterable[LinkEnds] = ()) -> None:
        self.peers: dict[SwitchPort, SwitchPort] = {}
        self.tables: dict[int, dict[tuple[int, int, int, Match], FlowRule]] = {}
        self.meters: dict[MeterKey, MeterSpec] = {}
        self.groups: dict[GroupKey, GroupSpec] = {}
        self.down: set[SwitchPort] = set()
        for link in links:
            self.add_link(link)

    # ---- topology -----------------------------------------------------------------------
    def add_link(self, link: LinkEnds) -> None:
        """Connect ``(src, src_port)`` to ``(dst, dst_port)`` in this direction (port live)."""
        self.peers[(link.src, link.src_port)] = (link.dst, link.dst_port)
        self.down.discard((link.src, link.src_port))

    def remove_link(self, link: LinkEnds) -> None:
        """Disconnect one direction: outputs to that port become exits, and the port is down
        (fast-failover buckets watching it are not live)."""
        self.peers.pop((link.src, link.src_port), None)
        self.down.add((link.src, link.src_port))

    def set_port(self, dpid: int, port: int, up: bool) -> None:
        """Set a port's liveness (what fast-failover buckets watch)."""
        if up:
            self.down.discard((dpid, port))
        else:
            self.down.add((dpid, port))

    # ---- groups -------------------------------------------------------------------------
    def apply_groups(self, groups: Iterable[GroupSpec]) -> None:
        """Add or modify groups."""
        for group in groups:
            self.groups[(group.dpid, group.group_id)] = group

    def delete_group(self, dpid: int, group_id: int) -> list[FlowRule]:
        """Remove a group and, as switches do, every flow that sends to it; returns them."""
        self.groups.pop((dpid, group_id), None)
        table = self.tables.get(dpid, {})
        gone = [r for r in table.values() if Group(group_id) in r.actions]
        for rule in gone:
            del table[rule.key]
        return gone

    # ---- meters -------------------------------------------------------------------------
    def apply_meters(self, meters: Iterable[MeterSpec]) -> None:
        """Add or modify meters."""
        for meter in meters:
            self.meters[(meter.dpid, meter.meter_id)] = meter

    def delete_meter(self, dpid: int, meter_id: int) -> list[FlowRule]:
        """Remove a meter and, as switches do, every flow that uses it; returns those flows."""
        self.meters.pop((dpid, meter_id), None)
        table = self.tables.get(dpid, {})
        gone = [r for r in table.values() if r.meter_id == meter_id]
        for rule in gone:
            del table[rule.key]
        return gone

    # ---- flows --------------------------------------------------------------------------
    def apply(self, rules: Iterable[FlowRule]) -> None:
        """Add rules in order; an entry with the same key is replaced (FlowMod ADD)."""
        for rule in rules:
            if rule.meter_id is not None and (rule.dpid, rule.meter_id) not in self.meters:
                raise UnknownMeter(f"meter {rule.meter_id} not on switch {rule.dpid}: {rule}")
            for action in rule.actions:
                if isinstance(action, Group) and (rule.dpid, action.group_id) not in self.groups:
                    raise UnknownGroup(f"group {action.group_id} not on switch {rule.dpid}: {rule}")
            self.tables.setdefault(rule.dpid, {})[rule.key] = rule

    def remove(self, rules: Iterable[FlowRule]) -> None:
        """Delete exactly these entries by key (FlowMod DELETE_STRICT)."""
        for rule in rules:
            self.tables.get(rule.dpid, {}).pop(rule.key, None)

    def delete(self, cookie: int, cookie_mask: int, dpid: int | None = None) -> list[FlowRule]:
        """Delete rules whose cookie agrees with ``cookie`` on ``cookie_mask``; returns them."""
        gone: list[FlowRule] = []
        for sw, table in self.tables.items():
            if dpid is not None and sw != dpid:
                continue
            for key, rule in list(table.items()):
                if rule.cookie & cookie_mask == cookie & cookie_mask:
                    gone.append(rule)
                    del table[key]
        return gone

    def rules(self, dpid: int | None = None) -> list[FlowRule]:
        """Installed rules of one switch (or all), highest priority first."""
        tables = [self.tables.get(dpid, {})] if dpid is not None else list(self.tables.values())
        found = [r for t in tables for r in t.values()]
        return sorted(found, key=lambda r: (r.dpid, -r.priority))

    def lookup(self, dpid: int, packet: dict[str, Any]) -> FlowRule | None:
        """The rule a switch applies to a packet (which carries ``in_port``), or None on miss."""
        matching = [
            r
            for r in self.tables.get(dpid, {}).values()
            if r.table_id == 0 and r.match.matches(packet)
        ]
        if not matching:
            return None
        top = max(r.priority for r in matching)
        best, *tied = [r for r in matching if r.priority == top]
        for other in tied:
            if not _same_effect(best, other):
                raise AmbiguousMatch(f"on switch {dpid}, {packet} matches {best} and {other}")
        return best

    # ---- tracing ------------------------------------------------------------------------
    def trace(self, dpid: int, in_port: int, packet: dict[str, Any]) -> TraceResult:
        """Follow a packet entering ``dpid`` on ``in_port`` through the network."""
        result = TraceResult()
        seen: set[SwitchPort] = set()
        todo: deque[SwitchPort] = deque([(dpid, in_port)])
        while todo:
            here = todo.popleft()
            if here in seen:
                result.loops.append(here)
                continue
            if len(result.hops) >= MAX_HOPS:
                raise RuntimeError(f"trace exceeded {MAX_HOPS} hops")
            seen.add(here)
            todo.extend(self._step(here, packet, result))
        return result

    def _step(
        self, here: SwitchPort, packet: dict[str, Any], result: TraceResult
    ) -> list[SwitchPort]:
        sw, in_port = here
        rule = self.lookup(sw, {**packet, "in_port": in_port})
        result.hops.append(Hop(sw, in_port, rule))
        if rule is None:
            result.table_misses.append(here)
            return []
        if rule.meter_id is not None:
            result.meters.append((sw, rule.meter_id))
        if not rule.actions:
            result.drops.append(here)
            return []
        onward: list[SwitchPort] = []
        ports = self._out_ports(sw, rule.actions, result)
        if not ports and any(isinstance(a, Group) for a in rule.actions):
            result.drops.append(here)  # a group with no live bucket
        for port in ports:
            if port == PORT_CONTROLLER:
                result.to_controller.append(here)
                continue
            if port == in_port:
                continue  # a plain output to the ingress port is not sent
            out = in_port if port == PORT_IN_PORT else port
            peer = self.peers.get((sw, out))
            if peer is None:
                result.exits.append((sw, out))
            else:
                onward.append(peer)
        return onward

    def _out_ports(
        self, sw: int, actions: Iterable[ReportedAction], result: TraceResult, depth: int = 0
    ) -> list[int]:
        """The ports an action list sends to, through groups (their buckets taken noted)."""
        ports: list[int] = []
        for action in actions:
            if isinstance(action, Output):
                ports.append(action.port)
            elif isinstance(action, Group) and depth < 8:
                group = self.groups.get((sw, action.group_id))
                if group is None:
                    continue
                for index, bucket in self._buckets(group):
                    result.buckets.append((sw, group.group_id, index))
                    ports += self._out_ports(sw, bucket.actions, result, depth + 1)
        return ports

    def _buckets(self, group: GroupSpec) -> list[tuple[int, Any]]:
        buckets = list(enumerate(group.buckets))
        if group.kind is GroupKind.ALL:
            return buckets
        if group.kind is GroupKind.FAST_FAILOVER:
            live = [
                (i, b)
                for i, b in buckets
                if b.watch_port is None or (group.dpid, b.watch_port) not in self.down
            ]
            return live[:1]
        return buckets[:1]
