"""The ledger over time: windows share capacity, never over-booked at any instant."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from topology.model import LinkId
from vnstitch.resources.timeline import Timeline, Window

A, B, C = LinkId(1, 11, 2, 11), LinkId(2, 12, 3, 12), LinkId(3, 13, 4, 13)
LINKS = [A, B, C]
T0 = 1_800_000_000.0


def _zero(_link: LinkId) -> int:
    return 0


def _usable(units: int) -> object:
    return lambda _link: units


def test_overlapping_windows_share_capacity_and_a_refusal_names_link_and_interval() -> None:
    line: Timeline[int] = Timeline()
    line.book(1, Window(T0 + 10, T0 + 20), {A: 600})
    refused = line.check({A: 600, B: 600}, Window(T0 + 15, T0 + 25), _zero, lambda _l: 900)
    assert [r.link for r in refused] == [A]
    assert refused[0].during == Window(T0 + 15, T0 + 20)
    assert refused[0].free == 0.3 and refused[0].asked == 0.6
    text = refused[0].describe()
    assert "2027-01-15T08:00:15.000Z, 2027-01-15T08:00:20.000Z" in text, text
    assert line.check({A: 300}, Window(T0 + 15, T0 + 25), _zero, lambda _l: 900) == []


def test_adjacent_windows_do_not_overlap() -> None:
    line: Timeline[int] = Timeline()
    line.book(1, Window(T0, T0 + 10), {A: 900})
    assert line.check({A: 900}, Window(T0 + 10, T0 + 20), _zero, lambda _l: 900) == []
    assert line.check({A: 900}, Window(T0 - 10, T0), _zero, lambda _l: 900) == []
    assert line.check({A: 1}, Window(T0 + 9.999, T0 + 20), _zero, lambda _l: 900) != []


def test_open_ended_bookings_and_base_count_at_every_instant() -> None:
    line: Timeline[int] = Timeline()
    line.book(1, Window(T0 + 100, math.inf), {A: 400})
    far = Window(T0 + 10_000, T0 + 10_010)
    assert line.check({A: 500}, far, _zero, lambda _l: 900) == []
    assert line.check({A: 500}, far, lambda _l: 1, lambda _l: 900) != []  # base counts too
    assert line.ahead(T0) == {A: 400}
    line.cancel(1)
    assert line.ahead(T0) == {} and line.links() == frozenset()


def test_peak_is_the_largest_sum_and_where_it_holds() -> None:
    line: Timeline[int] = Timeline()
    line.book(1, Window(T0, T0 + 30), {A: 100})
    line.book(2, Window(T0 + 10, T0 + 20), {A: 200})
    line.book(3, Window(T0 + 20, T0 + 40), {A: 250})
    peak = line.peak(A, Window(T0, T0 + 40))
    assert peak.units == 350 and peak.during == Window(T0 + 20, T0 + 30)
    assert line.peak(A, Window(T0, T0 + 40), skip=3).units == 300
    assert line.breakpoints([A], T0, T0 + 35) == [T0, T0 + 20, T0 + 30]


def test_a_window_must_end_after_it_starts() -> None:
    for start, end in ((T0, T0), (T0 + 1, T0), (math.nan, T0)):
        try:
            Window(start, end)
        except ValueError:
            continue
        raise AssertionError(f"{start}..{end} accepted")


requests = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=50),  # start
        st.one_of(st.integers(min_value=1, max_value=30), st.just(None)),  # length; None: open
        st.dictionaries(
            st.sampled_from(LINKS), st.integers(min_value=1, max_value=600), min_size=1
        ),
        st.booleans(),  # cancel one booked earlier
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(
    requests=requests,
    capacity=st.dictionaries(st.sampled_from(LINKS), st.integers(min_value=0, max_value=1500)),
    base=st.integers(min_value=0, max_value=300),
)
def test_at_no_instant_does_any_link_exceed_its_usable_capacity(
    requests: list[tuple[int, int | None, dict[LinkId, int], bool]],
    capacity: dict[LinkId, int],
    base: int,
) -> None:
    """Admit what ``check`` accepts; brute force over every instant agrees: never over-booked,
    and every refusal was needed (booking it would have over-booked some instant)."""
    line: Timeline[int] = Timeline()

    def usable(link: LinkId) -> int:
        return capacity.get(link, 1000)

    booked: dict[int, tuple[Window, dict[LinkId, int]]] = {}
    for owner, (start, length, units, cancel) in enumerate(requests):
        if cancel and booked:
            gone = sorted(booked)[owner % len(booked)]
            line.cancel(gone)
            del booked[gone]
        window = Window(T0 + start, math.inf if length is None else T0 + start + length)
        refused = line.check(units, window, lambda _l: base, usable)
        if refused:
            trial = {**booked, owner: (window, units)}
            assert _worst(trial, usable, base) > 0, (refused, trial)
            for over in refused:
                assert over.during.start >= window.start and over.during.end <= window.end
            continue
        line.book(owner, window, units)
        booked[owner] = (window, units)
        assert _worst(booked, usable, base) <= 0
    for link in LINKS:
        expected = max(
            (_sum_at(booked, link, t) for t in _instants(booked)),
            default=0,
        )
        assert line.ahead(T0).get(link, 0) == expected


def _instants(booked: dict[int, tuple[Window, dict[LinkId, int]]]) -> set[float]:
    return {w.start for w, _ in booked.values()} | {
        w.end for w, _ in booked.values() if math.isfinite(w.end)
    }


def _sum_at(booked: dict[int, tuple[Window, dict[LinkId, int]]], link: LinkId, t: float) -> int:
    return sum(u.get(link, 0) for w, u in booked.values() if w.start <= t < w.end)


def _worst(booked: dict[int, tuple[Window, dict[LinkId, int]]], usable: object, base: int) -> int:
    """The largest excess over usable capacity at any instant on any link where something is
    booked (<= 0: sound; ``base`` alone above capacity is no booking's doing)."""
    assert callable(usable)
    worst = -(10**9)
    for t in _instants(booked):
        for link in LINKS:
            total = _sum_at(booked, link, t)
            if total:
                worst = max(worst, base + total - usable(link))
    return worst
