"""Groups: the fast-failover group of a protected hop, and which group ids reservations take.

A protected reservation (``vnstitch.stitcher.protection``) sends its packets at each switch of
its path through a fast-failover group instead of straight out of a port: the first bucket
outputs to the path's next link and watches that port, the second outputs to the first link
of the detour around it and watches that one. When the path's port goes down the switch
itself takes the second bucket, without asking the controller.

Group ids are handed out per switch by the stitch service, like meter ids: never one that a
plan being replaced still uses, so a make-before-break move never rewrites a group in use.
"""

from __future__ import annotations

from vnstitch.rules.model import PORT_IN_PORT, Bucket, GroupKind, GroupSpec, Output

GROUP_MAX = 0xFFFFFF00  # OFPG_MAX: the last id a switch accepts for a group of its own
RESERVATION_GROUPS = 0x00FFFFFF  # reservation groups take ids 1 .. this on every switch
RESERVATION_GROUP_IDS = range(1, RESERVATION_GROUPS + 1)


def failover_group(
    dpid: int, group_id: int, primary_port: int, backup_port: int, in_port: int | None = None
) -> GroupSpec:
    """Out of ``primary_port`` while it is live, else out of ``backup_port`` (if live).

    A detour may turn back the way the packets came (on a ring it must): when ``backup_port``
    is the ``in_port`` of the only rule that uses the group, the bucket outputs to IN_PORT,
    since a switch never sends a packet out of its in-port otherwise.
    """
    back = PORT_IN_PORT if backup_port == in_port else backup_port
    return GroupSpec(
        dpid,
        group_id,
        GroupKind.FAST_FAILOVER,
        (
            Bucket((Output(primary_port),), watch_port=primary_port),
            Bucket((Output(back),), watch_port=backup_port),
        ),
    )


class GroupIds:
    """The reservation group ids in use on every switch, and the next one to try on each."""

    def __init__(self) -> None:
        self._used: dict[int, set[int]] = {}
        self._next: dict[int, int] = {}

    def take(self, dpid: int, avoid: frozenset[int] = frozenset()) -> int:
        """A free id on ``dpid`` (never one in ``avoid``: still used by a plan being replaced)."""
        used = self._used.setdefault(dpid, set())
        group_id = self._next.get(dpid, 1)
        while group_id in used or group_id in avoid:
            group_id = group_id % RESERVATION_GROUPS + 1
        self._next[dpid] = group_id % RESERVATION_GROUPS + 1
        used.add(group_id)
        return group_id

    def hold(self, dpid: int, group_id: int) -> None:
        """Mark an id used (a stored plan's group, still on the switch)."""
        self._used.setdefault(dpid, set()).add(group_id)

    def free(self, dpid: int, group_id: int) -> None:
        """The id may be handed out again."""
        self._used.get(dpid, set()).discard(group_id)

    def used(self, dpid: int, group_id: int) -> bool:
        """True when the id is handed out on ``dpid``."""
        return group_id in self._used.get(dpid, ())
