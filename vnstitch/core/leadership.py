"""Leadership of a controller cluster: who may write, and what the switches are told.

Pure: the elector (``vnstitch.cluster.election``, an OVSDB lock on the replicated store) reports
what it saw, the adapter reports switches and role replies; this decides and returns actions.
The leader holds a **generation** taken from the store (incremented by every takeover); it asks
every switch for the MASTER role with it, and re-asserts it periodically. A switch refuses a
role request whose generation is older than one it has seen (OpenFlow 1.3, ``OFPRRFC_STALE``):
a leader that was replaced while paused learns so from the switch (or from the store, whose
writes it can no longer commit) and steps down. Followers ask for the SLAVE role (they still
get port status) and write nothing to switches or store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

LOG = logging.getLogger("vnstitch.cluster")


class Role(Enum):
    """What this instance is."""

    FOLLOWER = "follower"
    LEADER = "leader"


@dataclass(frozen=True)
class SendRole:
    """Ask switch ``dpid`` for MASTER (``master``) or SLAVE with ``generation``."""

    dpid: int
    master: bool
    generation: int


@dataclass(frozen=True)
class TakeOver:
    """Become the leader: load the state from the store and claim the switches' rules.

    It follows the MASTER role requests: a switch handles messages in order, so no message of
    the new core reaches a switch before the role request that makes it the master.
    """

    generation: int


@dataclass(frozen=True)
class StepDown:
    """Stop acting as leader at once (no more writes); ``reason`` for the log."""

    reason: str


LeadershipAction = SendRole | TakeOver | StepDown


class Leadership:
    """This instance's role and generation, and the switches it talks to."""

    def __init__(self, instance: str) -> None:
        """Start as follower; ``instance`` names this instance in log lines."""
        self.instance = instance
        self.role = Role.FOLLOWER
        self.generation: int | None = None  # ours while leading
        self.latest = 0  # the newest generation seen in the store or refused by a switch
        self.leader: str | None = None  # the leader's name, as last seen in the store
        self.switches: set[int] = set()
        self.masters: set[int] = set()  # switches that confirmed our MASTER role

    @property
    def leading(self) -> bool:
        """Whether this instance may write."""
        return self.role is Role.LEADER

    def elected(self, generation: int) -> list[LeadershipAction]:
        """The store made us leader with ``generation``: take over and claim every switch."""
        if self.leading and generation == self.generation:
            return []
        if generation < self.latest:  # an older takeover reported late: not ours any more
            LOG.warning(
                "%s: generation %d is stale (seen %d)", self.instance, generation, self.latest
            )
            return []
        self.latest = max(self.latest, generation)
        self.role, self.generation, self.leader = Role.LEADER, generation, self.instance
        self.masters.clear()
        LOG.info("%s: leader with generation %d", self.instance, generation)
        return [*self._claims(), TakeOver(generation)]  # the role goes before any flow-mod

    def lost(self, reason: str) -> list[LeadershipAction]:
        """The lock or the store says we no longer lead: step down and become SLAVE."""
        if not self.leading:
            return []
        self.role, self.generation = Role.FOLLOWER, None
        self.masters.clear()
        LOG.warning("%s: stepping down: %s", self.instance, reason)
        return [StepDown(reason), *self._claims()]

    def observed(self, generation: int, leader: str | None) -> list[LeadershipAction]:
        """The store's current generation and leader (read by the elector's heartbeat)."""
        self.latest = max(self.latest, generation)
        self.leader = leader
        if self.leading and self.generation is not None and generation > self.generation:
            return self.lost(f"{leader} took over with generation {generation}")
        return []

    def switch_up(self, dpid: int) -> list[LeadershipAction]:
        """A switch connected: tell it our role before anything else."""
        self.switches.add(dpid)
        return self._claim(dpid)

    def switch_down(self, dpid: int) -> None:
        """A switch's connection is gone."""
        self.switches.discard(dpid)
        self.masters.discard(dpid)

    def refresh(self) -> list[LeadershipAction]:
        """Re-assert the leader's role on every switch (a stale one is refused: fencing)."""
        return self._claims() if self.leading else []

    def role_confirmed(self, dpid: int, master: bool, generation: int) -> None:
        """A switch answered a role request."""
        self.latest = max(self.latest, generation)
        if master and self.leading and generation == self.generation:
            self.masters.add(dpid)

    def role_refused(self, dpid: int, stale: bool) -> list[LeadershipAction]:
        """A switch refused our role request; a stale generation means we were replaced."""
        if stale and self.leading:
            return self.lost(f"switch {dpid:016x} refused generation {self.generation} as stale")
        return []

    def _claims(self) -> list[LeadershipAction]:
        return [a for dpid in sorted(self.switches) for a in self._claim(dpid)]

    def _claim(self, dpid: int) -> list[LeadershipAction]:
        if self.leading and self.generation is not None:
            return [SendRole(dpid, True, self.generation)]
        if self.latest > 0:
            return [SendRole(dpid, False, self.latest)]
        return []  # no generation known yet: the connection stays EQUAL; we write nothing
