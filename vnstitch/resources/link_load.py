"""One link's booked sum over time, indexed for the peak over an interval.

The bookings on a link make a step function ``S(t)``: it changes only at their start and end
points. :class:`LinkLoad` keeps those breakpoints sorted, each with ``S`` from it to the next
one, and how many bookings start or end there. The sorted breakpoints are cut into blocks of
about the square root of their number; a block keeps an amount added to all of it (a booking
that covers the whole block changes only that) and its largest ``S``. So a booking changes two
partial blocks and the sums of the blocks between; the largest ``S`` over a window reads two
partial blocks and the blocks' maxima between. Both are O(sqrt n) steps, most of them inside
``max`` over a list slice (C speed), where the sweep this replaced sorted every booking
overlapping the window (``bench.link_load_query`` measures both). The finite ends are also
kept in one flat sorted list, for the earliest-window search (an insert there moves memory).
The sums are machine integers (``array``): 8 bytes a breakpoint, not a Python int each.

Windows are half-open ``[start, end)``; an end of ``math.inf`` has no breakpoint.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right, insort

Span = tuple[float, float, int]  # one booking on the link: start, end, units

MIN_BLOCK = 64  # a block splits above max(MIN_BLOCK, 2 sqrt(breakpoints)) breakpoints


class LinkLoad:
    """Sorted breakpoints of one link's bookings in blocks, ``S`` after each, and the ends."""

    __slots__ = (
        "_adds",
        "_counts",
        "_ends",
        "_firsts",
        "_loads",
        "_times",
        "_tops",
        "bookings",
        "points",
        "total",
    )

    def __init__(self) -> None:
        # per block: its breakpoints (sorted), S after each less the block's add, how many
        # bookings start or end at each, the add, the largest S, the first breakpoint
        self._times: list[list[float]] = []
        self._loads: list[array[int]] = []  # machine integers: 8 bytes a breakpoint
        self._counts: list[list[int]] = []
        self._adds: list[int] = []
        self._tops: list[int] = []
        self._firsts: list[float] = []
        self._ends: list[float] = []  # finite ends, sorted, with repeats
        self.bookings = 0
        self.points = 0  # breakpoints
        self.total = 0  # the sum of every booking's units (a bound on S)

    # ---- changes --------------------------------------------------------------------------
    def add(self, start: float, end: float, units: int) -> None:
        """Book ``units`` over ``[start, end)``."""
        self._point(start)
        if math.isfinite(end):
            self._point(end)
            insort(self._ends, end)
        self._shift(start, end, units)
        self.bookings += 1
        self.total += units

    def remove(self, start: float, end: float, units: int) -> None:
        """Take back a booking made with :meth:`add` (the same three values)."""
        self._shift(start, end, -units)
        if math.isfinite(end):
            self._unpoint(end)
            del self._ends[bisect_left(self._ends, end)]
        self._unpoint(start)
        self.bookings -= 1
        self.total -= units

    def _block_of(self, when: float) -> int:
        """The block holding the last breakpoint at or before ``when`` (-1: none is)."""
        return bisect_right(self._firsts, when) - 1

    def _point(self, when: float) -> None:
        """Count one more booking starting or ending at ``when`` (a new breakpoint carries
        the ``S`` just before it)."""
        if not self._times:
            self._new_block(0, [when], array("q", [0]), [1], 0)
            self.points = 1
            return
        block = max(0, self._block_of(when))
        times, loads = self._times[block], self._loads[block]
        at = bisect_left(times, when)
        if at < len(times) and times[at] == when:
            self._counts[block][at] += 1
            return
        # at 0 only before every breakpoint (``_block_of`` finds the block whose first is at
        # or before ``when``): S is 0 there; else a copy of a value of the block (top holds)
        raw = loads[at - 1] if at else -self._adds[block]
        times.insert(at, when)
        loads.insert(at, raw)
        self._counts[block].insert(at, 1)
        if not at:
            self._firsts[block] = when
        self.points += 1
        if len(times) > self._longest():
            self._split(block)

    def _longest(self) -> int:
        """How many breakpoints a block may hold: about twice the root of their number."""
        return max(MIN_BLOCK, 2 * math.isqrt(self.points))

    def _unpoint(self, when: float) -> None:
        """One booking fewer starts or ends at ``when``; the breakpoint goes when none does."""
        block = self._block_of(when)
        times, counts = self._times[block], self._counts[block]
        at = bisect_left(times, when)
        counts[at] -= 1
        if counts[at]:
            return
        del times[at], self._loads[block][at], counts[at]
        self.points -= 1
        if not times:
            for column in (self._times, self._loads, self._counts):
                del column[block]
            del self._adds[block], self._tops[block], self._firsts[block]
            return
        self._firsts[block] = times[0]
        self._tops[block] = max(self._loads[block]) + self._adds[block]
        if 2 * len(times) < self._longest() and len(self._times) > 1:  # few blocks stay
            self._merge(block if block + 1 < len(self._times) else block - 1)

    def _new_block(
        self, block: int, times: list[float], loads: array[int], counts: list[int], add: int
    ) -> None:
        self._times.insert(block, times)
        self._loads.insert(block, loads)
        self._counts.insert(block, counts)
        self._adds.insert(block, add)
        self._tops.insert(block, max(loads) + add)
        self._firsts.insert(block, times[0])

    def _split(self, block: int) -> None:
        """Cut a block grown too long in two halves."""
        half = len(self._times[block]) // 2
        times, loads, counts = self._times[block], self._loads[block], self._counts[block]
        self._new_block(block + 1, times[half:], loads[half:], counts[half:], self._adds[block])
        del times[half:], loads[half:], counts[half:]
        self._tops[block] = max(loads) + self._adds[block]

    def _merge(self, block: int) -> None:
        """Join a block and the next one (cut again if that is too long)."""
        nxt = block + 1
        carry = self._adds[nxt] - self._adds[block]
        self._times[block] += self._times[nxt]
        self._loads[block] += array("q", [load + carry for load in self._loads[nxt]])
        self._counts[block] += self._counts[nxt]
        self._tops[block] = max(self._tops[block], self._tops[nxt])
        for column in (self._times, self._loads, self._counts):
            del column[nxt]
        del self._adds[nxt], self._tops[nxt], self._firsts[nxt]
        if len(self._times[block]) > self._longest():
            self._split(block)

    def _shift(self, start: float, end: float, units: int) -> None:
        """Add ``units`` to ``S`` over ``[start, end)`` (both breakpoints already there)."""
        first = self._block_of(start)
        at = bisect_left(self._times[first], start)
        if math.isfinite(end):
            last = self._block_of(end)
            stop = bisect_left(self._times[last], end)
        else:
            last = len(self._times) - 1
            stop = len(self._times[last])
        if first == last:
            self._shift_part(first, at, stop, units)
            return
        self._shift_part(first, at, len(self._times[first]), units)
        adds, tops = self._adds, self._tops
        adds[first + 1 : last] = [add + units for add in adds[first + 1 : last]]
        tops[first + 1 : last] = [top + units for top in tops[first + 1 : last]]
        self._shift_part(last, 0, stop, units)

    def _shift_part(self, block: int, lo: int, hi: int, units: int) -> None:
        if lo < hi:
            loads = self._loads[block]
            loads[lo:hi] = array("q", [load + units for load in loads[lo:hi]])
            self._tops[block] = max(loads) + self._adds[block]

    # ---- queries --------------------------------------------------------------------------
    def peak(self, start: float, end: float, skip: Span | None = None) -> tuple[int, float, float]:
        """The largest ``S`` in ``[start, end)``, the first instant it holds and where that
        elementary interval ends (the next breakpoint, or ``end``); ``skip`` (a booking on
        this link) left out: taken back for the query and booked again."""
        if skip is None:
            return self._peak(start, end)
        self.remove(*skip)
        try:
            return self._peak(start, end)
        finally:
            self.add(*skip)

    def _peak(self, start: float, end: float) -> tuple[int, float, float]:
        times, loads, adds, tops = self._times, self._loads, self._adds, self._tops
        first = self._block_of(start)
        if first < 0:
            best, first, at = 0, 0, 0  # ``start`` is before every breakpoint
        else:
            at = bisect_right(times[first], start)
            best = loads[first][at - 1] + adds[first]
        best_at = start
        last = self._block_of(end)
        stop = bisect_left(times[last], end) if last >= 0 else 0
        # the breakpoints in (start, end), in order: block ``first`` from ``at``, the blocks
        # between whole, block ``last`` up to ``stop``
        if last < first:
            spans: list[tuple[int, int, int]] = []
        elif first == last:
            spans = [(first, at, stop)]
        else:
            spans = [(first, at, len(times[first])), (first + 1, -1, last), (last, 0, stop)]
        for block, lo, hi in spans:
            if lo < 0:  # whole blocks ``block`` to ``hi``: their maxima
                if block < hi and (top := max(tops[block:hi])) > best:
                    inner = tops.index(top, block, hi)
                    best, best_at = top, times[inner][loads[inner].index(top - adds[inner])]
            elif lo < hi:
                part = loads[block][lo:hi]
                top = max(part) + adds[block]
                if top > best:
                    best, best_at = top, times[block][lo + part.index(top - adds[block])]
        if best <= 0:
            best, best_at = 0, start
        return best, best_at, self._next_point(best_at, end)

    def _next_point(self, after: float, end: float) -> float:
        """The first breakpoint in ``(after, end)``, or ``end``."""
        block = max(0, self._block_of(after))
        for times in self._times[block : block + 2]:
            at = bisect_right(times, after)
            if at < len(times):
                return min(times[at], end)
        return end

    def ends_within(self, after: float, before: float) -> list[float]:
        """The finite ends in ``(after, before)``, sorted (repeats when bookings share one)."""
        ends = self._ends
        return ends[bisect_right(ends, after) : bisect_left(ends, before)]


__all__ = ["LinkLoad", "Span"]
