"""How a branch of a traced packet ended: delivered, dropped, missed, looped, ...

Each :class:`Outcome` names the switch and, when one entry is responsible, that entry; its
``describe`` is the sentence verdicts put in their reasons ("dropped at switch 0000000000000002
by cookie 0x2100000000010000 priority 65000 match {…}").
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NamedTuple

from topology.model import dpid_str
from vnstitch.verify.entries import Entry, port_name


class OutcomeKind(StrEnum):
    """What finally happened to one branch of a packet."""

    DELIVERED = "delivered"  # left the network at (dpid, port)
    DROPPED = "dropped"  # an entry (or its group) sent it nowhere
    TABLE_MISS = "table_miss"  # no entry matched: dropped
    CONTROLLER = "controller"  # an entry sent it to the controller
    LOOP = "loop"
    AMBIGUOUS = "ambiguous"  # equal-priority entries that act differently
    PORT_DOWN = "port_down"  # output to a port that is down
    UNSUPPORTED = "unsupported"  # something the model does not follow (goto-table, ...)
    NOT_REPORTED = "not_reported"  # the switch has not reported the table needed


class Outcome(NamedTuple):
    """The end of one branch: where, and the entry responsible (if one was)."""

    kind: OutcomeKind
    dpid: int
    port: int | None = None  # DELIVERED / PORT_DOWN: the output; others: the ingress port
    entry: Entry | None = None
    detail: str = ""
    rivals: tuple[Entry, ...] = ()

    def describe(self) -> str:
        """One line, naming switch, entry (cookie, priority, match) and what happened."""
        sw = dpid_str(self.dpid)
        by = "" if self.entry is None else f" by {self.entry.describe()}"
        extra = f" ({self.detail})" if self.detail else ""
        port = "?" if self.port is None else port_name(self.port)
        match self.kind:
            case OutcomeKind.DELIVERED:
                return f"left at {sw} port {port}"
            case OutcomeKind.DROPPED:
                return f"dropped at switch {sw}{by}{extra}"
            case OutcomeKind.TABLE_MISS:
                return f"no entry matched at switch {sw} (in port {port}): table miss, dropped"
            case OutcomeKind.CONTROLLER:
                return f"sent to the controller at switch {sw}{by}"
            case OutcomeKind.LOOP:
                return f"loops: back at switch {sw} in port {port}{extra}"
            case OutcomeKind.AMBIGUOUS:
                both = " and ".join(e.describe() for e in (self.entry, *self.rivals) if e)
                return f"ambiguous at switch {sw}: {both} match it at equal priority and differ"
            case OutcomeKind.PORT_DOWN:
                return f"sent out of switch {sw} port {port}, which is down,{by}"
            case OutcomeKind.UNSUPPORTED:
                return f"not followed at switch {sw}: {self.detail}{by}"
            case OutcomeKind.NOT_REPORTED:
                return f"switch {sw} has not reported its {self.detail or 'flow table'}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "kind": self.kind.value,
            "dpid": dpid_str(self.dpid),
            "port": None if self.port is None else port_name(self.port),
            "entry": None if self.entry is None else self.entry.to_dict(),
            "detail": self.detail or None,
            "text": self.describe(),
        }
