"""Where to move reservations: off congested links, or back onto cheaper paths.

Both choose target paths against the *loads* of the links -- per directed link the larger of
what the ledger books and what the port counters measure (traffic above its reservation is
real load too) -- within the ledger's usable capacity. Each choice updates the loads the next
one sees, so the targets fit together once every move is done; the order that keeps every step
in between within capacity is :func:`vnstitch.stitcher.moves.order_moves`' job.

Movable: ACTIVE, unprotected (a protected reservation's detours would need re-planning too),
not an intent's (the intent owns its path), not moving already. Off a congested link the
predicted ones go first, then requested and configured ones, larger first.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Set
from dataclasses import dataclass

from topology.model import LinkId
from vnstitch.rules.meters import meter_rate_mbps
from vnstitch.stitcher.cost import CostWeights
from vnstitch.stitcher.moves import Move, committed
from vnstitch.stitcher.path_results import PathFound, PathRequest
from vnstitch.stitcher.paths import FreeMbps, PathSearch
from vnstitch.stitcher.reservation import Origin, Reservation, State
from vnstitch.stitcher.stitch_service import StitchService

Edge = tuple[int, int]


@dataclass(frozen=True)
class PlannedMove:
    """One reservation's planned move: the loads before and after, the path, why."""

    move: Move[Edge]
    path: tuple[int, ...]
    why: str


@dataclass(frozen=True)
class LinkLoads:
    """Usable capacity and load (max of booked and measured) of every directed link, Mbit/s."""

    capacity: dict[Edge, float]
    load: dict[Edge, float]


def link_loads(stitcher: StitchService, measured: Mapping[Edge, float]) -> LinkLoads:
    """The loads of every link of the graph."""
    capacity: dict[Edge, float] = {}
    load: dict[Edge, float] = {}
    for u, v, data in stitcher.db.graph.edges(data=True):
        lid: LinkId = data["link"].link_id
        capacity[u, v] = stitcher.ledger.usable(lid)
        load[u, v] = max(stitcher.ledger.reserved(lid), measured.get((u, v), 0.0))
    return LinkLoads(capacity, load)


def movable(stitcher: StitchService, res: Reservation) -> bool:
    """True if dynamic adjustment may move this reservation (see the module docstring)."""
    return (
        res.state is State.ACTIVE
        and res.plan is not None
        and not res.request.protection
        and res.request.origin is not Origin.INTENT
        and not stitcher.ledger.in_move(res.id)
    )


def held_loads(stitcher: StitchService, res: Reservation) -> dict[Edge, float]:
    """What the reservation books on each directed link now."""
    held = stitcher.ledger.holding(res.id)
    if held is None:
        return {}
    return {(k.src, k.dst): a for k, a in held.amounts.items() if isinstance(k, LinkId)}


def path_loads(path: tuple[int, ...], mbps: float, bidirectional: bool) -> dict[Edge, float]:
    """What a reservation of ``mbps`` books on the links of ``path``."""
    out: dict[Edge, float] = {}
    for u, v in itertools.pairwise(path):
        out[u, v] = mbps
        if bidirectional:
            out[v, u] = mbps
    return out


def path_request(stitcher: StitchService, res: Reservation) -> PathRequest | None:
    """The reservation's request as a path search asks it, or None if an end is unknown."""
    req = res.request
    src, dst = stitcher.db.find_host(req.src), stitcher.db.find_host(req.dst)
    if src is None or dst is None or src.attachment is None or dst.attachment is None:
        return None
    return PathRequest(
        src.attachment.dpid,
        dst.attachment.dpid,
        meter_rate_mbps(req.bandwidth_mbps),
        req.max_latency_ms,
        req.zones,
        req.avoid_zones,
    )


def congestion_moves(
    stitcher: StitchService,
    excess: Mapping[Edge, float],
    loads: LinkLoads,
    weights: CostWeights,
) -> tuple[list[PlannedMove], list[int]]:
    """Moves off the congested links (``excess``: Mbit/s above the threshold on each), until
    each is relieved or nothing more can move; and the reservations that found no path."""
    hot = frozenset(excess)
    left = dict(excess)
    state = dict(loads.load)
    search = PathSearch(stitcher.db.graph, weights)
    candidates = [
        r
        for r in stitcher.reservations.values()
        if movable(stitcher, r) and not hot.isdisjoint(held_loads(stitcher, r))
    ]
    candidates.sort(
        key=lambda r: (r.request.origin is not Origin.PREDICTED, -r.request.bandwidth_mbps, r.id)
    )
    moves: list[PlannedMove] = []
    stuck: list[int] = []
    for res in candidates:
        old = held_loads(stitcher, res)
        if all(left[e] <= 0 or old.get(e, 0.0) <= 0 for e in hot):
            continue  # its links are relieved already
        found = _search(stitcher, search, res, old, state, loads.capacity, hot)
        if found is None:
            stuck.append(res.id)
            continue
        new = path_loads(found.path, res.request.bandwidth_mbps, res.request.bidirectional)
        move = Move(res.id, old, _scaled(new, old))
        state = committed(state, [move])
        for e in hot:
            left[e] -= move.old.get(e, 0.0) - move.new.get(e, 0.0)
        named = ", ".join(f"{u:016x}->{v:016x}" for u, v in sorted(hot & set(old)))
        moves.append(PlannedMove(move, found.path, f"congestion on {named}: moving away"))
        if all(x <= 0 for x in left.values()):
            break
    return moves, stuck


def cheaper_moves(
    stitcher: StitchService,
    loads: LinkLoads,
    weights: CostWeights,
    min_gain_ms: float,
    avoid: Set[Edge] = frozenset(),
    ceiling: float = 1.0,
) -> list[PlannedMove]:
    """Moves onto paths cheaper by at least ``min_gain_ms`` (path cost under ``weights``,
    nothing over a link of ``avoid``), on which every link stays within ``ceiling`` x capacity
    with the reservation added (so a move back never re-creates the congestion it left)."""
    roof = {e: c * ceiling for e, c in loads.capacity.items()}
    state = dict(loads.load)
    search = PathSearch(stitcher.db.graph, weights)
    moves: list[PlannedMove] = []
    for res in sorted(stitcher.reservations.values(), key=lambda r: r.id):
        if not movable(stitcher, res):
            continue
        assert res.plan is not None
        request = path_request(stitcher, res)
        if request is None:
            continue
        old = held_loads(stitcher, res)
        free = _free(state, loads.capacity, old)
        bidi = res.request.bidirectional
        now = search.check(request, res.plan.path, free, bidi)
        best = search.find(request, _free(state, roof, old), avoid, bidi)
        if not isinstance(now, PathFound) or not isinstance(best, PathFound):
            continue
        gain = now.cost - best.cost
        if best.path == res.plan.path or gain < min_gain_ms:
            continue
        new = path_loads(best.path, res.request.bandwidth_mbps, bidi)
        move = Move(res.id, old, _scaled(new, old))
        state = committed(state, [move])
        moves.append(PlannedMove(move, best.path, f"re-optimised: path cost {gain:.3g} ms lower"))
    return moves


def _search(
    stitcher: StitchService,
    search: PathSearch,
    res: Reservation,
    old: Mapping[Edge, float],
    state: Mapping[Edge, float],
    capacity: Mapping[Edge, float],
    avoid: Set[Edge],
) -> PathFound | None:
    request = path_request(stitcher, res)
    if request is None:
        return None
    free = _free(state, capacity, old)
    found = search.find(request, free, avoid, res.request.bidirectional)
    return found if isinstance(found, PathFound) else None


def _free(
    state: Mapping[Edge, float], capacity: Mapping[Edge, float], own: Mapping[Edge, float]
) -> FreeMbps:
    """Free Mbit/s per link with the reservation's own holding counted as free."""
    table = {e: capacity[e] - state.get(e, 0.0) + own.get(e, 0.0) for e in capacity}
    return lambda u, v: table[u, v]


def _scaled(new: dict[Edge, float], old: Mapping[Edge, float]) -> dict[Edge, float]:
    """New loads at the rate the ledger books (the meter rate the old holding shows)."""
    rate = max(old.values(), default=0.0)
    return {e: rate for e in new} if rate > 0 else new
