"""Recurring windows: local times in a named zone, across daylight-saving changes."""

from __future__ import annotations

import pytest

from vnstitch.clock import parse_rfc3339, rfc3339
from vnstitch.resources.recurrence import RecurrenceError, parse_recurrence
from vnstitch.resources.timeline import Timeline


def _weekly(**body: object) -> list[tuple[str, str]]:
    spec = {"days": "weekdays", "start": "09:00", "end": "10:00", "time_zone": "Europe/Berlin"}
    after = parse_rfc3339(str(body.pop("after_", "2027-03-25T00:00:00Z")))
    rec = parse_recurrence({**spec, **body})
    return [(rfc3339(w.start), rfc3339(w.end)) for w in rec.windows(after)]


def test_weekdays_keep_local_time_across_the_spring_change() -> None:
    """Berlin moves to summer time on Sunday 2027-03-28: 09:00 local is 08:00, then 07:00 UTC."""
    got = _weekly(until="2027-03-30")
    assert got == [
        ("2027-03-25T08:00:00.000Z", "2027-03-25T09:00:00.000Z"),
        ("2027-03-26T08:00:00.000Z", "2027-03-26T09:00:00.000Z"),
        ("2027-03-29T07:00:00.000Z", "2027-03-29T08:00:00.000Z"),
        ("2027-03-30T07:00:00.000Z", "2027-03-30T08:00:00.000Z"),
    ]


def test_a_window_over_the_autumn_change_lasts_the_local_hours() -> None:
    """02:30-03:30 on 2026-10-25 in Berlin: 02:30 happens twice (first taken), 03:30 once."""
    got = _weekly(
        days=["sun"], start="02:30", end="03:30", until="2026-10-25", after_="2026-10-20T00:00:00Z"
    )
    assert got == [("2026-10-25T00:30:00.000Z", "2026-10-25T02:30:00.000Z")]


def test_a_start_skipped_by_spring_forward_moves_by_the_gap() -> None:
    """Berlin skips 02:00-03:00 on 2027-03-28: 02:30-04:00 local becomes 03:30-04:00."""
    got = _weekly(days=["sun"], start="02:30", end="04:00", until="2027-03-28")
    assert got == [("2027-03-28T01:30:00.000Z", "2027-03-28T02:00:00.000Z")]


def test_other_zones_and_overnight_windows() -> None:
    got = _weekly(
        days=["fri"],
        start="23:00",
        end="01:00",
        time_zone="America/New_York",
        until="2026-11-06",
        after_="2026-10-30T00:00:00Z",
    )
    # 2026-10-30 is EDT (UTC-4); 2026-11-01 the clocks go back; 2026-11-06 is EST (UTC-5)
    assert got == [
        ("2026-10-31T03:00:00.000Z", "2026-10-31T05:00:00.000Z"),
        ("2026-11-07T04:00:00.000Z", "2026-11-07T06:00:00.000Z"),
    ]


def test_recurring_windows_share_capacity_with_a_one_off_booking() -> None:
    rec = parse_recurrence(
        {
            "days": "weekdays",
            "start": "09:00",
            "end": "10:00",
            "time_zone": "UTC",
            "until": "2027-01-08",
        }
    )
    line: Timeline[str] = Timeline()
    for n, window in enumerate(rec.windows(parse_rfc3339("2027-01-04T00:00:00Z"))):
        line.book(f"conf-{n}", window, {"l": 600})  # type: ignore[dict-item]
    transfer = rec.next_window(parse_rfc3339("2027-01-06T00:00:00Z"))
    assert transfer is not None
    refused = line.check({"l": 600}, transfer, lambda _l: 0, lambda _l: 900)  # type: ignore[dict-item]
    assert refused and rfc3339(refused[0].during.start) == "2027-01-06T09:00:00.000Z"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start": "9:00"}, "recurrence.start"),
        ({"time_zone": "Mars/Olympus"}, "recurrence.time_zone"),
        ({"days": ["someday"]}, "recurrence.days"),
        ({"until": "tomorrow"}, "recurrence.until"),
        ({"end": "09:00"}, "recurrence.end"),
        ({"every": 2}, "recurrence.every"),
    ],
)
def test_bad_recurrences_name_the_field(body: dict[str, object], field: str) -> None:
    spec = {
        "days": "weekdays",
        "start": "09:00",
        "end": "10:00",
        "time_zone": "UTC",
        "until": "2027-01-08",
    }
    with pytest.raises(RecurrenceError) as err:
        parse_recurrence({**spec, **body})
    assert err.value.field == field
