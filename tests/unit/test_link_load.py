"""The per-link index answers exactly what the sweep over every booking answers.

A reference model keeps the bookings in a plain dict and answers each query by the sweep the
timeline used before its index (sort every start and end point of the overlapping bookings,
add them up). Random books (replacing), cancels and queries with shared breakpoints, adjacent
and open-ended windows, and an owner left out, compared after every step.
"""

from __future__ import annotations

import math
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from topology.model import LinkId
from vnstitch.resources import link_load
from vnstitch.resources.link_load import LinkLoad
from vnstitch.resources.timeline import Peak, Timeline, Window

A, B = LinkId(1, 11, 2, 11), LinkId(2, 12, 3, 12)
LINKS = [A, B]
T0 = 1_800_000_000.0

Model = dict[int, tuple[Window, dict[LinkId, int]]]


def _sweep(model: Model, link: LinkId, window: Window, skip: int | None) -> Peak:
    """The sweep: the largest sum over ``window`` and its first elementary interval."""
    spans = [
        (w.start, w.end, u[link])
        for owner, (w, u) in model.items()
        if owner != skip and link in u and w.overlaps(window)
    ]
    points = sorted(
        [(max(s, window.start), u) for s, _, u in spans]
        + [(min(e, window.end), -u) for _, e, u in spans]
    )
    best, best_at, total = 0, window.start, 0
    for index, (when, delta) in enumerate(points):
        total += delta
        following = points[index + 1][0] if index + 1 < len(points) else window.end
        if total > best and following > when:
            best, best_at = total, when
    if not best:
        return Peak(0, window)
    after = [t for s, e, _ in spans for t in (s, e) if best_at < t < window.end]
    return Peak(best, Window(best_at, min(after, default=window.end)))


def _window(start: int, length: int | None) -> Window:
    return Window(T0 + start, math.inf if length is None else T0 + start + length)


times = st.integers(min_value=0, max_value=40)
amounts = st.one_of(st.sampled_from([0, 100, 200, 300]), st.integers(0, 500))  # ties, and not
lengths = st.one_of(st.integers(min_value=1, max_value=25), st.none())
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("book"),
            st.integers(0, 12),
            times,
            lengths,
            st.dictionaries(st.sampled_from(LINKS), amounts, min_size=1),
        ),
        st.tuples(st.just("cancel"), st.integers(0, 12)),
    ),
    min_size=1,
    max_size=40,
)
queries = st.lists(
    st.tuples(times, lengths, st.one_of(st.none(), st.integers(0, 12))), min_size=1, max_size=6
)


@settings(max_examples=400, deadline=None)
@given(operations=operations, queries=queries)
def test_the_index_agrees_with_the_sweep(
    operations: list[tuple[object, ...]],
    queries: list[tuple[int, int | None, int | None]],
) -> None:
    with mock.patch.object(link_load, "MIN_BLOCK", 4):
        _agree(operations, queries)


def _agree(
    operations: list[tuple[object, ...]], queries: list[tuple[int, int | None, int | None]]
) -> None:
    line: Timeline[int] = Timeline()
    model: Model = {}
    for op in operations:
        match op:
            case ("book", int(owner), int(start), length, dict(units)):
                window = _window(start, length)  # type: ignore[arg-type]
                line.book(owner, window, units)
                model[owner] = (window, {k: u for k, u in units.items() if u > 0})
            case ("cancel", int(owner)):
                gone = line.cancel(owner)
                assert (gone is None) == (owner not in model)
                model.pop(owner, None)
        for start, length, skip in queries:
            window = _window(start, length)
            for link in LINKS:
                assert line.peak(link, window, skip) == _sweep(model, link, window, skip)
                booked = [o for o, (_, u) in model.items() if link in u]
                assert line.count(link) == len(booked)
            refused = line.check({A: 300, B: 300}, window, lambda _l: 100, lambda _l: 900, skip)
            peaks = {link: _sweep(model, link, window, skip) for link in LINKS}
            expected = [(link, p.during) for link, p in peaks.items() if p.units > 500]
            assert [(o.link, o.during) for o in refused] == expected
            now = T0 + start
            ahead = {link: _sweep(model, link, Window(now, math.inf), None) for link in LINKS}
            assert line.ahead(now) == {link: p.units for link, p in ahead.items() if p.units}
            assert sorted(line.expire(now)) == sorted(
                o for o, (w, _) in model.items() if w.end <= now
            )
            before = now + (length or 30)
            assert line.breakpoints(LINKS, now, before) == sorted(
                {now} | {w.end for w, u in model.values() if u and now < w.end < before}
            )
    assert line.links() == frozenset(link for _, u in model.values() for link in u)


@settings(max_examples=1000, deadline=None)
@given(
    spans=st.lists(st.tuples(times, lengths, amounts.filter(bool)), max_size=30),
    probe=st.tuples(times, lengths),
)
def test_taking_every_booking_back_leaves_an_empty_index(
    spans: list[tuple[int, int | None, int]], probe: tuple[int, int | None]
) -> None:
    """Book them all, take them back in another order; the peak over a whole day and over
    ``probe`` agree with the sweep after every step (blocks split, merge and empty)."""
    load = LinkLoad()
    model: Model = {}
    with mock.patch.object(link_load, "MIN_BLOCK", 4):
        for owner, (start, length, units) in enumerate(spans):
            window = _window(start, length)
            load.add(window.start, window.end, units)
            model[owner] = (window, {A: units})
            _agrees(load, model, _window(*probe))
        for owner in list(range(0, len(spans), 2))[::-1] + list(range(1, len(spans), 2)):
            window, units = model.pop(owner)
            load.remove(window.start, window.end, units[A])
            _agrees(load, model, _window(*probe))
    assert (load.points, load.bookings, load.total) == (0, 0, 0)
    assert load.peak(-math.inf, math.inf) == (0, -math.inf, math.inf)
    assert load.ends_within(-math.inf, math.inf) == []


def _agrees(load: LinkLoad, model: Model, probe: Window) -> None:
    for window in (probe, Window(-math.inf, math.inf)):
        peak = _sweep(model, A, window, None)
        assert load.peak(window.start, window.end) == (
            peak.units,
            peak.during.start,
            peak.during.end,
        )


def test_the_first_of_equal_peaks_in_many_blocks_is_the_one_named() -> None:
    """Twenty equal bookings apart, then one under the fifth: every window's peak and
    interval as the sweep finds them, with and without an owner left out."""
    line: Timeline[int] = Timeline()
    model: Model = {}
    with mock.patch.object(link_load, "MIN_BLOCK", 4):
        for owner in range(20):
            window, units = _window(3 * owner, 2), {A: 100}
            line.book(owner, window, units)
            model[owner] = (window, units)
        line.book(20, _window(12, 10), {A: 100})
        model[20] = (_window(12, 10), {A: 100})
        for start in range(0, 60, 2):
            for length in (1, 5, 17, None):
                window = _window(start, length)
                for skip in (None, 4, 20):
                    assert line.peak(A, window, skip) == _sweep(model, A, window, skip)
