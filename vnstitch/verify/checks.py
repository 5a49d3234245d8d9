"""Verdicts: does a reservation's traffic get through as planned, does an isolation hold?

A reservation direction is verified by tracing its packet class from the sender's edge port
in the switches' reported tables: every branch must leave at the receiver's edge port, and pass
the planned ingress meter (the entry applies it; the switch holds it, at the planned rate).
An isolation is verified by tracing IPv4 and ARP (request and reply) from every host of each
group towards every host of the other: none may leave at the other host's port.

A verdict is :class:`Ok`, :class:`Failure` (a ``kind`` for metrics and a ``reason`` naming the
switch, the entry -- cookie, priority, match -- and what happened), or :class:`Unverified` (a
switch on the way has not reported the table needed; never a reason to act).

What is compared, not measured: meter rates as the switch reports them, not the traffic a
meter lets through. Packet classes are split only where an entry names a field the class
leaves open (protocol, ports, DSCP); addresses and in_port are concrete.

The work is sliceable: :func:`verify_each` yields one verdict at a time and
:func:`verify_batch` takes a range, so the caller stops when its time budget is spent and
resumes where it stopped (this module reads no clock).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from topology.model import Host, dpid_str
from vnstitch.rules.model import MeterSpec
from vnstitch.stitcher.reservation import PathPlan
from vnstitch.verify.entries import Entry, SwitchPort, port_name
from vnstitch.verify.outcomes import OutcomeKind
from vnstitch.verify.packets import Packet, arp_reply, arp_request, ipv4_packet, packet_of_match
from vnstitch.verify.tables import ObservedNetwork
from vnstitch.verify.trace import Branch, Trace, trace

RATE_TOLERANCE_KBPS = 1  # a reported rate this close to the planned one is the planned one


class FailureKind(StrEnum):
    """Why a verification failed (the ``/metrics`` label)."""

    DROPPED = "dropped"
    TABLE_MISS = "table_miss"
    CONTROLLER = "controller"
    MISDELIVERED = "misdelivered"  # left the network somewhere else
    LOOP = "loop"
    AMBIGUOUS = "ambiguous"
    PORT_DOWN = "port_down"
    UNSUPPORTED = "unsupported"
    NO_METER = "no_meter"  # the ingress entry applies no meter (or another one)
    METER_MISSING = "meter_missing"  # the entry applies a meter the switch does not hold
    METER_RATE = "meter_rate"  # the switch's meter has another rate
    ISOLATION_BREACH = "isolation_breach"


_KIND_OF_OUTCOME = {
    OutcomeKind.DROPPED: FailureKind.DROPPED,
    OutcomeKind.TABLE_MISS: FailureKind.TABLE_MISS,
    OutcomeKind.CONTROLLER: FailureKind.CONTROLLER,
    OutcomeKind.DELIVERED: FailureKind.MISDELIVERED,
    OutcomeKind.LOOP: FailureKind.LOOP,
    OutcomeKind.AMBIGUOUS: FailureKind.AMBIGUOUS,
    OutcomeKind.PORT_DOWN: FailureKind.PORT_DOWN,
    OutcomeKind.UNSUPPORTED: FailureKind.UNSUPPORTED,
}


@dataclass(frozen=True, slots=True)
class PlannedMeter:
    """The meter a direction must pass: on switch ``dpid``, id ``meter_id``, ``rate_kbps``."""

    dpid: int
    meter_id: int
    rate_kbps: int

    @staticmethod
    def of(spec: MeterSpec) -> PlannedMeter:
        """The planned meter of a plan's meter spec."""
        return PlannedMeter(spec.dpid, spec.meter_id, spec.rate_kbps)


@dataclass(frozen=True, slots=True)
class ReservationCheck:
    """One direction of a reservation: ``packet`` enters at ``src`` and must leave at ``dst``."""

    owner: int | str  # the caller's key (a reservation id)
    src: SwitchPort  # the sender's edge port (dpid, port)
    dst: SwitchPort  # the receiver's edge port
    packet: Packet
    meter: PlannedMeter | None = None
    label: str = ""  # "10.0.0.1 -> 10.0.0.3": prefixes the reason


@dataclass(frozen=True, slots=True)
class IsolationCheck:
    """No IPv4 or ARP packet between a host of ``a`` and a host of ``b`` may be delivered."""

    owner: int | str  # the caller's key (an intent id)
    a: tuple[Host, ...]
    b: tuple[Host, ...]


@dataclass(frozen=True, slots=True)
class Ok:
    """Verified; ``trace`` is the reservation direction's trace (None for isolations)."""

    trace: Trace | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """Not as planned: ``reason`` names the switch, the entry and what became of the packet."""

    kind: FailureKind
    reason: str
    trace: Trace


@dataclass(frozen=True, slots=True)
class Unverified:
    """Could not be decided: a switch on the way has not reported its tables yet."""

    reason: str
    trace: Trace | None = None


Verdict = Ok | Failure | Unverified
Check = ReservationCheck | IsolationCheck


def mbps_text(kbps: int) -> str:
    """4200 -> "4.2", 10000 -> "10.0", 4480 -> "4.48" (Mbit/s)."""
    return f"{kbps / 1000:.1f}" if kbps % 100 == 0 else f"{kbps / 1000:g}"


def _head(label: str, branch: Branch) -> str:
    part = branch.describe_part()
    head = f"{label} ({part})" if label and part else label or part
    return f"{head}: " if head else ""


# ---- reservations ------------------------------------------------------------------------
_DELIVERED = OutcomeKind.DELIVERED
_NOT_REPORTED = OutcomeKind.NOT_REPORTED


def verify_reservation(net: ObservedNetwork, check: ReservationCheck) -> Verdict:
    """Trace ``check.packet`` from ``check.src``: every branch must leave at ``check.dst``
    through the planned meter."""
    found = trace(net, check.src[0], check.src[1], check.packet)
    dst_dpid, dst_port = check.dst
    unreported: Branch | None = None
    for branch in found.branches:
        outcome = branch.outcome
        kind = outcome.kind
        if kind is _DELIVERED and outcome.dpid == dst_dpid and outcome.port == dst_port:
            continue
        if kind is _NOT_REPORTED:
            unreported = unreported or branch
            continue
        head = _head(check.label, branch)
        if kind is _DELIVERED:
            expected = f"{dpid_str(dst_dpid)} port {dst_port}"
            by = "" if outcome.entry is None else f" (sent there by {outcome.entry.describe()})"
            text = f"{outcome.describe()}, expected {expected}{by}"
        else:
            text = outcome.describe()
        return Failure(_KIND_OF_OUTCOME[kind], head + text, found)
    if unreported is not None:
        reason = _head(check.label, unreported) + unreported.outcome.describe()
        return Unverified(reason, found)
    planned = check.meter
    if planned is not None:
        for branch in found.branches:
            if _meter_holds(net, planned, branch):
                continue
            problem = _meter_problem(net, planned, branch)
            if problem is not None:
                return Failure(problem[0], _head(check.label, branch) + problem[1], found)
    return Ok(found)


def _meter_holds(net: ObservedNetwork, planned: PlannedMeter, branch: Branch) -> bool:
    """The usual case, cheaply: the first hop is the planned switch, applying the planned
    meter, which the switch holds at the planned rate (or has not reported)."""
    raw = branch.raw
    if len(raw) < 2 or not isinstance(raw[1], Entry):
        return False
    entry = raw[1]
    if entry.dpid != planned.dpid or entry.meter_id != planned.meter_id:
        return False
    meters = net.meters.get(planned.dpid)
    if meters is None:
        return True
    meter = meters.get(planned.meter_id)
    return (
        meter is not None
        and meter.rate_kbps is not None
        and abs(meter.rate_kbps - planned.rate_kbps) <= RATE_TOLERANCE_KBPS
    )


def _meter_problem(
    net: ObservedNetwork, planned: PlannedMeter, branch: Branch
) -> tuple[FailureKind, str] | None:
    sw = dpid_str(planned.dpid)
    want = f"planned meter {planned.meter_id} at {mbps_text(planned.rate_kbps)} Mbit/s"
    hop = branch.first_hop_at(planned.dpid)
    if hop is None or hop.entry is None:
        return FailureKind.NO_METER, f"no meter: the packet did not pass {sw}, {want}"
    entry = hop.entry
    if entry.meter_id is None:
        text = f"no meter: ingress rule on {sw} ({entry.describe()}) has no meter, {want}"
        return FailureKind.NO_METER, text
    if entry.meter_id != planned.meter_id:
        text = f"ingress rule on {sw} ({entry.describe()}) applies meter {entry.meter_id}, {want}"
        return FailureKind.NO_METER, text
    meters = net.meters.get(planned.dpid)
    if meters is None:
        return None  # meter table not reported: presence and rate not checked
    meter = meters.get(planned.meter_id)
    if meter is None:
        text = f"meter {planned.meter_id} missing on {sw} (flow refers to it)"
        return FailureKind.METER_MISSING, text
    if meter.rate_kbps is None:
        text = f"meter {planned.meter_id} on {sw} has no kbit/s drop band, {want}"
        return FailureKind.METER_RATE, text
    if abs(meter.rate_kbps - planned.rate_kbps) > RATE_TOLERANCE_KBPS:
        text = (
            f"meter {planned.meter_id} on {sw} rate {mbps_text(meter.rate_kbps)} Mbit/s, "
            f"planned {mbps_text(planned.rate_kbps)}"
        )
        return FailureKind.METER_RATE, text
    return None


def reservation_checks(
    owner: int | str, plan: PathPlan, src: Host, dst: Host
) -> list[ReservationCheck]:
    """The checks of a plan's directions (one per ingress rule), forward first."""
    if src.attachment is None or dst.attachment is None:
        return []
    meters = {(m.dpid, m.meter_id): PlannedMeter.of(m) for m in plan.meters}
    out = []
    for rule in plan.ingress:
        forward = (rule.dpid, rule.match.in_port) == (src.attachment.dpid, src.attachment.port)
        sender, receiver = (src, dst) if forward else (dst, src)
        assert sender.attachment is not None and receiver.attachment is not None
        meter = None if rule.meter_id is None else meters.get((rule.dpid, rule.meter_id))
        out.append(
            ReservationCheck(
                owner,
                (sender.attachment.dpid, sender.attachment.port),
                (receiver.attachment.dpid, receiver.attachment.port),
                packet_of_match(rule.match, sender.mac, receiver.mac),
                meter,
                f"{sender.ip or sender.mac} -> {receiver.ip or receiver.mac}",
            )
        )
    return out


# ---- isolations --------------------------------------------------------------------------
def _probes(src: Host, dst: Host) -> list[tuple[str, Packet]]:
    if not src.ip or not dst.ip:
        return []
    return [
        ("IPv4", ipv4_packet(src.mac, dst.mac, src.ip, dst.ip)),
        ("ARP request", arp_request(src.mac, src.ip, dst.ip)),
        ("ARP reply", arp_reply(src.mac, src.ip, dst.mac, dst.ip)),
    ]


def isolation_pair_checks(
    owner: int | str, a: Iterable[Host], b: Iterable[Host]
) -> list[IsolationCheck]:
    """One check per (host of a, host of b) pair, both directions each: small verdicts, so a
    large isolation is sliced like everything else (a breach in any means the owner's)."""
    b = tuple(b)
    return [IsolationCheck(owner, (x,), (y,)) for x in a for y in b if x.mac != y.mac]


def isolation_pairs(check: IsolationCheck) -> Iterator[tuple[Host, Host]]:
    """Every ordered (sender, receiver) pair across the two groups, each host attached."""
    for a in check.a:
        for b in check.b:
            if a.mac == b.mac or a.attachment is None or b.attachment is None:
                continue
            yield a, b
            yield b, a


def verify_isolation(net: ObservedNetwork, check: IsolationCheck) -> Verdict:
    """IPv4 and ARP from every host of each group towards every host of the other: none may
    leave at the other host's port; a breach names the entry that let it through."""
    unverified: Unverified | None = None
    for src, dst in isolation_pairs(check):
        assert src.attachment is not None and dst.attachment is not None
        target = (dst.attachment.dpid, dst.attachment.port)
        for what, packet in _probes(src, dst):
            found = trace(net, src.attachment.dpid, src.attachment.port, packet)
            label = f"{what} {src.name} ({src.ip}) -> {dst.name} ({dst.ip})"
            for branch in found.branches:
                outcome = branch.outcome
                if outcome.kind is OutcomeKind.DELIVERED and (outcome.dpid, outcome.port) == target:
                    return Failure(FailureKind.ISOLATION_BREACH, _breach(label, branch), found)
                if outcome.kind is OutcomeKind.NOT_REPORTED and unverified is None:
                    reason = _head(label, branch) + outcome.describe()
                    unverified = Unverified(reason, found)
    return unverified or Ok()


def _breach(label: str, branch: Branch) -> str:
    outcome = branch.outcome
    where = f"delivered at {dpid_str(outcome.dpid)} port {port_name(outcome.port or 0)}"
    first = branch.hop(0)
    entry = first.entry
    at = dpid_str(first.dpid)
    through = "" if entry is None else f": let through at {at} by {entry.describe()}"
    part = branch.describe_part()
    return f"{label}{f' ({part})' if part else ''} {where}{through}"


# ---- slicing -----------------------------------------------------------------------------
def verify(net: ObservedNetwork, check: Check) -> Verdict:
    """The verdict of one check."""
    if isinstance(check, ReservationCheck):
        return verify_reservation(net, check)
    return verify_isolation(net, check)


def verify_each(net: ObservedNetwork, checks: Iterable[Check]) -> Iterator[tuple[Check, Verdict]]:
    """Verdicts one at a time: the caller may stop between any two (a time budget)."""
    for check in checks:
        yield check, verify(net, check)


def verify_batch(
    net: ObservedNetwork, checks: Sequence[Check], start: int, count: int
) -> list[tuple[Check, Verdict]]:
    """Verdicts of ``checks[start:start + count]``; resume at ``start + count``."""
    return [(c, verify(net, c)) for c in checks[start : start + count]]
