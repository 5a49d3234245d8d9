"""Install jobs: ordered phases of OpenFlow operations, each phase confirmed by barriers.

The adapter sends every operation of a phase, then a barrier to each switch it touched, and
starts the next phase only when all those barriers are answered. An error reply to any message
fails the job. This is how "downstream first, ingress last" is guaranteed across switches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from vnstitch.rules.model import FlowRule, GroupSpec, MeterSpec


@dataclass(frozen=True)
class FlowAdd:
    """Add (or overwrite in place) a flow entry.

    ``in_place``: claim an entry already on the switch without replacing it (OpenFlow
    modify-strict: counters and duration kept, nothing added if it is missing; the audit adds
    what is missing). A new cluster leader claims its predecessor's rules so.
    """

    rule: FlowRule
    in_place: bool = False


@dataclass(frozen=True)
class FlowDelete:
    """Delete exactly this entry, only if it still carries this rule's cookie."""

    rule: FlowRule


@dataclass(frozen=True)
class MeterAdd:
    """Add a meter."""

    meter: MeterSpec


@dataclass(frozen=True)
class MeterDelete:
    """Delete a meter."""

    dpid: int
    meter_id: int


@dataclass(frozen=True, slots=True)
class MeterModify:
    """Change a meter in place (or fail harmlessly if it does not exist)."""

    meter: MeterSpec


@dataclass(frozen=True, slots=True)
class GroupAdd:
    """Add a group (a switch that already holds the id answers "group exists": the job
    runner then sends it again as :class:`GroupModify`, so the switch ends up as planned)."""

    group: GroupSpec


@dataclass(frozen=True, slots=True)
class GroupModify:
    """Replace a group's type and buckets in place."""

    group: GroupSpec


@dataclass(frozen=True, slots=True)
class GroupDelete:
    """Delete a group (a switch also deletes every flow entry that sends to it)."""

    dpid: int
    group_id: int


Op = (
    FlowAdd
    | FlowDelete
    | MeterAdd
    | MeterModify
    | MeterDelete
    | GroupAdd
    | GroupModify
    | GroupDelete
)


def op_dpid(op: Op) -> int:
    """The switch an operation goes to."""
    if isinstance(op, FlowAdd | FlowDelete):
        return op.rule.dpid
    if isinstance(op, MeterAdd | MeterModify):
        return op.meter.dpid
    if isinstance(op, GroupAdd | GroupModify):
        return op.group.dpid
    return op.dpid


class JobKind(StrEnum):
    """Why a job runs."""

    INSTALL = "install"
    MOVE = "move"
    REMOVE = "remove"
    ROLLBACK = "rollback"
    REPAIR = "repair"  # the old plan again, after a failed move
    AUDIT = "audit"  # what the audit found missing (or orphaned) on a switch


@dataclass
class Job:
    """Phases of operations for one version of one reservation.

    ``confirm_phase`` is the phase whose barriers make the reservation ACTIVE (later phases
    only clean up); None for jobs nobody waits on.
    """

    reservation_id: int
    version: int
    kind: JobKind
    phases: list[list[Op]] = field(default_factory=list)
    confirm_phase: int | None = None
    intent_id: str | None = None  # set on an intent's own jobs (isolation drops)
