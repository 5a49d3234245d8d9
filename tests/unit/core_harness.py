"""Drive the controller core with recorded event sequences against fake switches.

:class:`Harness` feeds events (and commands) to a real :class:`ControllerCore`, applies every
switch message it returns to a :class:`FakeNetwork` (flow tables joined by links), answers
barriers the way a switch would, and posts the core's own follow-ups (``Settle``). No Ryu, no
switch, no clock: time moves only when a test advances it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from topology.model import Port
from vnstitch.clock import Instant
from vnstitch.core.actions import (
    Action,
    Barrier,
    FlowDeleteCookie,
    MeterModify,
    Publish,
    Reply,
    RoundWorkLater,
    SettleLater,
    SettleMoreLater,
    ToSwitch,
    VerifyLater,
    WakeAt,
)
from vnstitch.core.commands import Command
from vnstitch.core.controller import ControllerCore
from vnstitch.core.events import (
    BarrierReply,
    Event,
    FlowCounters,
    FlowStats,
    GroupDescs,
    MeterBand,
    MeterConfig,
    MeterConfigs,
    PacketIn,
    PortChanged,
    RoundWork,
    Settle,
    SettleMore,
    SwitchError,
    SwitchFeatures,
    SwitchPorts,
    SwitchUp,
)
from vnstitch.core.frames import arp_frame, probe_frame
from vnstitch.messages import Message
from vnstitch.northbound.config import (
    AdjustmentOptions,
    ApiOptions,
    Config,
    ControllerOptions,
    PredictorOptions,
)
from vnstitch.rules.fake_table import FakeNetwork
from vnstitch.rules.model import ETH_TYPE_IPV4, Match
from vnstitch.stitcher.install_jobs import (
    FlowAdd,
    FlowDelete,
    GroupAdd,
    GroupDelete,
    GroupModify,
    MeterAdd,
    MeterDelete,
)

NONCE = 7
START = Instant(wall=1_800_000_000.0, mono=100.0)
# A square 1-2-4 / 1-3-4; switch a reaches b on port 10 + b; hosts on port 1.
CABLES = [(1, 2), (2, 4), (1, 3), (3, 4)]
HOSTS = {1: ("00:00:00:00:00:01", "10.0.0.1"), 4: ("00:00:00:00:00:04", "10.0.0.4")}


@dataclass(frozen=True)
class Cable:
    """One direction of a cable, as the fake network wants it."""

    src: int
    src_port: int
    dst: int
    dst_port: int


def ipv4(src: str, dst: str) -> dict[str, Any]:
    """Header fields of an IPv4 packet for :meth:`FakeNetwork.trace`."""
    return {"eth_type": ETH_TYPE_IPV4, "ipv4_src": src, "ipv4_dst": dst}


def config(
    tmp: Path,
    predictor: bool = False,
    adjustment: AdjustmentOptions | None = None,
    **controller: Any,
) -> Config:
    """A controller configuration with its state in ``tmp``."""
    return Config(
        controller=ControllerOptions(**controller),
        api=ApiOptions(state_db=str(tmp / "state.db")),
        predictor=PredictorOptions(enabled=predictor, threshold_mbps=1.0),
        adjustment=adjustment or AdjustmentOptions(),
    )


@dataclass
class Harness:
    """A core, fake switches, and what came out."""

    tmp: Path
    predictor: bool = False
    answer_barriers: bool = True
    adjustment: AdjustmentOptions | None = None
    now: Instant = START
    core: ControllerCore = field(init=False)
    net: FakeNetwork = field(init=False)
    replies: dict[int, Reply] = field(default_factory=dict)
    published: list[Message] = field(default_factory=list)
    sent: list[ToSwitch] = field(default_factory=list)
    wakes: list[float] = field(default_factory=list)
    held_barriers: list[BarrierReply] = field(default_factory=list)
    _queue: deque[Event] = field(default_factory=deque)

    def __post_init__(self) -> None:
        source = "controller-test" if self.predictor else None
        settings = config(self.tmp, self.predictor, self.adjustment)
        self.core = ControllerCore(settings, self.now, NONCE, source)
        self.net = FakeNetwork()
        self._carry_out(self.core.pending())

    # ---- time and input ------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Both clocks move on."""
        self.now = Instant(self.now.wall + seconds, self.now.mono + seconds)

    def feed(self, *events: Event) -> None:
        """Hand events to the core, then everything they caused, until nothing is left."""
        self._queue.extend(events)
        while self._queue:
            self._carry_out(self.core.handle(self._queue.popleft(), self.now))

    def call(self, command: Command, ticket: int = 1) -> Reply | None:
        """A northbound command; its reply if it came (now or while events ran)."""
        self._carry_out(self.core.call(command, ticket, self.now))
        self.feed()
        return self.replies.get(ticket)

    def restarted(self, seconds: float = 5.0) -> Harness:
        """A new controller on the same state file and the same switches (as after kill -9)."""
        later = Instant(self.now.wall + seconds, self.now.mono + seconds)
        fresh = Harness(self.tmp, self.predictor, now=later, adjustment=self.adjustment)
        fresh.net = self.net
        return fresh

    def audit(self) -> None:
        """Every connected switch reports its tables, and the core audits them."""
        fields = list(Match.__dataclass_fields__)
        for dpid in sorted(self.core.discovery.connected):
            self.core.statistics.request_flows(dpid)
            meters = tuple(
                MeterConfig(m.meter_id, (MeterBand("drop", m.rate_kbps, m.burst_kb),))
                for (sw, _), m in sorted(self.net.meters.items())
                if sw == dpid
            )
            self.feed(MeterConfigs(dpid, meters))
            groups = tuple(g for (sw, _), g in sorted(self.net.groups.items()) if sw == dpid)
            self.feed(GroupDescs(dpid, groups))
            flows = tuple(
                FlowCounters(
                    r.priority,
                    r.cookie,
                    {f: getattr(r.match, f) for f in fields if getattr(r.match, f) is not None},
                    0,
                    0.0,
                    meter_id=r.meter_id,
                    actions=tuple(r.actions),
                )
                for r in self.net.rules(dpid)
            )
            self.feed(FlowStats(dpid, flows))

    def verify(self) -> None:
        """One data-plane verification round over the tables reported last."""
        self.core.verification.start_round(self.now)
        while self.core.verification._round is not None:
            self.core.verification.step(self.now)
        self.feed()

    def deletes(self) -> list[Any]:
        """Every flow delete sent so far."""
        return [
            a.message for a in self.sent if isinstance(a.message, FlowDelete | FlowDeleteCookie)
        ]

    def release_barriers(self) -> None:
        """Answer the barriers held while ``answer_barriers`` was off."""
        held, self.held_barriers = self.held_barriers, []
        self.feed(*held)

    # ---- output --------------------------------------------------------------------------
    def _carry_out(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case ToSwitch(message, xid):
                    self.sent.append(action)
                    self._apply(message, xid)
                case Publish(message):
                    self.published.append(message)
                case Reply(ticket):
                    self.replies[ticket] = action
                case WakeAt(mono):
                    self.wakes.append(mono)
                case SettleLater():
                    self._queue.append(Settle())
                case SettleMoreLater():
                    self._queue.append(SettleMore())
                case RoundWorkLater():
                    self._queue.append(RoundWork())
                case VerifyLater():
                    pass  # tests drive the verification rounds themselves (``verify``)

    def _apply(self, message: Any, xid: int) -> None:
        match message:
            case FlowAdd(rule):
                self.net.apply([rule])
            case FlowDelete(rule):
                self.net.remove([rule])
            case FlowDeleteCookie(dpid, cookie, mask):
                self.net.delete(cookie, mask, dpid)
            case MeterAdd(meter) | MeterModify(meter):
                self.net.apply_meters([meter])
            case MeterDelete(dpid, meter_id):
                self.net.delete_meter(dpid, meter_id)
            case GroupAdd(group) if (group.dpid, group.group_id) in self.net.groups:
                reason = "OpenFlow error type 6 code 0"  # OFPGMFC_GROUP_EXISTS, kept as it was
                self._queue.append(SwitchError(group.dpid, xid, reason, group_exists=True))
            case GroupAdd(group) | GroupModify(group):
                self.net.apply_groups([group])
            case GroupDelete(dpid, group_id):
                self.net.delete_group(dpid, group_id)
            case Barrier(dpid):
                reply = BarrierReply(dpid, xid)
                if self.answer_barriers:
                    self._queue.append(reply)
                else:
                    self.held_barriers.append(reply)

    # ---- a network ---------------------------------------------------------------------------
    def connect_square(self, hosts: bool = True, cables: list[tuple[int, int]] = CABLES) -> None:
        """Switches up, links discovered by probes, both hosts announced by ARP (if ``hosts``).

        ``cables`` may add switches and cables to the square (switch a reaches b on 10 + b).
        """
        for dpid in sorted({d for cable in cables for d in cable}):
            ports = [Port(1, f"s{dpid}-eth1")] + [
                Port(10 + other, f"s{dpid}-eth{10 + other}")
                for a, b in cables
                for other in (a, b)
                if dpid in (a, b) and other != dpid
            ]
            self.feed(
                SwitchFeatures(dpid), SwitchUp(dpid), SwitchPorts(dpid, f"s{dpid}", tuple(ports))
            )
        for a, b in cables:
            self.cable(a, b, up=True)
        announced = HOSTS.items() if hosts else ()
        for dpid, (mac, ip) in announced:  # each host asks for a gateway: learned
            frame = arp_frame(1, mac, ip, "ff:ff:ff:ff:ff:ff", "10.0.0.254")
            self.feed(PacketIn(dpid, 1, frame))

    def cable(self, a: int, b: int, up: bool, tell: bool = True) -> None:
        """A cable comes up (both directions probed) or goes down (port down on both ends).

        ``tell=False`` pulls the cable without the core hearing of it (a frozen controller):
        only the switches' fast-failover groups react; :meth:`tell_cable_down` tells it later.
        """
        ends = [Cable(a, 10 + b, b, 10 + a), Cable(b, 10 + a, a, 10 + b)]
        for end in ends:
            known = self.core.db.switches.get(end.src)
            port = known.ports.get(end.src_port) if known else None
            if up and port is not None and not port.up:  # plugged back in: port status first
                self.feed(PortChanged(end.src, end.src_port, Port(end.src_port, port.name)))
        for end in ends:
            if up:
                self.net.add_link(end)
                frame = probe_frame(end.src, end.src_port, "", NONCE, self.now.mono)
                self.feed(PacketIn(end.dst, end.dst_port, frame))
            else:
                self.net.remove_link(end)
        if not up and tell:
            self.tell_cable_down(a, b)

    def tell_cable_down(self, a: int, b: int) -> None:
        """Both ends of the a-b cable report their port down (port status to the core)."""
        for src, dst in ((a, b), (b, a)):
            port = Port(10 + dst, f"s{src}-eth{10 + dst}", up=False)
            self.feed(PortChanged(src, 10 + dst, port))
