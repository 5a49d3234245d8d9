"""What a protected plan needs beside its primary: detours, group ids, and its share of the pool.

The stitch service asks this for a protected plan (``protect``: detours that fit the shared
backup pool, fresh group ids, the plan's groups and rules, ``vnstitch.stitcher.protection``),
books the plan's backup next to its primary (``book``, all-or-nothing with the primary's own
booking), and asks after a topology change whether a plan is still protected (``intact``) or
already running on the detour of the one cable it lost (``failed_over``).

The room a detour may take on a link for one failure (``room``) counts the plan's own primary
as booked and, during a move, its old backup as still held: conservative, so the pool's
admission afterwards never refuses what the search found.
"""

from __future__ import annotations

from topology.database import TopologyDatabase
from topology.model import LinkId
from vnstitch.resources.admission import InsufficientResources
from vnstitch.resources.backup import BackupPool, Cable
from vnstitch.resources.ledger import Ledger
from vnstitch.rules.groups import GroupIds
from vnstitch.stitcher.protection import (
    NoBackup,
    Room,
    cable_of,
    find_detours,
    hops_needing_groups,
    link_text,
    protect_plan,
)
from vnstitch.stitcher.reservation import PathPlan, ReservationRequest, StoredPlan

POOL_OWNER = -1  # the ledger owner holding the shared backup pool (reservation ids are > 0)


class Backups:
    """Group ids and backup bookings of every protected plan."""

    def __init__(self, db: TopologyDatabase, ledger: Ledger[int]) -> None:
        self.db = db
        self.ledger = ledger
        self.pool: BackupPool[int] = BackupPool(ledger, POOL_OWNER)
        self.group_ids = GroupIds()

    # ---- planning -------------------------------------------------------------------------
    def room(self, owner: int, plan: PathPlan) -> Room:
        """Backup room per (failed cable, link) once ``plan``'s primary is booked for ``owner``."""
        held = self.ledger.holding(owner)
        own = held.amounts if held is not None else {}
        pool = self.pool

        def room(cable: Cable, link: LinkId) -> float:
            extra = max(0.0, plan.demands.get(link, 0.0) - own.get(link, 0.0))
            return pool.room(cable, link) - extra

        return room

    def fits(self, owner: int, plan: PathPlan) -> bool:
        """True when ``plan``'s backup has room on every link for every failure."""
        room = self.room(owner, plan)
        return all(
            mbps <= room(cable, link) + 1e-9
            for cable, links in plan.backup.items()
            for link, mbps in links.items()
        )

    def protect(
        self, owner: int, plan: PathPlan, request: ReservationRequest, old: PathPlan | None
    ) -> PathPlan | NoBackup:
        """``plan`` with a detour around every link and fresh group ids (none the ``old`` plan
        it replaces still uses), or the link no detour fits around."""
        graph = self.db.graph
        detours = find_detours(graph, plan, request, self.room(owner, plan))
        if isinstance(detours, NoBackup):
            return detours
        avoid: dict[int, set[int]] = {}
        for group in old.groups if old else ():
            avoid.setdefault(group.dpid, set()).add(group.group_id)
        group_ids = {
            (dpid, reverse): self.group_ids.take(dpid, frozenset(avoid.get(dpid, ())))
            for dpid, reverse in hops_needing_groups(plan)
        }
        protected = protect_plan(graph, plan, detours, group_ids)
        assert protected is not None, "the detours just found fit"
        return protected

    def adopt(self, owner: int, plan: PathPlan, stored: StoredPlan) -> PathPlan | None:
        """A restored plan with its stored detours and groups, if they still fit."""
        protected = protect_plan(self.db.graph, plan, stored.detours, stored.group_ids)
        if protected is None or not self.fits(owner, protected):
            return None
        return protected

    def hold_stored(self, stored: StoredPlan | None) -> None:
        """A restored plan's groups are still on the switches: nobody else takes their ids."""
        for (dpid, _), group_id in (stored.group_ids if stored else {}).items():
            self.group_ids.hold(dpid, group_id)

    def forget_stored(self, stored: StoredPlan, plan: PathPlan | None) -> None:
        """The stored plan's group ids the current ``plan`` does not use are free again."""
        kept = {(g.dpid, g.group_id) for g in plan.groups} if plan else set()
        for (dpid, _), group_id in stored.group_ids.items():
            if (dpid, group_id) not in kept:
                self.group_ids.free(dpid, group_id)

    def free_groups(self, plan: PathPlan | None) -> None:
        """The plan's group ids may be handed out again."""
        for group in plan.groups if plan else ():
            self.group_ids.free(group.dpid, group.group_id)

    # ---- bookings -------------------------------------------------------------------------
    def book(self, owner: int, plan: PathPlan, moving: bool) -> str | None:
        """Book ``plan``'s backup (replacing the owner's, or beside it while moving); None when
        booked, else why not, naming the protected link and the link that lacks room."""
        pool = self.pool
        if not plan.backup and not pool.holds(owner):
            return None
        try:
            if moving:
                pool.begin_move(owner, plan.backup)
            else:
                pool.book(owner, plan.backup)
        except InsufficientResources as exc:
            link = next(k for k in exc.shortfalls if isinstance(k, LinkId))
            short = exc.shortfalls[link]
            cable = max(
                plan.backup, key=lambda c: pool.load(c, link) + plan.backup[c].get(link, 0.0)
            )
            return (
                f"no backup around link {link_text(cable)}: not enough free bandwidth on link "
                f"{link_text(link)} (asked {short.asked:g}, free {short.free:g})"
            )
        return None

    def settle(self, owner: int, keep_new: bool) -> None:
        """End the owner's move in the pool, if any: keep the new backup or return to the old."""
        if self.pool.in_move(owner):
            if keep_new:
                self.pool.commit_move(owner)
            else:
                self.pool.abort_move(owner)

    def release(self, owner: int) -> None:
        """Drop the owner's backup."""
        self.pool.release(owner)

    # ---- after a change -------------------------------------------------------------------
    def intact(self, plan: PathPlan) -> bool:
        """Every link of the plan's paths and of its detours is up."""
        links = self.db.links
        primary = all(k in links for k in plan.demands if isinstance(k, LinkId))
        return primary and all(k in links for per in plan.backup.values() for k in per)

    def failed_over(self, plan: PathPlan) -> bool:
        """Exactly one cable of the path failed and its detours are all up: the switches
        already moved the traffic, so the plan still delivers."""
        if not plan.detours:
            return False
        links = self.db.links
        lost = {cable_of(k) for k in plan.demands if isinstance(k, LinkId) and k not in links}
        if len(lost) != 1:
            return False
        (cable,) = lost
        return all(k in links for k in plan.backup.get(cable, {}))
