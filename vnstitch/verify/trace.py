"""Follow a packet through the observed tables, hop by hop, and say what became of it.

OpenFlow 1.3 on table 0 (the only table the controller uses): the highest-priority matching
entry handles the packet; two of equal priority that act differently make the outcome
AMBIGUOUS (undefined on a real switch); none is a TABLE_MISS (dropped: the controller's own
table-miss entry, priority 0, sends to the controller). What an entry does is
:mod:`vnstitch.verify.instructions` (actions, action set, groups). An output to a port with
a link continues at the far switch; any other port is where the packet leaves (DELIVERED
there); ``IN_PORT`` sends back out of the ingress port, a plain output to the ingress port is
not sent. Reaching the same (switch, in_port) again with the same header is a LOOP.

A packet class with wildcards (:mod:`vnstitch.verify.packets`) is split where a
higher-priority entry catches only part of it: the part is followed as its own branch (its
``part`` names the fields fixed, e.g. ``ip_proto=6``), the rest continues. Only entries of
strictly higher priority split a class: an equal-priority entry that overlaps part of it is
not followed (it is AMBIGUOUS for the packets it matches in full). Copies (groups, several
outputs) are branches too. A trace is a list of branches, the whole class's first.

Hops are kept in a flat list while tracing (``Branch.raw``: nothing is allocated for a hop
that only outputs) and turned into :class:`Hop` objects when asked, so verifying thousands
of reservations stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from topology.model import dpid_str
from vnstitch.rules.model import PORT_CONTROLLER, PORT_IN_PORT
from vnstitch.verify.entries import OFPP_MAX, Entry, SwitchPort, port_name
from vnstitch.verify.instructions import run_entry
from vnstitch.verify.outcomes import Outcome, OutcomeKind
from vnstitch.verify.packets import ANY, Packet
from vnstitch.verify.tables import Getter, ObservedNetwork

MAX_HOPS = 1024
LOOP_CHECK_AFTER = 64  # hops before a branch starts remembering where it has been
MAX_BRANCHES = 64
NOT_SENT = "output to the ingress port is not sent (IN_PORT would be)"

SlowHop = tuple[int, Entry | None, tuple[int, ...], str]  # dpid, entry, out ports, note
Part = tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Hop:
    """One switch the packet passed: where it came in, the entry that handled it (None: table
    miss), the ports it went out of, and which group bucket was used (``note``)."""

    dpid: int
    in_port: int
    entry: Entry | None
    out_ports: tuple[int, ...] = ()
    note: str = ""

    @property
    def meter_id(self) -> int | None:
        """The meter the entry applied, if any."""
        return None if self.entry is None else self.entry.meter_id

    def to_dict(self) -> dict[str, Any]:
        """JSON form (one row of ``GET /v1/reservations/{id}/trace``)."""
        return {
            "dpid": dpid_str(self.dpid),
            "in_port": self.in_port,
            "entry": None if self.entry is None else self.entry.to_dict(),
            "meter": self.meter_id,
            "out_ports": [port_name(p) for p in self.out_ports],
            "note": self.note or None,
        }


class Branch:
    """One path of the packet (or of a part of its class, or of a copy) and how it ended.

    ``raw`` is flat, two items per hop: the ingress port, then either the entry (a hop that
    only output to its ``fast_out``) or a tuple ``(dpid, entry or None, out_ports, note)``.
    Nothing is allocated per hop while tracing; :attr:`hops` builds :class:`Hop` objects.
    """

    __slots__ = ("outcome", "packet", "part", "raw")

    def __init__(self, raw: list[Any], outcome: Outcome, part: Part, packet: Packet) -> None:
        self.raw = raw
        self.outcome = outcome
        self.part = part  # the wildcard fields this branch fixed: () for the whole class
        self.packet = packet  # the header as it left (after any set-field)

    def __len__(self) -> int:
        return len(self.raw) // 2

    def hop(self, index: int) -> Hop:
        """Hop ``index`` (negative counts from the end)."""
        index = index % len(self) if index < 0 else index
        return _hop(self.raw[2 * index], self.raw[2 * index + 1])

    @property
    def hops(self) -> tuple[Hop, ...]:
        """The hops, in order."""
        raw = self.raw
        return tuple(_hop(raw[i], raw[i + 1]) for i in range(0, len(raw), 2))

    def first_hop_at(self, dpid: int) -> Hop | None:
        """The first hop at switch ``dpid`` (None if the branch never passed it)."""
        raw = self.raw
        for i in range(1, len(raw), 2):
            if _hop_dpid(raw[i]) == dpid:
                return _hop(raw[i - 1], raw[i])
        return None

    def describe_part(self) -> str:
        """``ip_proto=6, tcp_dst=22`` (empty for the whole class)."""
        return ", ".join(f"{k}={v}" for k, v in self.part)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "part": dict(self.part),
            "hops": [h.to_dict() for h in self.hops],
            "outcome": self.outcome.to_dict(),
            "header": self.packet.header(),
        }


def _hop_dpid(item: Any) -> int:
    return item.dpid if isinstance(item, Entry) else int(item[0])


def _hop(in_port: int, item: Any) -> Hop:
    if isinstance(item, Entry):
        return Hop(item.dpid, in_port, item, (item.fast_out,) if item.fast_out is not None else ())
    dpid, entry, outs, note = item
    return Hop(dpid, in_port, entry, outs, note)


@dataclass
class Trace:
    """Every branch of a packet entering ``start``; ``branches[0]`` is the whole class's."""

    start: SwitchPort
    branches: list[Branch]

    @property
    def main(self) -> Branch:
        """The branch of the whole packet class (first copy, no split)."""
        return self.branches[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "start": {"dpid": dpid_str(self.start[0]), "port": self.start[1]},
            "branches": [b.to_dict() for b in self.branches],
        }


# (dpid, in_port, packet, raw hops so far, raw index of the first hop since the last rewrite,
# part)
_State = tuple[int, int, Packet, list[Any], int, Part]
_TIE = object()


class _Tracer:
    """One trace's bookkeeping: work still to follow, branches ended on the side, splits made."""

    __slots__ = ("extra", "net", "spawned", "work")

    def __init__(self, net: ObservedNetwork) -> None:
        self.net = net
        self.work: list[_State] = []
        self.extra: list[Branch] = []
        self.spawned: set[frozenset[tuple[str, Any]]] = set()

    def room(self) -> bool:
        return len(self.work) + len(self.extra) + len(self.spawned) < MAX_BRANCHES

    def follow(self, state: _State) -> Branch:
        """Follow one branch to its end (spawning splits and copies as work)."""
        dpid, in_port, pkt, raw, fresh, part = state
        net = self.net
        down = net.down
        plans = net.plans(pkt.profile)
        fields = pkt.fields
        # Loops are looked for only on long paths: (switch, in_port) pairs since the last
        # rewrite go into ``seen`` once a branch has taken LOOP_CHECK_AFTER hops.
        seen: set[SwitchPort] | None = None
        check_from = fresh + 2 * LOOP_CHECK_AFTER  # raw length from which loops are checked
        append = raw.append
        while True:
            plan = plans.get(dpid) or net.plan(dpid, pkt.profile)
            if plan is None:
                return Branch(raw, Outcome(OutcomeKind.NOT_REPORTED, dpid, in_port), part, pkt)
            if len(raw) >= check_from:
                if seen is None:
                    seen = {(_hop_dpid(raw[i + 1]), raw[i]) for i in range(fresh, len(raw), 2)}
                if (dpid, in_port) in seen or len(raw) >= 2 * MAX_HOPS:
                    return Branch(raw, Outcome(OutcomeKind.LOOP, dpid, in_port), part, pkt)
                seen.add((dpid, in_port))
            fields["in_port"] = in_port
            head = plan.head_index
            if head is not None:  # the hot path: one probe, one plain output to a live link
                top = head.get(plan.head_getter(fields))
                if top is not None and top.priority > plan.rest_max and not down:
                    out = top.fast_out
                    if out is not None and out != in_port:
                        peer = plan.peers.get(out)
                        if peer is not None:
                            append(in_port)
                            append(top)
                            dpid, in_port = peer
                            continue
            best: Any = None
            exact = plan.exact
            if exact is not None:  # hash probes only: inline, ties left to the full lookup
                best = self._probe(exact, fields)
            if exact is None or best is _TIE:
                best, rivals, partial = plan.table.lookup(pkt)
                if partial:
                    self._split(dpid, in_port, pkt, raw, part, best, partial)
                if rivals:
                    raw += (in_port, (dpid, best, (), ""))
                    outcome = Outcome(OutcomeKind.AMBIGUOUS, dpid, in_port, best, rivals=rivals)
                    return Branch(raw, outcome, part, pkt)
            if best is None:
                raw += (in_port, (dpid, None, (), ""))
                return Branch(raw, Outcome(OutcomeKind.TABLE_MISS, dpid, in_port), part, pkt)
            out = best.fast_out
            if out is not None:  # one plain output: most hops of most paths
                append(in_port)
                append(best)
                if out == in_port:
                    outcome = Outcome(OutcomeKind.DROPPED, dpid, in_port, best, NOT_SENT)
                    return Branch(raw, outcome, part, pkt)
                peer = plan.peers.get(out)
                if peer is None or (down and (dpid, out) in down):
                    return Branch(raw, self._leave(dpid, in_port, out, best), part, pkt)
                dpid, in_port = peer
                continue
            step = self._step(dpid, in_port, pkt, raw, part, best)
            if isinstance(step, Branch):
                return step
            dpid, in_port, next_pkt = step
            if next_pkt is not pkt:  # rewritten: a revisit is not a loop by itself
                pkt, fields, fresh, seen = next_pkt, next_pkt.fields, len(raw), None
                check_from = fresh + 2 * LOOP_CHECK_AFTER
                plans = net.plans(pkt.profile)

    @staticmethod
    def _probe(exact: tuple[tuple[int, Getter, dict[Any, Entry]], ...], fields: Any) -> Any:
        """The winner of exact hash probes, highest priority first; _TIE on a tie."""
        best: Any = None
        for max_priority, getter, index in exact:
            if best is not None and max_priority < best.priority:
                break
            top = index.get(getter(fields))
            if top is not None:
                if best is None or top.priority > best.priority:
                    best = top
                elif top.priority == best.priority:
                    return _TIE
        return best

    def _leave(self, dpid: int, in_port: int, port: int, entry: Entry) -> Outcome:
        """The outcome of an output that does not continue to another switch."""
        if (dpid, port) in self.net.down:
            return Outcome(OutcomeKind.PORT_DOWN, dpid, port, entry)
        if port == PORT_CONTROLLER:
            return Outcome(OutcomeKind.CONTROLLER, dpid, in_port, entry)
        if port >= OFPP_MAX:
            detail = f"output to {port_name(port)}"
            return Outcome(OutcomeKind.UNSUPPORTED, dpid, in_port, entry, detail)
        return Outcome(OutcomeKind.DELIVERED, dpid, port, entry)

    def _split(
        self,
        dpid: int,
        in_port: int,
        pkt: Packet,
        raw: list[Any],
        part: Part,
        best: Entry | None,
        partial: tuple[Entry, ...],
    ) -> None:
        """Follow, as branches of their own, the parts of the class that ``partial`` catch."""
        for entry in partial:
            if best is not None and entry.effect == best.effect:
                continue
            fixed = {
                name: value[0] if isinstance(value, tuple) else value
                for name, value in zip(entry.names, entry.values, strict=True)
                if pkt.fields.get(name) is ANY
            }
            new_part = part + tuple(fixed.items())
            key = frozenset(new_part)
            if key in self.spawned or not self.room():
                continue
            self.spawned.add(key)
            self.work.append((dpid, in_port, pkt.with_fields(fixed), list(raw), len(raw), new_part))

    def _step(
        self,
        dpid: int,
        in_port: int,
        pkt: Packet,
        raw: list[Any],
        part: Part,
        entry: Entry,
    ) -> Branch | tuple[int, int, Packet]:
        """The general case: run the entry; the branch's end, or where it goes on."""
        emitted, notes, stop = run_entry(self.net, dpid, in_port, pkt, entry)
        raw += (in_port, (dpid, entry, tuple(p for p, _ in emitted), "; ".join(notes)))
        if stop is not None:
            return Branch(raw, stop, part, pkt)
        onward: list[tuple[int, int, Packet]] = []
        ends: list[tuple[Outcome, Packet]] = []
        for port, out_pkt in emitted:
            if port == in_port:
                notes.append(NOT_SENT)
                continue
            out = in_port if port == PORT_IN_PORT else port
            peer = self.net.peers.get((dpid, out))
            if peer is None or (dpid, out) in self.net.down:
                ends.append((self._leave(dpid, in_port, out, entry), out_pkt))
            else:
                onward.append((peer[0], peer[1], out_pkt))
        if not onward and not ends:
            outcome = Outcome(OutcomeKind.DROPPED, dpid, in_port, entry, "; ".join(notes))
            return Branch(raw, outcome, part, pkt)
        for outcome, out_pkt in ends[0 if onward else 1 :]:
            self.extra.append(Branch(list(raw), outcome, part, out_pkt))
        for nxt_dpid, nxt_port, out_pkt in onward[1:]:
            if self.room():
                copy = out_pkt.clone()
                self.work.append((nxt_dpid, nxt_port, copy, list(raw), len(raw), part))
        if onward:
            return onward[0]
        return Branch(raw, ends[0][0], part, ends[0][1])


def trace(net: ObservedNetwork, dpid: int, in_port: int, packet: Packet) -> Trace:
    """Follow ``packet`` (a header or a class of them) entering switch ``dpid`` on ``in_port``."""
    tracer = _Tracer(net)
    tracer.work.append((dpid, in_port, packet.clone(), [], 0, ()))
    done: list[Branch] = []
    while tracer.work:
        done.append(tracer.follow(tracer.work.pop()))
    return Trace((dpid, in_port), done[:1] + tracer.extra + done[1:])
