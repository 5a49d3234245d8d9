"""What the controller core asks for: messages to switches and the predictor, replies, wake-ups.

The core never sends anything. It returns these, and the Ryu adapter translates each one
(``ryu_apps/ofp_translate.py``) and sends it. Every switch message carries the xid the core
chose, so replies and errors are traced back without asking the adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vnstitch.messages import Message
from vnstitch.stitcher.install_jobs import (
    FlowAdd,
    FlowDelete,
    GroupAdd,
    GroupDelete,
    GroupModify,
    MeterAdd,
    MeterDelete,
    op_dpid,
)
from vnstitch.stitcher.install_jobs import MeterModify as MeterModify  # a switch message too


@dataclass(frozen=True, slots=True)
class FlowDeleteCookie:
    """Delete every entry, in every table, whose cookie matches under the mask."""

    dpid: int
    cookie: int
    mask: int


@dataclass(frozen=True, slots=True)
class PacketOut:
    """Send a frame (``vnstitch.core.frames``, or a packet-in's bytes) out of ``port``."""

    dpid: int
    port: int
    frame: bytes


@dataclass(frozen=True, slots=True)
class Barrier:
    """A barrier request."""

    dpid: int


@dataclass(frozen=True, slots=True)
class PortDescRequest:
    """Ask a switch for its ports."""

    dpid: int


@dataclass(frozen=True, slots=True)
class PortStatsRequest:
    """Ask a switch for every port's counters."""

    dpid: int


@dataclass(frozen=True, slots=True)
class FlowStatsRequest:
    """Ask a switch for every flow entry of table 0 with its counters."""

    dpid: int


@dataclass(frozen=True, slots=True)
class MeterConfigRequest:
    """Ask a switch for every meter's configuration (for data-plane verification)."""

    dpid: int


@dataclass(frozen=True, slots=True)
class GroupDescRequest:
    """Ask a switch for every group's description (for data-plane verification)."""

    dpid: int


@dataclass(frozen=True, slots=True)
class EchoRequest:
    """An echo request carrying ``data`` (the send time), to measure the control channel."""

    dpid: int
    data: bytes


SwitchMessage = (
    FlowAdd
    | FlowDelete
    | FlowDeleteCookie
    | MeterAdd
    | MeterModify
    | MeterDelete
    | GroupAdd
    | GroupModify
    | GroupDelete
    | PacketOut
    | Barrier
    | PortDescRequest
    | PortStatsRequest
    | FlowStatsRequest
    | MeterConfigRequest
    | GroupDescRequest
    | EchoRequest
)


def message_dpid(msg: SwitchMessage) -> int:
    """The switch a message goes to."""
    match msg:
        case FlowAdd() | FlowDelete() | MeterAdd() | MeterDelete():
            return op_dpid(msg)
        case GroupAdd() | GroupModify() | GroupDelete():
            return op_dpid(msg)
        case MeterModify(meter):
            return meter.dpid
        case _:
            return msg.dpid


@dataclass(frozen=True, slots=True)
class ToSwitch:
    """Send ``message`` with transaction id ``xid``."""

    message: SwitchMessage
    xid: int

    @property
    def dpid(self) -> int:
        """The switch it goes to."""
        return message_dpid(self.message)


@dataclass(frozen=True, slots=True)
class Publish:
    """Send a message to the predictor (observations, topology, reservation changes)."""

    message: Message


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to northbound request ``ticket``: an HTTP-like status and a JSON body."""

    ticket: int
    status: int
    body: Any
    content_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class WakeAt:
    """Post a :class:`vnstitch.core.events.Wake` at this monotonic time."""

    mono: float


@dataclass(frozen=True, slots=True)
class SettleLater:
    """Post a :class:`vnstitch.core.events.Settle` after the events already queued."""


@dataclass(frozen=True, slots=True)
class SettleMoreLater:
    """Post a :class:`vnstitch.core.events.SettleMore` after the events already queued."""


@dataclass(frozen=True, slots=True)
class RoundWorkLater:
    """Post a :class:`vnstitch.core.events.RoundWork` after the events already queued."""


@dataclass(frozen=True, slots=True)
class VerifyLater:
    """Post a :class:`vnstitch.core.events.VerifyMore` after the events already queued."""


Action = (
    ToSwitch
    | Publish
    | Reply
    | WakeAt
    | SettleLater
    | SettleMoreLater
    | VerifyLater
    | RoundWorkLater
)


@dataclass
class Outbox:
    """Collects the actions of one event; hands out xids (the adapter never picks one)."""

    actions: list[Action] = field(default_factory=list)
    next_xid: int = 1

    def send(self, message: SwitchMessage) -> int:
        """Queue a switch message; returns its xid."""
        xid = self.next_xid
        self.next_xid = self.next_xid % 0xFFFFFFFF + 1
        self.actions.append(ToSwitch(message, xid))
        return xid

    def add(self, action: Action) -> None:
        """Queue any other action."""
        self.actions.append(action)

    def drain(self) -> list[Action]:
        """Everything queued since the last drain, in order."""
        out, self.actions = self.actions, []
        return out
