"""The ledger over time: link bandwidth booked for windows ``[start, end)``, never over-booked.

A booking holds an amount on each directed link of its path from ``start`` (inclusive) to
``end`` (exclusive; ``math.inf`` for open-ended). Admission of a window asks, per link, for the
largest sum booked at any instant of the window -- read from the link's index of its
bookings' start and end points (:class:`~vnstitch.resources.link_load.LinkLoad`: binary
searches and cached sums, not a pass over the bookings) -- plus what the caller says is held
there regardless of time (``base``: the open-ended holders of the instant ledger), and compares
it with the link's usable capacity. A refusal names the link and the elementary interval where
it is full. Adjacent windows (one ends where the other starts) do not overlap.

Amounts are integer thousandths, as in :mod:`vnstitch.resources.keys`. Times are wall-clock
seconds since the epoch; nothing here reads a clock.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic

from topology.model import LinkId
from vnstitch.clock import rfc3339
from vnstitch.resources.admission import OwnerT, describe_key
from vnstitch.resources.keys import ResourceKey, from_units, to_units
from vnstitch.resources.link_load import LinkLoad, Span

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
    """Bookings per link over time, indexed by owner, by link (:class:`LinkLoad`) and by end."""

    def __init__(self) -> None:
        self._bookings: dict[OwnerT, Booking] = {}
        self._by_link: dict[LinkId, LinkLoad] = {}
        self._end_times: list[float] = []  # the finite ends, sorted, once each
        self._ending: dict[float, dict[OwnerT, None]] = {}  # who ends at each of them

    # ---- changes --------------------------------------------------------------------------
    def book(self, owner: OwnerT, window: Window, units: Mapping[LinkId, int]) -> None:
        """Record ``owner``'s booking (replacing any); no check (see :meth:`check`)."""
        self.cancel(owner)
        kept = {link: u for link, u in units.items() if u > 0}
        self._bookings[owner] = Booking(window, kept)
        for link, u in kept.items():
            on_link = self._by_link.get(link)
            if on_link is None:
                on_link = self._by_link[link] = LinkLoad()
            on_link.add(window.start, window.end, u)
        if math.isfinite(window.end):
            ending = self._ending.get(window.end)
            if ending is None:
                ending = self._ending[window.end] = {}
                insort(self._end_times, window.end)
            ending[owner] = None

    def cancel(self, owner: OwnerT) -> Booking | None:
        """Forget ``owner``'s booking; returns it (None if it had none)."""
        booking = self._bookings.pop(owner, None)
        if booking is None:
            return None
        window = booking.window
        for link, u in booking.units.items():
            on_link = self._by_link[link]
            on_link.remove(window.start, window.end, u)
            if not on_link.bookings:
                del self._by_link[link]
        if math.isfinite(window.end):
            ending = self._ending[window.end]
            del ending[owner]
            if not ending:
                del self._ending[window.end]
                del self._end_times[bisect_left(self._end_times, window.end)]
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
        on_link = self._by_link.get(link)
        return 0 if on_link is None else on_link.bookings

    def links(self) -> frozenset[LinkId]:
        """Every link something is booked on."""
        return frozenset(self._by_link)

    def peak(self, link: LinkId, window: Window, skip: OwnerT | None = None) -> Peak:
        """The largest sum booked on ``link`` at any instant of ``window`` (``skip`` left out),
        and the first elementary interval (between two bookings' start or end points) where
        it holds; a point where one booking ends and another starts belongs to the latter
        (half-open windows)."""
        on_link = self._by_link.get(link)
        if on_link is None:
            return Peak(0, window)
        units, at, until = on_link.peak(window.start, window.end, self._span(link, skip))
        return Peak(units, Window(at, until)) if units else Peak(0, window)

    def _span(self, link: LinkId, owner: OwnerT | None) -> Span | None:
        """``owner``'s booking on ``link`` as the index holds it (None: it has none there)."""
        booking = None if owner is None else self._bookings.get(owner)
        if booking is None or link not in booking.units:
            return None
        return booking.window.start, booking.window.end, booking.units[link]

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
        for link, asked in units.items():
            if asked <= 0:
                continue
            room = usable(link) - base(link) - asked
            on_link = self._by_link.get(link)
            total = 0 if on_link is None else on_link.total
            if total <= room:
                continue  # even every booking at once leaves room: no index needed
            best, at, until = (
                on_link.peak(window.start, window.end, self._span(link, owner))
                if on_link is not None
                else (0, window.start, window.end)
            )
            if best > room:
                free = from_units(max(0, room + asked - best))
                refusals.append(Overbooking(link, from_units(asked), free, Window(at, until)))
        return sorted(refusals, key=lambda over: over.link)

    def ahead(self, now: float, links: Iterable[LinkId] | None = None) -> LinkUnits:
        """Per link, the largest sum booked at any instant from ``now`` on (0s left out)."""
        out: LinkUnits = {}
        for link in self._by_link if links is None else links:
            on_link = self._by_link.get(link)
            units = 0 if on_link is None else on_link.peak(now, math.inf)[0]
            if units:
                out[link] = units
        return out

    def breakpoints(self, links: Iterable[LinkId], after: float, before: float) -> list[float]:
        """Ends of bookings on ``links`` within ``(after, before)``, sorted: where room opens."""
        found = {after}
        for link in links:
            on_link = self._by_link.get(link)
            if on_link is not None:
                found.update(on_link.ends_within(after, before))
        return sorted(found)

    def expire(self, now: float) -> list[OwnerT]:
        """Owners whose booking ended by ``now``, earliest end first (not removed: the caller
        ends them)."""
        ended = self._end_times[: bisect_right(self._end_times, now)]
        return [owner for end in ended for owner in self._ending[end]]


__all__ = [
    "Booking",
    "Overbooking",
    "Peak",
    "Timeline",
    "Window",
    "link_units",
]
