"""What the controller core is told: switch, packet, statistics, predictor and timer events.

The Ryu adapter turns every OpenFlow event into one of these (plain data, no Ryu types) and
hands it to :meth:`vnstitch.core.controller.ControllerCore.handle` with the time it arrived.
Northbound commands (REST) are in :mod:`vnstitch.core.commands`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from topology.model import Port
from vnstitch.forwarding.arp import ArpPacket
from vnstitch.messages import Message
from vnstitch.rules.model import GroupSpec, ReportedAction


@dataclass(frozen=True, slots=True)
class SwitchFeatures:
    """A switch finished the OpenFlow handshake (its tables are kept, never wiped)."""

    dpid: int


@dataclass(frozen=True, slots=True)
class SwitchUp:
    """A switch is ready for messages (Ryu's MAIN dispatcher)."""

    dpid: int


@dataclass(frozen=True, slots=True)
class SwitchPorts:
    """A switch's port description: its bridge name and every physical port."""

    dpid: int
    name: str | None
    ports: tuple[Port, ...]


@dataclass(frozen=True, slots=True)
class SwitchDown:
    """The connection to a switch is gone."""

    dpid: int


@dataclass(frozen=True, slots=True)
class PortChanged:
    """Port status: ``port`` is its new state, or None when the port was deleted."""

    dpid: int
    port_no: int
    port: Port | None


@dataclass(frozen=True, slots=True)
class PacketIn:
    """A packet a switch sent to the controller, as it came (decoded by the core)."""

    dpid: int
    in_port: int
    data: bytes


@dataclass(frozen=True, slots=True)
class ProbeIn:
    """One of the controller's discovery probes came back from switch ``dpid`` on ``in_port``."""

    dpid: int
    in_port: int
    sender_dpid: int
    sender_port: int
    nonce: int
    sent_mono: float


@dataclass(frozen=True, slots=True)
class ArpIn:
    """An ARP packet-in, decoded, with the frame to forward as it is."""

    packet: ArpPacket
    data: bytes


@dataclass(frozen=True, slots=True)
class Ipv4In:
    """An IPv4 packet-in: nobody's rule matched it."""

    dpid: int
    in_port: int
    eth_src: str
    eth_dst: str
    ip_src: str
    data: bytes


@dataclass(frozen=True, slots=True)
class OtherPacketIn:
    """A packet-in the controller does not act on (counted only): ``kind`` names it."""

    kind: str


@dataclass(frozen=True, slots=True)
class EchoReply:
    """A switch answered an echo request; ``data`` is what the request carried."""

    dpid: int
    data: bytes


@dataclass(frozen=True, slots=True)
class BarrierReply:
    """A switch answered barrier ``xid``."""

    dpid: int
    xid: int


@dataclass(frozen=True, slots=True)
class SwitchError:
    """A switch refused message ``xid``; ``meter_exists`` marks an add of a meter it kept,
    ``group_exists`` an add of a group id it holds (the job runner modifies it instead)."""

    dpid: int
    xid: int
    reason: str
    meter_exists: bool = False
    group_exists: bool = False


@dataclass(frozen=True, slots=True)
class PortCounters:
    """One port's transmit counter from a port-stats reply."""

    port_no: int
    tx_bytes: int


@dataclass(frozen=True, slots=True)
class PortStats:
    """A switch's port-stats reply."""

    dpid: int
    ports: tuple[PortCounters, ...]


@dataclass(frozen=True, slots=True)
class FlowCounters:
    """One flow entry as a switch reported it: counters, and what it does to a packet.

    ``match`` holds OXM fields as Ryu's ``OFPMatch.items()`` gives them (a masked field is a
    ``(value, mask)`` pair). The instructions, in plain data for the data-plane verifier
    (``vnstitch.verify``): the meter instruction, the apply-actions list in order, the
    write-actions set, a goto-table target, and the names of instructions not modelled.
    """

    priority: int
    cookie: int
    match: dict[str, Any]
    byte_count: int
    duration_s: float
    table_id: int = 0
    meter_id: int | None = None
    actions: tuple[ReportedAction, ...] = ()  # apply-actions, in order
    write_actions: tuple[ReportedAction, ...] = ()  # the action set, run when the pipeline ends
    goto_table: int | None = None
    other_instructions: tuple[str, ...] = ()  # e.g. "write_metadata": not modelled


@dataclass(frozen=True, slots=True)
class FlowStats:
    """A switch's complete flow-stats reply (all multipart parts)."""

    dpid: int
    flows: tuple[FlowCounters, ...]


@dataclass(frozen=True, slots=True)
class MeterBand:
    """One band of a meter: ``kind`` is "drop", "dscp_remark" or "experimenter"."""

    kind: str
    rate: int  # kbit/s, or packets/s when the meter counts packets
    burst: int  # kbit, or packets


@dataclass(frozen=True, slots=True)
class MeterConfig:
    """One meter as a switch reported it (meter config stats)."""

    meter_id: int
    bands: tuple[MeterBand, ...]
    per_packet: bool = False  # OFPMF_PKTPS: rates in packets/s instead of kbit/s

    @property
    def rate_kbps(self) -> int | None:
        """The rate the meter lets through: its lowest drop band, in kbit/s (None if none)."""
        drops = [b.rate for b in self.bands if b.kind == "drop"]
        return None if self.per_packet or not drops else min(drops)

    @property
    def burst_kb(self) -> int | None:
        """The burst of the drop band ``rate_kbps`` comes from (None if none)."""
        rate = self.rate_kbps
        return next((b.burst for b in self.bands if b.kind == "drop" and b.rate == rate), None)


@dataclass(frozen=True, slots=True)
class MeterConfigs:
    """A switch's complete meter-config reply (all multipart parts)."""

    dpid: int
    meters: tuple[MeterConfig, ...]


@dataclass(frozen=True, slots=True)
class GroupDescs:
    """A switch's complete group-description reply (all multipart parts)."""

    dpid: int
    groups: tuple[GroupSpec, ...]


@dataclass(frozen=True, slots=True)
class PredictorFrames:
    """One multipart message from the predictor's socket, not yet decoded."""

    frames: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class PredictorMessage:
    """A decoded message from the predictor (forecasts, anomalies, status)."""

    message: Message


REJECTED_KEY = "unauthorized_key"  # a CURVE client whose public key is not authorized
REJECTED_HANDSHAKE = "handshake"  # not CURVE, the wrong server key, or not ZeroMQ at all


@dataclass(frozen=True, slots=True)
class PredictorRejected:
    """A connection to a predictor socket was refused before any frame was read.

    ``reason`` is REJECTED_KEY or REJECTED_HANDSHAKE; ``detail`` names the peer for the log.
    """

    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class ProbeTick:
    """Time to send discovery probes and expire silent links."""


@dataclass(frozen=True, slots=True)
class EchoTick:
    """Time to measure every switch's control-channel round trip."""


@dataclass(frozen=True, slots=True)
class StatsTick:
    """A statistics round starts (fixed rate)."""


@dataclass(frozen=True, slots=True)
class Wake:
    """A deadline the core asked for (:class:`vnstitch.core.actions.WakeAt`) has come."""


@dataclass(frozen=True, slots=True)
class Settle:
    """The burst of topology changes is over: re-stitch and retry once for all of them."""


@dataclass(frozen=True, slots=True)
class SettleMore:
    """Go on with the re-stitch in progress after a topology change (one slice per event)."""


@dataclass(frozen=True, slots=True)
class RoundWork:
    """A statistics round's requests are out: provision from the forecasts, adjust paths.

    Its own event so that the round's requests leave when their instant was noted, not after
    this work (and its store commit): the counters are attributed to steps by that instant.
    """


@dataclass(frozen=True, slots=True)
class VerifyMore:
    """Go on with the data-plane verification round in progress (one slice per event)."""


Event = (
    SwitchFeatures
    | SwitchUp
    | SwitchPorts
    | SwitchDown
    | PortChanged
    | PacketIn
    | ProbeIn
    | ArpIn
    | Ipv4In
    | OtherPacketIn
    | EchoReply
    | BarrierReply
    | SwitchError
    | PortStats
    | FlowStats
    | MeterConfigs
    | GroupDescs
    | PredictorFrames
    | PredictorMessage
    | PredictorRejected
    | ProbeTick
    | EchoTick
    | StatsTick
    | Wake
    | Settle
    | SettleMore
    | VerifyMore
    | RoundWork
)
