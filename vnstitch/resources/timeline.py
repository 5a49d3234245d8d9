"""The ledger over time: link bandwidth booked for windows ``[start, end)``, never over-booked.

A booking holds an amount on each directed link of its path from ``start`` (inclusive) to
``end`` (exclusive; ``math.inf`` for open-ended). Admission of a window asks, per link, for the
largest sum booked at any instant of the window -- a sweep over the sorted start and end points
of the bookings that overlap it -- plus what the caller says is held there regardless of time
(``base``: the open-ended holders of the instant ledger), and compares it with the link's usable
capacity. A refusal names the link and the elementary interval where it is full. Adjacent
windows (one ends where the other starts) do not overlap.

Amounts are integer thousandths, as in :mod:`vnstitch.resources.keys`. Times are wall-clock
seconds since the epoch; nothing here reads a clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic

from topology.model import LinkId
from vnstitch.clock import rfc3339
from vnstitch.resources.admission import OwnerT, describe_key
from vnstitch.resources.keys import ResourceKey, from_units, to_units

LinkUnits = dict[LinkId, int]
UnitsOf = Callable[[LinkId], int]


@dataclass(frozen=True, slots=True)
class Window:
    """``[start, end)`` in wall-clock seconds; ``end`` may be ``math.inf`` (open-ended)."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if math.isnan(self.start) or math.isnan(self.end) or not self.end > self.start:
            raise ValueError(f"a window must end after it starts, got {self!r}")

    def overlaps(self, other: Window) -> bool:
        """True when the two share an instant (adjacent windows do not)."""
        return self.start < other.end and other.start < self.end

    def describe(self) -> str:
        """``[2026-11-30T01:00:00.000Z, 2026-11-30T03:00:00.000Z)`` (an open end: ``...)``)."""
        end = "..." if math.isinf(self.end) else rfc3339(self.end)
        return f"[{rfc3339(self.start)}, {end})"


@dataclass(frozen=True, slots=True)
class Peak:
    """The largest booked sum on a link within a window, and the first interval it holds in."""

    units: int
    during: Window


@dataclass(frozen=True, slots=True)
class Overbooking:
    """A link that would be full: what was asked, what is free there, and when."""

    link: LinkId
    asked: float
    free: float
    during: Window

    def describe(self) -> str:
        """One line naming the link and the interval."""
        return (
            f"{describe_key(self.link)} is full during {self.during.describe()}:"
            f" asked {self.asked:g} Mbit/s, free {self.free:g}"
        )


@dataclass(frozen=True, slots=True)
class Booking:
    """One owner's window and its amount on each link."""

    window: Window
    units: Mapping[LinkId, int]


def link_units(demands: Mapping[ResourceKey, float]) -> LinkUnits:
    """The link part of a ledger demand, rounded up like the instant ledger does."""
    return {k: to_units(v, round_up=True) for k, v in demands.items() if isinstance(k, LinkId)}


class Timeline(Generic[OwnerT]):
    """Bookings per link over time, indexed by owner and by link."""

    def __init__(self) -> None:
        self._bookings: dict[OwnerT, Booking] = {}
        self._by_link: dict[LinkId, dict[OwnerT, tuple[float, float, int]]] = {}
        self._total: dict[LinkId, int] = {}  # per link, the sum of all its bookings (a bound)

    # ---- changes --------------------------------------------------------------------------
    def book(self, owner: OwnerT, window: Window, units: Mapping[LinkId, int]) -> None:
        """Record ``owner``'s booking (replacing any); no check (see :meth:`check`)."""
        self.cancel(owner)
        kept = {link: u for link, u in units.items() if u > 0}
        self._bookings[owner] = Booking(window, kept)
        for link, u in kept.items():
            self._by_link.setdefault(link, {})[owner] = (window.start, window.end, u)
            self._total[link] = self._total.get(link, 0) + u

    def cancel(self, owner: OwnerT) -> Booking | None:
        """Forget ``owner``'s booking; returns it (None if it had none)."""
        booking = self._bookings.pop(owner, None)
        if booking is None:
            return None
        for link, u in booking.units.items():
            on_link = self._by_link[link]
            del on_link[owner]
            self._total[link] -= u
            if not on_link:
                del self._by_link[link]
                del self._total[link]
        return booking

    # ---- queries --------------------------------------------------------------------------
    def booking(self, owner: OwnerT) -> Booking | None:
        """``owner``'s booking, if any."""
        return self._bookings.get(owner)

    def owners(self) -> frozenset[OwnerT]:
        """Every owner with a booking."""
        return frozenset(self._bookings)

    def count(self, link: LinkId) -> int:
        """How many bookings hold ``link``."""
        return len(self._by_link.get(link, ()))

    def links(self) -> frozenset[LinkId]:
        """Every link something is booked on."""
        return frozenset(self._by_link)

    def peak(self, link: LinkId, window: Window, skip: OwnerT | None = None) -> Peak:
        """The largest sum booked on ``link`` at any instant of ``window`` (``skip`` left out).

        A sweep over the start and end points of the bookings overlapping the window; at a
        point where one booking ends and another starts the end is taken first (half-open).
        """
        best, best_at = self._peak_at(link, window, skip)
        if not best:
            return Peak(0, window)
        return Peak(best, Window(best_at, self._peak_end(link, window, best_at, skip)))

    def _peak_at(self, link: LinkId, window: Window, skip: OwnerT | None) -> tuple[int, float]:
        """The largest sum in ``window`` and the first instant it holds (the sweep)."""
        points: list[tuple[float, int]] = []
        for owner, (start, end, units) in self._by_link.get(link, {}).items():
            if owner != skip and start < window.end and window.start < end:
                points.append((max(start, window.start), units))
                points.append((min(end, window.end), -units))
        if not points:
            return 0, window.start
        points.sort(key=lambda p: (p[0], p[1]))
        best, best_at, total = 0, window.start, 0
        for index, (when, delta) in enumerate(points):
            total += delta
            following = points[index + 1][0] if index + 1 < len(points) else window.end
            if total > best and following > when:
                best, best_at = total, when
        return best, best_at

    def _peak_end(self, link: LinkId, window: Window, at: float, skip: OwnerT | None) -> float:
        """Where the elementary interval starting at ``at`` ends (the next start or end)."""
        after = [window.end]
        for owner, (start, end, _) in self._by_link.get(link, {}).items():
            if owner == skip:
                continue
            after.extend(t for t in (start, end) if at < t < window.end)
        return min(after)

    def check(
        self,
        units: Mapping[LinkId, int],
        window: Window,
        base: UnitsOf,
        usable: UnitsOf,
        owner: OwnerT | None = None,
    ) -> list[Overbooking]:
        """Would ``units`` fit on every link at every instant of ``window``?

        ``base(link)`` is held there at every instant whatever the time (open-ended holders);
        ``usable(link)`` the link's usable capacity. ``owner``'s own booking does not count.
        Returns the links that would be over-booked (empty: it fits), sorted.
        """
        refusals = []
        for link in sorted(units):
            asked = units[link]
            if asked <= 0:
                continue
            room = usable(link) - base(link) - asked
            if self._total.get(link, 0) <= room:
                continue  # even every booking at once leaves room: no sweep needed
            best, at = self._peak_at(link, window, owner)
            if best > room:
                during = Window(at, self._peak_end(link, window, at, owner))
                free = from_units(max(0, room + asked - best))
                refusals.append(Overbooking(link, from_units(asked), free, during))
        return refusals

    def ahead(self, now: float, links: Iterable[LinkId] | None = None) -> LinkUnits:
        """Per link, the largest sum booked at any instant from ``now`` on (0s left out)."""
        future = Window(now, math.inf)
        out: LinkUnits = {}
        for link in self._by_link if links is None else links:
            units = self.peak(link, future).units
            if units:
                out[link] = units
        return out

    def breakpoints(self, links: Iterable[LinkId], after: float, before: float) -> list[float]:
        """Ends of bookings on ``links`` within ``(after, before)``, sorted: where room opens."""
        found = {after}
        for link in links:
            for _, end, _ in self._by_link.get(link, {}).values():
                if after < end < before:
                    found.add(end)
        return sorted(found)

    def expire(self, now: float) -> list[OwnerT]:
        """Owners whose booking ended by ``now`` (not removed: the caller ends them)."""
        return [o for o, b in self._bookings.items() if b.window.end <= now]


__all__ = [
    "Booking",
    "Overbooking",
    "Peak",
    "Timeline",
    "Window",
    "link_units",
]
