"""Run one flow entry on a packet: apply-actions, the write-actions set, groups.

OpenFlow 1.3 on a single table: apply-actions run in order (a set-field rewrites what later
outputs send); the action set written by write-actions runs at the end of the pipeline: its
set-fields, then its group, else its output. Groups: ALL copies to every bucket, SELECT may
use any bucket (every one is followed, so verdicts hold whichever the switch picks),
INDIRECT its bucket, FAST_FAILOVER the first bucket whose watched port (and watched group) is
live -- every port is up unless ``ObservedNetwork.set_down_ports`` said otherwise. FLOOD and
ALL outputs use the switch's ports when known. Goto-table, instructions and actions the
model does not know stop the packet with an UNSUPPORTED outcome: never a guess.
"""

from __future__ import annotations

from typing import assert_never

from topology.model import dpid_str
from vnstitch.rules.model import (
    Bucket,
    Group,
    GroupKind,
    GroupSpec,
    Output,
    ReportedAction,
    SetField,
    UnknownAction,
)
from vnstitch.verify.entries import Entry
from vnstitch.verify.outcomes import Outcome, OutcomeKind
from vnstitch.verify.packets import Packet
from vnstitch.verify.tables import ObservedNetwork

MAX_GROUP_DEPTH = 8
PORT_FLOOD = 0xFFFFFFFB
PORT_ALL = 0xFFFFFFFC

Emitted = list[tuple[int, Packet]]


def run_entry(
    net: ObservedNetwork, dpid: int, in_port: int, pkt: Packet, entry: Entry
) -> tuple[Emitted, list[str], Outcome | None]:
    """(the (port, packet) outputs, notes on the group buckets taken, an Outcome if it stops)."""
    run = _Run(net, dpid, in_port, entry)
    return run.emitted, run.notes, run.entry_instructions(pkt)


class _Run:
    """One entry applied to one packet at one switch."""

    __slots__ = ("dpid", "emitted", "entry", "in_port", "net", "notes")

    def __init__(self, net: ObservedNetwork, dpid: int, in_port: int, entry: Entry) -> None:
        self.net, self.dpid, self.in_port, self.entry = net, dpid, in_port, entry
        self.emitted: Emitted = []
        self.notes: list[str] = []

    def _stop(self, kind: OutcomeKind, detail: str) -> Outcome:
        return Outcome(kind, self.dpid, self.in_port, self.entry, detail)

    def entry_instructions(self, pkt: Packet) -> Outcome | None:
        entry = self.entry
        if entry.goto_table is not None:
            detail = f"goto_table:{entry.goto_table} (only table 0 is modelled)"
            return self._stop(OutcomeKind.UNSUPPORTED, detail)
        if entry.other_instructions:
            detail = f"instruction {', '.join(entry.other_instructions)} not modelled"
            return self._stop(OutcomeKind.UNSUPPORTED, detail)
        cur = pkt
        for action in entry.actions:
            match action:
                case Output(port):
                    self._output(port, cur)
                case SetField(name, value):
                    cur = cur.with_fields({name: value})
                case Group(group_id):
                    stop = self._group(group_id, cur, 0)
                    if stop is not None:
                        return stop
                case UnknownAction(name):
                    return self._stop(OutcomeKind.UNSUPPORTED, f"action {name} not modelled")
                case _:
                    assert_never(action)
        if entry.write_actions:
            return self._action_set(entry.write_actions, cur, 0)
        return None

    def _output(self, port: int, pkt: Packet) -> None:
        ports = self.net.ports.get(self.dpid)
        if port in (PORT_FLOOD, PORT_ALL) and ports is not None:
            self.emitted.extend((p, pkt) for p in ports if p != self.in_port)
        else:
            self.emitted.append((port, pkt))

    def _action_set(
        self, actions: tuple[ReportedAction, ...], pkt: Packet, depth: int
    ) -> Outcome | None:
        """An action set (write-actions, a bucket): set-fields, then its group, else output."""
        cur, group, output = pkt, None, None
        for action in actions:
            match action:
                case SetField(name, value):
                    cur = cur.with_fields({name: value})
                case Group(group_id):
                    group = group_id
                case Output(port):
                    output = port
                case UnknownAction(name):
                    return self._stop(OutcomeKind.UNSUPPORTED, f"action {name} not modelled")
                case _:
                    assert_never(action)
        if group is not None:
            return self._group(group, cur, depth + 1)
        if output is not None:
            self._output(output, cur)
        return None

    def _group(self, group_id: int, pkt: Packet, depth: int) -> Outcome | None:
        groups = self.net.groups.get(self.dpid)
        if groups is None:
            return self._stop(OutcomeKind.NOT_REPORTED, "group table")
        group = groups.get(group_id)
        if group is None:
            detail = f"group {group_id} missing on {dpid_str(self.dpid)} (flow refers to it)"
            return self._stop(OutcomeKind.DROPPED, detail)
        if depth > MAX_GROUP_DEPTH:
            detail = f"groups chained deeper than {MAX_GROUP_DEPTH}"
            return self._stop(OutcomeKind.UNSUPPORTED, detail)
        chosen = self._buckets(group, depth)
        if not chosen:
            self.notes.append(f"group {group_id} ({group.kind.value}): no live bucket")
        for index, bucket in chosen:
            self.notes.append(f"group {group_id} ({group.kind.value}) bucket {index}")
            stop = self._action_set(bucket.actions, pkt, depth)
            if stop is not None:
                return stop
        return None

    def _buckets(self, group: GroupSpec, depth: int) -> list[tuple[int, Bucket]]:
        buckets = list(enumerate(group.buckets))
        match group.kind:
            case GroupKind.ALL | GroupKind.SELECT:
                return buckets  # SELECT: any bucket may carry it, so every one is followed
            case GroupKind.INDIRECT:
                return buckets[:1]
            case GroupKind.FAST_FAILOVER:
                live = [(i, b) for i, b in buckets if self._live(b, depth)]
                return live[:1]
            case _:
                assert_never(group.kind)

    def _live(self, bucket: Bucket, depth: int) -> bool:
        """A fast-failover bucket is live if its watched port is up and watched group live."""
        if bucket.watch_port is not None and (self.dpid, bucket.watch_port) in self.net.down:
            return False
        if bucket.watch_group is None:
            return True
        group = self.net.groups.get(self.dpid, {}).get(bucket.watch_group)
        if group is None or depth > MAX_GROUP_DEPTH:
            return False
        return any(self._live(b, depth + 1) for b in group.buckets)
