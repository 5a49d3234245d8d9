"""The virtual network stitcher (VNS): the stitching algorithm, reservation lifecycle, re-stitch.

``stitch``, step by step: candidate paths from the NTD filtered by latency, bandwidth and zone
(``vnstitch.stitcher.paths``), the cheapest chosen (``vnstitch.stitcher.cost``), resources
checked and allocated all-or-nothing with the RM (``vnstitch.resources.ledger``), rules and
meters compiled (``vnstitch.stitcher.plan``) into an install :class:`Job`, and the segment
recorded. The service never talks to a switch: it returns jobs; the adapter runs them and
reports back with :meth:`confirmed` or :meth:`failed`. Time is always a parameter.

A protected request also gets a detour around every link, fast-failover groups and its share
of the backup pool (``vnstitch.stitcher.backups``), booked with its primary, all or nothing;
after a failure its detour carries the traffic and it is moved make-before-break.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Set
from dataclasses import dataclass
from typing import Any

from topology.database import TopologyDatabase
from topology.model import Host, LinkId
from vnstitch.resources.admission import InsufficientResources, describe_key
from vnstitch.resources.inventory import capacities_from_topology, sync_capacities
from vnstitch.resources.keys import NodeResource, ResourceKind
from vnstitch.resources.ledger import Ledger
from vnstitch.rules.cookies import ARP_RESPONDER_COOKIE
from vnstitch.rules.meters import RESERVATION_METERS, SWITCH_METERS, meter_rate_mbps
from vnstitch.rules.model import FlowRule, GroupSpec, MeterSpec
from vnstitch.stitcher.backups import Backups
from vnstitch.stitcher.cost import DEFAULT_WEIGHTS, CostWeights
from vnstitch.stitcher.install_jobs import (
    FlowAdd,
    FlowDelete,
    GroupAdd,
    GroupDelete,
    Job,
    JobKind,
    MeterAdd,
    MeterDelete,
    Op,
)
from vnstitch.stitcher.path_results import NoPath, PathFound, PathRequest
from vnstitch.stitcher.paths import FreeMbps, PathSearch
from vnstitch.stitcher.plan import compile_plan
from vnstitch.stitcher.plan_index import PlanIndex, SwitchShare
from vnstitch.stitcher.protection import NoBackup
from vnstitch.stitcher.reservation import (
    Origin,
    PathPlan,
    Reservation,
    ReservationRequest,
    State,
    StoredPlan,
    backup_view,
    failover_beyond_bound,
)

LOG = logging.getLogger(__name__)

SWITCH_FLOWS = 1_000_000
RESTITCH_UNITS = 230  # a reservation searched for again, in checks (12 us each on Kdl)
SLICE_UNITS = 1_800  # work units per slice: about 20 ms on Kdl (bench/restitch_scale.py)
LATENCY_WEIGHTS = CostWeights(utilisation_ms=0.0, hop_ms=0.0)  # lowest latency, nothing else
_HOST_KINDS = frozenset({ResourceKind.CPU, ResourceKind.MEMORY_MB, ResourceKind.STORAGE_GB})
TrafficKey = tuple[str, str, int | None, int | None, str]  # src MAC, dst MAC, proto, port, side
LIVE = (State.PENDING, State.INSTALLING, State.ACTIVE, State.DEGRADED)
_GONE = (State.RELEASED, State.ENDED)
PROTECTION_ATTEMPTS = 3  # primaries tried, each avoiding the links the last had no backup for


@dataclass(frozen=True)
class Refusal:
    """Why a request cannot be stitched now: the constraint no path met, and the near miss."""

    constraint: str
    reason: str
    near_miss: dict[str, object] | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"constraint": self.constraint, "reason": self.reason, "near_miss": self.near_miss}


class StitchService:
    """Owns every reservation; turns requests and topology changes into install jobs."""

    def __init__(
        self, db: TopologyDatabase, ledger: Ledger[int], weights: CostWeights = DEFAULT_WEIGHTS
    ) -> None:
        self.db = db
        self.ledger = ledger
        self.weights = weights  # path cost of requests not preferring latency (cost module)
        self.reservations: dict[int, Reservation] = {}
        self._next_id = 1
        self._meters: dict[int, set[int]] = {}
        self._next_meter: dict[int, int] = {}
        self._old_plans: dict[int, PathPlan | None] = {}
        self.backups = Backups(db, ledger)  # detours, group ids and the shared backup pool
        self._no_backup: dict[int, str] = {}  # protected, but running without: why
        self._search: dict[bool, tuple[int, PathSearch]] = {}
        self._claims: dict[TrafficKey, int] = {}  # directed flow -> the reservation matching it
        self._claimed_by: dict[int, set[TrafficKey]] = {}  # reservation -> its claims
        self._free_generation = -1  # the graph generation _free_mbps was built for
        self._edge_links: dict[tuple[int, int], LinkId] = {}
        self._free_mbps: dict[tuple[int, int], float] = {}
        self._pair_owners: dict[frozenset[str], set[int]] = {}  # host MACs -> reservations
        # Restored after a restart and not confirmed since: the plan the store held (if any).
        # Their rules on the switches are theirs until they are confirmed or released.
        self._restored: dict[int, StoredPlan | None] = {}
        self.restore_until = 0.0  # wall clock: until then a restored one waits for its path
        self.claim_in_place = False  # a cluster takeover: restored rules claimed, not re-added
        self._repairing: set[int] = set()  # DEGRADED by the audit, its repair on the way
        self._plans_on = PlanIndex()  # per switch, the plans that put entries there (audit)
        self.on_new_id: Callable[[int], None] = lambda _id: None  # ids are made durable
        self.isolated: Callable[[str, str], bool] = lambda _a, _b: False  # MACs an intent parts

    # ---- capacities -----------------------------------------------------------------------
    def sync_capacities(self) -> set[int]:
        """Make the ledger's capacities match the NTD; returns owners that no longer fit."""
        capacities = capacities_from_topology(self.db, SWITCH_METERS, SWITCH_FLOWS)
        return sync_capacities(self.ledger, capacities)

    # ---- requests -------------------------------------------------------------------------
    def submit(self, request: ReservationRequest, now: float) -> tuple[Reservation, Job | Refusal]:
        """Create a reservation and try to stitch it at once."""
        res = Reservation(self._next_id, request, created_at=now, updated_at=now)
        self._next_id += 1
        self.on_new_id(res.id)
        self.reservations[res.id] = res
        res.set_state(State.PENDING, now)
        outcome = self._stitch(res, now)
        return res, outcome

    def submit_or_refuse(
        self, request: ReservationRequest, now: float
    ) -> tuple[Reservation | None, Job | Refusal]:
        """Like :meth:`submit`, but a refused request leaves no reservation behind."""
        res, outcome = self.submit(request, now)
        if isinstance(outcome, Refusal):
            del self.reservations[res.id]
            self._next_id -= 1 if self._next_id == res.id + 1 else 0
            return None, outcome
        return res, outcome

    def _endpoints(self, request: ReservationRequest) -> tuple[Host, Host] | Refusal:
        src, dst = self.db.find_host(request.src), self.db.find_host(request.dst)
        for name, host in (("src", src), ("dst", dst)):
            key = request.src if name == "src" else request.dst
            if host is None:
                return Refusal("endpoint", f"{name} {key!r} is not a known host")
            if host.attachment is None or host.attachment.dpid not in self.db.switches:
                return Refusal("endpoint", f"{name} {key!r} is not attached to a connected switch")
            if host.zone in request.avoid_zones or (
                request.zones is not None and host.zone not in request.zones
            ):
                return Refusal("zone", f"{name} {key!r} is in zone {host.zone!r}, not allowed")
        assert src is not None and dst is not None
        if src is dst:
            return Refusal("endpoint", f"src {request.src!r} and dst {request.dst!r} are one host")
        return src, dst

    def same_host(self, request: ReservationRequest) -> str | None:
        """The MAC when src and dst name one known host (e.g. as MAC and as IP), else None."""
        src, dst = self.db.find_host(request.src), self.db.find_host(request.dst)
        return src.mac if src is not None and src is dst else None

    def _free_for(self, owner: int) -> Callable[[int, int], float]:
        held = self.ledger.holding(owner)
        own = {
            (k.src, k.dst): amount
            for k, amount in (held.amounts.items() if held else ())
            if isinstance(k, LinkId)
        }
        links = self._link_free()
        if not own:
            return lambda u, v: links[u, v]
        return lambda u, v: links[u, v] + own.get((u, v), 0.0)

    def _link_free(self) -> dict[tuple[int, int], float]:
        """Free Mbit/s of every graph edge, kept up to date from the ledger's deltas.

        Path search asks for a link's free bandwidth for every arc it relaxes; reading the
        ledger each time (and hashing a LinkId twice) dominated a re-stitch.
        """
        graph, ledger = self.db.graph, self.ledger
        changed = ledger.drain_changed()
        if self._free_generation != self.db.graph_generation:
            self._free_generation = self.db.graph_generation
            self._edge_links = {(u, v): d["link"].link_id for u, v, d in graph.edges(data=True)}
            self._free_mbps = {e: ledger.free(lid) for e, lid in self._edge_links.items()}
            return self._free_mbps
        for key in changed:
            if isinstance(key, LinkId):
                edge = (key.src, key.dst)
                if self._edge_links.get(edge) == key:
                    self._free_mbps[edge] = ledger.free(key)
        return self._free_mbps

    def plan(
        self,
        res: Reservation,
        now: float | None = None,
        protect: bool = True,
        path: tuple[int, ...] | None = None,
        free: FreeMbps | None = None,
    ) -> PathPlan | Refusal:
        """Find a path and compile its plan (next version) without booking anything.

        A reservation restored after a restart takes its stored plan again when that still
        fits (same rules, cookies and meters as on the switches); until ``restore_until`` it
        waits for that plan's path to be rediscovered instead of taking another. A protected
        request gets its detours and groups too (``protect=False``: the primary alone).
        ``free`` replaces the ledger's free bandwidth (a window's, for an advance booking).
        """
        waiting = res.id in self._restored and now is not None and now < self.restore_until
        ends = self._endpoints(res.request)
        if isinstance(ends, Refusal):
            return Refusal("restoring", f"restored, waiting: {ends.reason}") if waiting else ends
        src, dst = ends
        assert src.attachment is not None and dst.attachment is not None
        if self.isolated(src.mac, dst.mac):
            return Refusal(
                "isolation", f"{res.request.src} and {res.request.dst} are isolated by an intent"
            )
        stored = self._restored.get(res.id)
        if stored is not None:
            adopted = self._stored_plan(res, stored, src, dst)
            if adopted is not None:
                return adopted
            if waiting:
                shown = " -> ".join(f"{d:016x}" for d in stored.path)
                return Refusal("restoring", f"restored, waiting for its path {shown}")
        req = res.request
        path_req = PathRequest(
            src.attachment.dpid,
            dst.attachment.dpid,
            meter_rate_mbps(req.bandwidth_mbps),
            req.max_latency_ms,
            req.zones,
            req.avoid_zones,
        )
        search = self._path_search(req.prefer_latency)
        room = free or self._free_for(res.id)
        if path is None:
            found = search.find(path_req, room, bidirectional=req.bidirectional)
        else:  # a planned move: exactly this path, if it still meets the request
            found = search.check(path_req, path, room, bidirectional=req.bidirectional)
        if isinstance(found, NoPath):
            near: dict[str, object] | None = None
            if found.near_miss is not None:
                nm = found.near_miss
                near = {
                    "path": [f"{d:016x}" for d in nm.path],
                    "latency_ms": nm.latency_ms,
                    "free_mbps": nm.bottleneck_free_mbps,
                    "violation": nm.violation,
                }
            return Refusal(found.constraint, found.reason, near)
        assert isinstance(found, PathFound)
        plan = self._compiled(res, found, src, dst)
        if not (req.protection and protect):
            return plan
        return self._protect(res, plan, path_req, src, dst)

    def _compiled(self, res: Reservation, found: PathFound, src: Host, dst: Host) -> PathPlan:
        req = res.request
        meter_ids = self._meter_ids(found.path, req.bidirectional, res.plan)
        graph, version = self.db.graph, res.version + 1
        return compile_plan(
            graph, res.id, version, found.path, src, dst, req, meter_ids, found.latency_ms
        )

    def _protect(
        self, res: Reservation, plan: PathPlan, path_req: PathRequest, src: Host, dst: Host
    ) -> PathPlan | Refusal:
        """``plan`` with a detour around every link; if a link has none, another primary that
        avoids it (a few tries); a refusal naming the link otherwise, never a silent plan
        without backup (``vnstitch.stitcher.protection``)."""
        req = res.request
        excluded: set[tuple[int, int]] = set()
        refusal: NoBackup | None = None
        for attempt in range(PROTECTION_ATTEMPTS):
            protected = self.backups.protect(res.id, plan, req, res.plan)
            if not isinstance(protected, NoBackup):
                return protected
            refusal = refusal or protected
            self._free_meters(plan)
            if attempt == PROTECTION_ATTEMPTS - 1:
                break
            link = protected.link
            excluded |= {(link.src, link.dst), (link.dst, link.src)}
            found = self._path_search(req.prefer_latency).find(
                path_req, self._free_for(res.id), excluded, bidirectional=req.bidirectional
            )
            if not isinstance(found, PathFound):
                break
            plan = self._compiled(res, found, src, dst)
        assert refusal is not None
        return Refusal("protection", refusal.describe())

    def _path_stands(
        self, req: ReservationRequest, path: tuple[int, ...], src: Host, dst: Host
    ) -> bool:
        """True when ``path`` still runs from ``src``'s switch to ``dst``'s over links the
        graph has (both ways when bidirectional)."""
        assert src.attachment is not None and dst.attachment is not None
        if path[0] != src.attachment.dpid or path[-1] != dst.attachment.dpid:
            return False
        hops = list(itertools.pairwise(path))
        if req.bidirectional:
            hops += itertools.pairwise(reversed(path))
        return all(self.db.graph.has_edge(u, v) for u, v in hops)

    def _stored_plan(
        self, res: Reservation, stored: StoredPlan, src: Host, dst: Host
    ) -> PathPlan | None:
        """The stored plan compiled again, if its path, meters and bandwidth still fit."""
        req, path = res.request, stored.path
        if not self._path_stands(req, path, src, dst):
            return None
        ends = {path[0], path[-1]} if req.bidirectional else {path[0]}
        meter_ids = {d: m for d, m in stored.meter_ids.items() if d in ends}
        if req.bandwidth_mbps > 0 and (
            set(meter_ids) != ends
            or any(m in self._meters.get(d, ()) for d, m in meter_ids.items())
        ):
            return None
        plan = compile_plan(
            self.db.graph, res.id, stored.version, path, src, dst, req, meter_ids, stored.latency_ms
        )
        if req.protection or stored.detours:
            protected = self.backups.adopt(res.id, plan, stored)
            if protected is None:
                return None
            plan = protected
        held = self.ledger.holding(res.id)
        if held is None and not self.ledger.check(plan.demands).ok:
            return None
        for dpid, meter_id in meter_ids.items():
            self._meters.setdefault(dpid, set()).add(meter_id)
        return plan

    def _path_search(self, prefer_latency: bool = False) -> PathSearch:
        """The search snapshot of the current graph, rebuilt only when the graph changed."""
        generation = self.db.graph_generation
        cached = self._search.get(prefer_latency)
        if cached is None or cached[0] != generation:
            weights = LATENCY_WEIGHTS if prefer_latency else self.weights
            cached = (generation, PathSearch(self.db.graph, weights))
            self._search[prefer_latency] = cached
        return cached[1]

    def dry_plan(self, request: ReservationRequest) -> dict[str, object] | Refusal:
        """What ``request`` would get now (path, resources, rules), booking nothing."""
        plan = self.plan(Reservation(0, request))
        if isinstance(plan, Refusal):
            return plan
        self._free_meters(plan)
        self.backups.free_groups(plan)
        admission = self.ledger.check(plan.demands)
        if not admission.ok:
            return Refusal(
                "bandwidth", f"not enough free: {sorted(map(str, admission.shortfalls))}"
            )
        return {
            "path": [f"{d:016x}" for d in plan.path],
            "reverse_path": [f"{d:016x}" for d in plan.reverse_path],
            "latency_ms": plan.latency_ms,
            "meter_rate_mbps": plan.meter_rate_mbps,
            "protected": request.protection and plan.protected,
            "backup": backup_view(plan, request.max_latency_ms),
            "resources": {describe_key(k): v for k, v in plan.demands.items()},
            "rules": [
                {
                    "dpid": f"{r.dpid:016x}",
                    "priority": r.priority,
                    "match": r.match.to_dict(),
                    "meter_id": r.meter_id,
                }
                for r in plan.all_rules()
            ],
        }

    def advance_ids(self, next_id: int) -> None:
        """Never hand out an id below ``next_id`` (ids stay unique across restarts)."""
        self._next_id = max(self._next_id, next_id)

    def restore(
        self,
        res_id: int,
        request: ReservationRequest,
        now: float,
        stored: StoredPlan | None = None,
    ) -> Reservation:
        """Bring back a reservation from durable state; it is stitched on the next change.

        With its ``stored`` plan it claims the same rules again (see :meth:`plan`); a new
        path gets the next version, so its cookies never equal the old rules'.
        """
        res = Reservation(res_id, request, created_at=now, updated_at=now)
        res.set_state(State.PENDING, now, "restored after a controller restart")
        res.version = stored.version if stored is not None else 0
        self.reservations[res_id] = res
        self._restored[res_id] = stored
        self._next_id = max(self._next_id, res_id + 1)
        self.backups.hold_stored(stored)  # its groups are still on the switches
        return res

    def _forget_restored(self, res_id: int) -> None:
        """Confirmed, failed or released: what it was restored with is no longer claimed."""
        stored = self._restored.pop(res_id, None)
        if stored is not None:
            self.backups.forget_stored(stored, self.reservations[res_id].plan)

    def stored_plan(self, res: Reservation) -> StoredPlan | None:
        """What the store should keep of ``res``'s plan (the restored one while waiting)."""
        if res.plan is not None:
            return StoredPlan.of(res.plan)
        return self._restored.get(res.id)

    def restore_waiting(self) -> bool:
        """True while a restored reservation waits for its path (until ``restore_until``)."""
        return any(
            self.reservations[r].state is State.PENDING
            for r in self._restored
            if r in self.reservations
        )

    def claims_rules(self, res_id: int) -> bool:
        """True when rules with this owner are being installed, moved or restored.

        The audit never deletes them: a restored reservation keeps the rules it had before
        the restart (the switch still forwards) until it is confirmed again or released.
        """
        res = self.reservations.get(res_id)
        if res is None or res.state in (State.RELEASED, State.FAILED):
            return False
        return res_id in self._restored or res.state in (State.PENDING, State.INSTALLING)

    def _meter_ids(
        self, path: tuple[int, ...], bidirectional: bool, old: PathPlan | None
    ) -> dict[int, int]:
        """Fresh meter ids: never one just freed, whose delete may still be on its way."""
        ends = {path[0], path[-1]} if bidirectional else {path[0]}
        taken = {(m.dpid, m.meter_id) for m in old.meters} if old else set()
        out = {}
        for dpid in ends:
            used = self._meters.setdefault(dpid, set())
            meter_id = self._next_meter.get(dpid, 1)
            while meter_id in used or (dpid, meter_id) in taken:
                meter_id = meter_id % RESERVATION_METERS + 1
            self._next_meter[dpid] = meter_id % RESERVATION_METERS + 1
            used.add(meter_id)
            out[dpid] = meter_id
        return out

    def _free_meters(self, plan: PathPlan | None) -> None:
        for m in plan.meters if plan else ():
            self._meters.get(m.dpid, set()).discard(m.meter_id)

    def _traffic(self, request: ReservationRequest) -> set[TrafficKey]:
        """The directed flows a request's rules would match (overlapping ones would collide)."""
        src, dst = self.db.find_host(request.src), self.db.find_host(request.dst)
        if src is None or dst is None:
            return set()
        port = request.dst_port  # the reverse direction matches it as the source port
        keys = {(src.mac, dst.mac, request.ip_proto, port, "dst" if port else "")}
        if request.bidirectional:
            keys.add((dst.mac, src.mac, request.ip_proto, port, "src" if port else ""))
        return keys

    def _overlap(self, res: Reservation) -> Refusal | None:
        for key in self._traffic(res.request):
            owner = self._claims.get(key)
            if owner is not None and owner != res.id and owner in self.reservations:
                return Refusal(
                    "conflict",
                    f"{res.request.src} -> {res.request.dst} is already reserved by "
                    f"reservation {owner}: change that one (PATCH) instead",
                )
        return None

    def _claim(self, res: Reservation) -> None:
        self._release_claims(res.id)
        keys = self._traffic(res.request)
        for key in keys:
            self._claims[key] = res.id
        self._claimed_by[res.id] = keys
        for src_mac, dst_mac, *_ in keys:
            pair = frozenset((src_mac, dst_mac))
            self._pair_owners.setdefault(pair, set()).add(res.id)

    def _release_claims(self, res_id: int) -> None:
        for key in self._claimed_by.pop(res_id, set()):
            if self._claims.get(key) == res_id:
                del self._claims[key]
            owners = self._pair_owners.get(frozenset(key[:2]), set())
            owners.discard(res_id)

    def _shared_rules(self, res: Reservation) -> set[tuple[int, int, int, Any]]:
        """Keys of ``res``'s entries another live plan of the same host pair also needs (the
        ARP responders are one entry for every reservation of a pair): removal keeps them."""
        keys = self._claimed_by.get(res.id, set())
        others = {o for k in keys for o in self._pair_owners.get(frozenset(k[:2]), ())}
        others.discard(res.id)
        out: set[tuple[int, int, int, Any]] = set()
        for other in others:
            plan = self.reservations[other].plan if other in self.reservations else None
            if plan is not None:
                out.update(r.key for r in plan.all_rules() if r.cookie == ARP_RESPONDER_COOKIE)
        return out

    def _stitch(
        self,
        res: Reservation,
        now: float,
        protect: bool = True,
        why: str | None = None,
        path: tuple[int, ...] | None = None,
        planned: PathPlan | None = None,
    ) -> Job | Refusal:
        """Plan (unless ``planned``), book and return the install job; on refusal the
        reservation is unchanged."""
        overlap = self._overlap(res)
        if overlap is not None:
            if planned is not None:
                self._free_meters(planned)
            return overlap
        plan = planned or self.plan(res, now, protect, path)
        if isinstance(plan, Refusal):
            return plan
        old = res.plan if res.state in (State.ACTIVE, State.INSTALLING, State.DEGRADED) else None
        moving = old is not None and res.state is State.ACTIVE
        if not moving and self.ledger.in_move(res.id):  # a move in flight is overtaken
            self.ledger.abort_move(res.id)
        if not moving:
            self.backups.settle(res.id, keep_new=False)
        before = self.ledger.holding(res.id)
        try:
            if moving:
                self.ledger.begin_move(res.id, plan.demands)
            elif before is not None:
                self.ledger.resize(res.id, plan.demands)
            else:
                self.ledger.allocate(res.id, plan.demands)
        except InsufficientResources as exc:
            self._free_meters(plan)
            self.backups.free_groups(plan)
            hosts = [
                k for k in exc.shortfalls if isinstance(k, NodeResource) and k.kind in _HOST_KINDS
            ]
            if hosts:
                named = ", ".join(
                    f"{k.kind.value} on {k.node} (asked {exc.shortfalls[k].asked:g}, "
                    f"free {exc.shortfalls[k].free:g})"
                    for k in hosts
                )
                return Refusal("host_resources", f"not enough at the endpoints: {named}")
            return Refusal("bandwidth", f"resources taken meanwhile: {exc}")
        refused = self.backups.book(res.id, plan, moving)
        if refused is not None:  # all or nothing: the primary goes back to what it was
            if moving:
                self.ledger.abort_move(res.id)
            elif before is not None:
                self.ledger.resize(res.id, before.amounts)
            else:
                self.ledger.release(res.id)
            self._free_meters(plan)
            self.backups.free_groups(plan)
            return Refusal("protection", refused)
        stored = self._restored.get(res.id)
        claim = self.claim_in_place and stored is not None and stored.version == plan.version
        job = install_job(res.id, plan, old, in_place=claim)
        self._claim(res)
        self._set_plan(res, plan)
        res.version = plan.version
        res.protected = False  # until the switches confirmed this plan
        res.set_state(State.INSTALLING, now, why or ("moving" if old else None))
        self._old_plans[res.id] = old
        return job

    # ---- confirmation -----------------------------------------------------------------------
    def confirmed(self, res_id: int, version: int, now: float) -> None:
        """Every switch confirmed the job's ingress phase: the reservation is ACTIVE."""
        res = self.reservations.get(res_id)
        if res is None or res.version != version or res.state is not State.INSTALLING:
            return
        if self.ledger.in_move(res_id):
            self.ledger.commit_move(res_id)
        self.backups.settle(res_id, keep_new=True)
        old = self._old_plans.pop(res_id, None)
        if old is not None and old.version != version:
            self._free_meters(old)
            self.backups.free_groups(old)
        self._forget_restored(res_id)
        self._repairing.discard(res_id)
        res.installed_at = now
        plan = res.plan
        res.protected = plan is not None and plan.protected and self.backups.intact(plan)
        unprotected = self._no_backup.pop(res_id, None)
        if res.request.protection and not res.protected:
            res.set_state(State.ACTIVE, now, f"not protected: {unprotected or 'backup broken'}")
        else:
            slow = failover_beyond_bound(plan, res.request.max_latency_ms) if plan else None
            res.set_state(State.ACTIVE, now, slow and f"protected, but {slow}")

    def failed(self, res_id: int, version: int, reason: str, now: float) -> list[Job]:
        """A switch refused part of the job: roll this version back; returns clean-up jobs."""
        res = self.reservations.get(res_id)
        if res is None or res.version != version or res.plan is None:
            return []
        jobs = [removal_job(res.id, res.plan, JobKind.ROLLBACK, self._shared_rules(res))]
        self._free_meters(res.plan)
        self.backups.free_groups(res.plan)
        self._forget_restored(res_id)
        self._repairing.discard(res_id)
        self._no_backup.pop(res_id, None)
        old = self._old_plans.pop(res_id, None)
        if old is not None and self.ledger.in_move(res_id):
            self.ledger.abort_move(res_id)
            self.backups.settle(res_id, keep_new=False)
            self._set_plan(res, old)
            res.protected = old.protected and self.backups.intact(old)
            jobs.append(install_job(res.id, old, None, JobKind.REPAIR))
            res.set_state(State.ACTIVE, now, f"move failed, kept the old path: {reason}")
            return jobs
        self.ledger.release(res_id)
        self.backups.release(res_id)
        self._release_claims(res_id)
        self._set_plan(res, None)
        res.protected = False
        res.set_state(State.FAILED, now, reason)
        return jobs

    def release(self, res_id: int, now: float, reason: str | None = None) -> Job | None:
        """Withdraw a reservation: remove its rules (ingress first) and free what it holds."""
        res = self.reservations.get(res_id)
        if res is None or res.state is State.RELEASED:
            return None
        keep = self._shared_rules(res)
        job = removal_job(res.id, res.plan, JobKind.REMOVE, keep) if res.plan else None
        self._free_meters(res.plan)
        self.backups.free_groups(res.plan)
        self._forget_restored(res_id)
        self._repairing.discard(res_id)
        self._no_backup.pop(res_id, None)
        self.ledger.release(res_id)
        self.backups.release(res_id)
        self._release_claims(res_id)
        self._set_plan(res, None)
        res.protected = False
        res.set_state(State.RELEASED, now, reason)
        return job

    def modify(
        self, res_id: int, request: ReservationRequest, now: float, why: str | None = None
    ) -> Job | Refusal:
        """Planned change (resize, other constraints): make-before-break onto a new plan."""
        res = self.reservations[res_id]
        previous = res.request
        res.request = request
        outcome = self._stitch(res, now, why=why)
        if isinstance(outcome, Refusal):
            res.request = previous
        return outcome

    def move(self, res_id: int, path: tuple[int, ...], now: float, why: str) -> Job | Refusal:
        """Make-before-break move of an ACTIVE unprotected reservation onto ``path`` (a planned
        move, see ``vnstitch.stitcher.moves``); ``why`` goes into its history."""
        res = self.reservations.get(res_id)
        if res is None or res.state is not State.ACTIVE or res.request.protection:
            return Refusal("state", "only ACTIVE unprotected reservations are moved")
        return self._stitch(res, now, why=why, path=path)

    # ---- topology changes -------------------------------------------------------------------
    def on_topology_change(self, now: float) -> list[Job]:
        """Re-stitch reservations whose path broke; retry DEGRADED and PENDING ones."""
        return [job for _, job in self.topology_steps(now) if job is not None]

    def topology_steps(self, now: float) -> Iterator[tuple[int, Job | None]]:
        """:meth:`on_topology_change` one reservation at a time, with the work each took.

        Yields (work units, job or None): 1 for a reservation only checked,
        ``RESTITCH_UNITS`` for one searched for again. The caller may stop between any two
        and go on later (:func:`take_slice`), so a burst of re-stitches never holds the
        event loop for long.
        """
        displaced = self.sync_capacities()
        for res in list(self.reservations.values()):
            jobs: list[Job] = []
            searched = self._topology_step(res, displaced, now, jobs)
            yield (RESTITCH_UNITS if searched else 1), (jobs[0] if jobs else None)

    def _topology_step(
        self, res: Reservation, displaced: set[int], now: float, jobs: list[Job]
    ) -> bool:
        """One reservation after a topology change; True if it was searched for again."""
        if res.state not in LIVE:
            return False
        broken = res.id in displaced or (res.plan is not None and not self._plan_valid(res))
        if res.request.protection and res.state is State.ACTIVE and res.plan is not None:
            handled = self._reprotect(res, broken, now)
            if isinstance(handled, Job):
                jobs.append(handled)
            if handled is not None:
                return isinstance(handled, Job)
        if not broken and (
            res.state in (State.ACTIVE, State.INSTALLING) or res.id in self._repairing
        ):
            return False
        self._repairing.discard(res.id)
        outcome = self._restitch(res, now)
        if isinstance(outcome, Job):
            jobs.append(outcome)
        elif outcome.constraint == "restoring":
            res.reason = outcome.reason
        elif res.state is not State.PENDING or res.request.origin is not Origin.CONFIG:
            if res.state is not State.DEGRADED:
                LOG.warning("reservation %d degraded: %s", res.id, outcome.reason)
            res.set_state(State.DEGRADED, now, outcome.reason)
        else:
            res.reason = outcome.reason
        return True

    def _reprotect(self, res: Reservation, broken: bool, now: float) -> Job | bool | None:
        """An ACTIVE protected reservation after a change: a make-before-break move onto a new
        path and backup when a link of its path failed and its detour carries the traffic, or
        when its backup broke (or it runs without one). Returns the job, True when handled
        without one (kept as it is, with the reason), None when the usual re-stitch applies
        (its path broke beyond what the backup covers)."""
        plan = res.plan
        assert plan is not None
        res.protected = res.protected and self.backups.intact(plan)
        if broken and not (self._ends_valid(res, plan) and self.backups.failed_over(plan)):
            return None
        if not broken and res.protected:
            return True
        why = "a link of its path failed, on its backup: " if broken else "backup broken: "
        outcome = self._stitch(res, now, why=why + "re-protecting (make-before-break)")
        if isinstance(outcome, Job):
            LOG.info("reservation %d: %sre-protecting", res.id, why)
            return outcome
        if broken:  # the traffic runs on a detour: move it onto a new primary without backup
            fallback = self._stitch(res, now, False, why + "moving without backup")
            if isinstance(fallback, Job):
                self._no_backup[res.id] = outcome.reason
                return fallback
            outcome = fallback
        where = "on its backup" if broken else "not protected"
        res.reason = f"{where}, no new path with backup yet: {outcome.reason}"
        return True

    def _restitch(self, res: Reservation, now: float) -> Job | Refusal:
        if res.state is State.ACTIVE:
            res.state = State.DEGRADED  # the old path is broken: no make-before-break possible
        return self._stitch(res, now)

    def _plan_valid(self, res: Reservation) -> bool:
        plan = res.plan
        if plan is None or not self._ends_valid(res, plan):
            return False
        graph = self.db.graph
        for path in (plan.path, plan.reverse_path):
            for u, v in itertools.pairwise(path):
                if not graph.has_edge(u, v):
                    return False
        return True

    def _ends_valid(self, res: Reservation, plan: PathPlan) -> bool:
        """Both hosts are where the plan starts and ends."""
        ends = self._endpoints(res.request)
        if isinstance(ends, Refusal):
            return False
        src, dst = ends
        assert src.attachment is not None and dst.attachment is not None
        if plan.path[0] != src.attachment.dpid or plan.path[-1] != dst.attachment.dpid:
            return False
        return all(
            r.match.in_port in (src.attachment.port, dst.attachment.port) for r in plan.ingress
        )

    # ---- audit ------------------------------------------------------------------------------
    def _set_plan(self, res: Reservation, plan: PathPlan | None) -> None:
        """The one place a reservation's plan changes (keeps the audit's index)."""
        res.plan = plan
        self._plans_on.set(res.id, plan)

    def _installed_on(self, dpid: int) -> Iterator[SwitchShare]:
        """What the plans the switches should hold now put on ``dpid`` (ACTIVE, INSTALLING,
        held in place)."""
        for res_id, plan, share in self._plans_on.on_switch(dpid):
            res = self.reservations.get(res_id)
            if (
                res is not None
                and res.plan is plan
                and (res.state in (State.ACTIVE, State.INSTALLING) or res_id in self._repairing)
            ):
                yield share

    def expected_rules(self, dpid: int) -> list[FlowRule]:
        """Every reservation rule switch ``dpid`` should hold now."""
        return [r for share in self._installed_on(dpid) for r in share.rules]

    def mark_repairing(self, res_id: int, reason: str, now: float) -> int | None:
        """The audit found rules of ``res_id`` missing: DEGRADED until the repair is confirmed.

        Returns the version the repair installs (None if there is nothing to repair).
        """
        res = self.reservations.get(res_id)
        if res is None or res.plan is None or res.state not in (State.ACTIVE, State.DEGRADED):
            return None
        if res.state is State.ACTIVE or res.id in self._repairing:
            if res.state is State.ACTIVE:
                LOG.warning("reservation %d degraded: %s", res_id, reason)
            self._repairing.add(res_id)
            res.set_state(State.DEGRADED, now, reason)
            return res.version
        return None

    def held_degraded(self, res_id: int) -> bool:
        """True when ``res_id`` is DEGRADED in place (rules kept) by the audit or verification."""
        res = self.reservations.get(res_id)
        return res is not None and res.state is State.DEGRADED and res_id in self._repairing

    def verified(self, res_id: int, now: float) -> None:
        """The data-plane verification found ``res_id`` true: ACTIVE again if it was held."""
        if self.held_degraded(res_id):
            self._repairing.discard(res_id)
            self.reservations[res_id].set_state(State.ACTIVE, now, "verified in the switches")

    def repair_done(self, res_id: int, version: int, ok: bool, reason: str, now: float) -> None:
        """The switches answered an audit repair: ACTIVE again, or DEGRADED with their reason."""
        res = self.reservations.get(res_id)
        if res is None or res_id not in self._repairing or res.version != version:
            return
        if ok:
            self._repairing.discard(res_id)
            res.set_state(State.ACTIVE, now, "repaired by the audit")
        else:
            res.set_state(State.DEGRADED, now, f"the switch refused the repair: {reason}")

    def expected_meters(self, dpid: int) -> list[MeterSpec]:
        """Every reservation meter switch ``dpid`` should hold now (for the meter audit)."""
        return [m for share in self._installed_on(dpid) for m in share.meters]

    def expected_groups(self, dpid: int) -> list[GroupSpec]:
        """Every fast-failover group switch ``dpid`` should hold now (for the group audit)."""
        return [g for share in self._installed_on(dpid) for g in share.groups]

    def claims_group(self, dpid: int, group_id: int) -> bool:
        """True when a group id is handed out (a plan in flight holds it) or restored."""
        return self.backups.group_ids.used(dpid, group_id) or self._restored_holds(
            lambda stored: (dpid, group_id) in {(d, g) for (d, _), g in stored.group_ids.items()}
        )

    def claims_meter(self, dpid: int, meter_id: int) -> bool:
        """True when a meter id is handed out (a plan in flight holds it) or restored."""
        return meter_id in self._meters.get(dpid, ()) or self._restored_holds(
            lambda stored: stored.meter_ids.get(dpid) == meter_id
        )

    def _restored_holds(self, holds: Callable[[StoredPlan], bool]) -> bool:
        """True when a restored reservation that still claims its rules ``holds`` an id."""
        return any(
            stored is not None and self.claims_rules(res_id) and holds(stored)
            for res_id, stored in self._restored.items()
        )

    def settled(self) -> bool:
        """True when nothing is being restored or installed (the audit may delete orphans)."""
        return not any(
            r.state in (State.PENDING, State.INSTALLING) for r in self.reservations.values()
        )

    def live(self) -> Iterable[Reservation]:
        """Reservations not released."""
        return (r for r in self.reservations.values() if r.state not in _GONE)

    # ---- advance reservations (the window logic is in vnstitch.stitcher.schedule) -----------
    def schedule(self, request: ReservationRequest, now: float) -> Reservation:
        """A SCHEDULED reservation: nothing booked in the instant ledger, nothing installed."""
        res = Reservation(self._next_id, request, created_at=now, updated_at=now)
        self._next_id += 1
        self.on_new_id(res.id)
        self.reservations[res.id] = res
        res.set_state(State.SCHEDULED, now)
        return res

    def adopt(self, res: Reservation) -> None:
        """A scheduled reservation read back from the store (ids stay unique)."""
        self.reservations[res.id] = res
        self._next_id = max(self._next_id, res.id + 1)

    def window_plan(self, res: Reservation, free: FreeMbps) -> PathPlan | Refusal:
        """The plan a window would get with ``free`` bandwidth (nothing kept: meters freed)."""
        plan = self.plan(res, None, protect=False, free=free)
        if not isinstance(plan, Refusal):
            self._free_meters(plan)
        return plan

    def plan_on(
        self, res: Reservation, path: tuple[int, ...], latency_ms: float | None
    ) -> PathPlan | None:
        """``res`` compiled on ``path`` again (the path chosen at booking), if it still exists."""
        ends = self._endpoints(res.request)
        if isinstance(ends, Refusal) or not path:
            return None
        src, dst = ends
        if not self._path_stands(res.request, path, src, dst):
            return None
        return self._compiled(res, PathFound(path, latency_ms, 0.0, float("inf")), src, dst)

    def edge_free(self) -> tuple[dict[tuple[int, int], float], dict[tuple[int, int], LinkId]]:
        """Free Mbit/s of every graph edge (kept current from the ledger), and its link."""
        free = self._link_free()
        return free, self._edge_links

    def release_meters(self, plan: PathPlan) -> None:
        """Give back the meter ids of a plan that is not installed."""
        self._free_meters(plan)

    def start_scheduled(self, res: Reservation, plan: PathPlan | None, now: float) -> Job | Refusal:
        """Install a scheduled reservation: on ``plan`` (its booked path) or a new search.

        A refusal changes nothing (the caller keeps it SCHEDULED)."""
        return self._stitch(res, now, why="its window begins", planned=plan)


def take_slice(
    steps: Iterator[tuple[int, Job | None]], units: int = SLICE_UNITS
) -> tuple[list[Job], bool]:
    """The jobs of the next ``units`` of work from ``steps``; True if more are left."""
    jobs: list[Job] = []
    spent = 0
    for weight, job in steps:
        if job is not None:
            jobs.append(job)
        spent += weight
        if spent >= units:
            return jobs, True
    return jobs, False


def install_job(
    res_id: int,
    plan: PathPlan,
    old: PathPlan | None,
    kind: JobKind | None = None,
    in_place: bool = False,
) -> Job:
    """Meters, groups and transit (and detour) rules, then the ingress rules, then removal of
    the old plan's rest, its groups last (a switch deletes the rules that send to a group).
    ``in_place``: claim the rules already on the switches (see ``FlowAdd``)."""
    first: list[Op] = [MeterAdd(m) for m in plan.meters]
    first += [GroupAdd(g) for g in plan.groups]
    first += [FlowAdd(r, in_place) for r in plan.rules]
    phases: list[list[Op]] = [first, [FlowAdd(r, in_place) for r in plan.ingress]]
    if old is not None:
        keep = {r.key for r in plan.all_rules()}
        cleanup: list[Op] = [FlowDelete(r) for r in old.all_rules() if r.key not in keep]
        new_meters = {(m.dpid, m.meter_id) for m in plan.meters}
        cleanup += [
            MeterDelete(m.dpid, m.meter_id)
            for m in old.meters
            if (m.dpid, m.meter_id) not in new_meters
        ]
        phases.append(cleanup)
        new_groups = {(g.dpid, g.group_id) for g in plan.groups}
        gone: list[Op] = [
            GroupDelete(g.dpid, g.group_id)
            for g in old.groups
            if (g.dpid, g.group_id) not in new_groups
        ]
        phases.append(gone)
    job_kind = kind or (JobKind.MOVE if old is not None else JobKind.INSTALL)
    return Job(res_id, plan.version, job_kind, phases, confirm_phase=1)


def removal_job(
    res_id: int, plan: PathPlan, kind: JobKind, keep: Set[tuple[int, int, int, Any]] = frozenset()
) -> Job:
    """Ingress rules first (nothing new enters), then the rest and the meters, then groups.

    Entries in ``keep`` (shared with another live plan) stay.
    """
    first: list[Op] = [FlowDelete(r) for r in plan.ingress if r.key not in keep]
    rest: list[Op] = [FlowDelete(r) for r in plan.rules if r.key not in keep]
    rest.extend(MeterDelete(m.dpid, m.meter_id) for m in plan.meters)
    groups: list[Op] = [GroupDelete(g.dpid, g.group_id) for g in plan.groups]
    phases = [first, rest, groups]
    return Job(res_id, plan.version, kind, phases, confirm_phase=None)
