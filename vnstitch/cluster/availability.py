"""Whether the replicated store can commit, as this client last saw it: refuse at once while not.

Without a majority of members, a transaction waits out the client's whole timeout (5 s) before
it fails; on the controller's one thread of control that wait stops LLDP, and links expire. So
once the store was seen without a majority (no member leads one, or a transaction timed out),
every transaction is refused at once (``StoreUnavailable`` naming why and for how long) and the
store is probed again at most once per ``probe_every_s`` with a short timeout; the first probe
or heartbeat that commits makes it available again. Pure: ``now`` (monotonic seconds) is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

PROBE_EVERY_S = 1.0  # while unavailable, one short probe per this long at most
PROBE_TIMEOUT_S = 0.5  # what a probe may take (a full transaction waits 5 s)


class Check(Enum):
    """What to do with the next transaction."""

    GO = "go"  # available: the full timeout
    PROBE = "probe"  # unavailable, a probe is due: try with the short timeout
    REFUSE = "refuse"  # unavailable: refuse at once


@dataclass
class Availability:
    """The store's availability as seen by one client (and its elector)."""

    probe_every_s: float = PROBE_EVERY_S
    down_since: float | None = None
    reason: str = ""
    next_probe: float = 0.0

    @property
    def available(self) -> bool:
        """Whether the store was last seen able to commit."""
        return self.down_since is None

    def check(self, now: float) -> Check:
        """What the next transaction does; a probe is handed out once per interval."""
        if self.down_since is None:
            return Check.GO
        if now >= self.next_probe:
            self.next_probe = now + self.probe_every_s
            return Check.PROBE
        return Check.REFUSE

    def lost(self, now: float, reason: str) -> None:
        """A transaction or a look found no majority: refuse from now on."""
        if self.down_since is None:
            self.down_since = now
        self.reason = reason
        self.next_probe = max(self.next_probe, now + self.probe_every_s)

    def regained(self, now: float) -> float | None:
        """A transaction committed: available again (how long it was not, if it was not)."""
        since, self.down_since = self.down_since, None
        return None if since is None else now - since

    def refusal(self, now: float) -> str:
        """Why a transaction is refused at once."""
        down = 0.0 if self.down_since is None else now - self.down_since
        return (
            f"{self.reason} (no majority seen for {down:.1f} s; refused at once, "
            f"checked again every {self.probe_every_s:g} s)"
        )
