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
    """A switch refused message ``xid``; ``meter_exists`` marks an add of a meter it kept."""

    dpid: int
    xid: int
    reason: str
    meter_exists: bool = False


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
    """One flow entry as a switch reported it."""

    priority: int
    cookie: int
    match: dict[str, Any]
    byte_count: int
    duration_s: float


@dataclass(frozen=True, slots=True)
class FlowStats:
    """A switch's complete flow-stats reply (all multipart parts)."""

    dpid: int
    flows: tuple[FlowCounters, ...]


@dataclass(frozen=True, slots=True)
class PredictorFrames:
    """One multipart message from the predictor's socket, not yet decoded."""

    frames: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class PredictorMessage:
    """A decoded message from the predictor (forecasts, anomalies, status)."""

    message: Message


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
    | PredictorFrames
    | PredictorMessage
    | ProbeTick
    | EchoTick
    | StatsTick
    | Wake
    | Settle
)
