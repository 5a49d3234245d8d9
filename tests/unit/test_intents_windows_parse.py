"""The window and recurrence of a connectivity intent body: parsed, round-tripped, and every
bad one refused with a 400 naming the field (through the core's POST /v1/intents)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from core_harness import HOSTS, Harness

from vnstitch.clock import rfc3339
from vnstitch.core.commands import CreateIntent
from vnstitch.intents.model import ConnectivitySpec
from vnstitch.intents.parse import IntentError, check_window, parse_intent

H1, H4 = HOSTS[1][1], HOSTS[4][1]
BASE = {"kind": "connectivity", "src": H1, "dst": H4, "bandwidth_mbps": 10}
WEEKDAYS = {
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "start": "09:00",
    "end": "10:00",
    "time_zone": "Europe/Berlin",
    "until": "2027-03-31",
}


def test_a_recurrence_parses_and_its_body_round_trips() -> None:
    spec = parse_intent({**BASE, "recurrence": WEEKDAYS})
    assert isinstance(spec, ConnectivitySpec) and spec.recurrence is not None
    assert spec.recurrence.zone == "Europe/Berlin" and spec.recurrence.days == frozenset(range(5))
    assert parse_intent(spec.to_body()) == spec
    window = spec.recurrence.next_window(1_800_000_000.0)  # Friday 2027-01-15 08:00 UTC
    assert window is not None and rfc3339(window.start) == "2027-01-15T08:00:00.000Z"  # 09:00 CET


def test_a_window_parses_and_its_body_round_trips() -> None:
    body = {**BASE, "start": "2027-01-15T09:00:00+01:00", "end": "2027-01-15T10:00:00Z"}
    spec = parse_intent(body)
    assert isinstance(spec, ConnectivitySpec)
    assert spec.start is not None and spec.end is not None and spec.end - spec.start == 7200
    assert spec.to_body()["start"] == "2027-01-15T08:00:00.000Z"
    assert parse_intent(spec.to_body()) == spec
    assert spec.to_request("intent-3").windowed


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"time_zone": "Mars/Olympus"}, "recurrence.time_zone", "IANA zone"),
        ({"days": ["mon", "funday"]}, "recurrence.days", "days must be"),
        ({"days": []}, "recurrence.days", "days must be"),
        ({"start": "10:00", "end": "09:00"}, "recurrence.end", "after start"),
        ({"start": "9:00"}, "recurrence.start", "HH:MM"),
        ({"until": "31.03.2027"}, "recurrence.until", "YYYY-MM-DD"),
        ({"every": "week"}, "recurrence.every", "unknown field"),
    ],
)
def test_a_bad_recurrence_is_refused_naming_the_field(
    change: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(IntentError, match=words) as caught:
        parse_intent({**BASE, "recurrence": {**WEEKDAYS, **change}})
    assert caught.value.field == field


def test_a_window_and_a_recurrence_together_or_a_backwards_window_are_refused() -> None:
    with pytest.raises(IntentError) as both:
        parse_intent({**BASE, "start": "2027-01-15T09:00:00Z", "recurrence": WEEKDAYS})
    assert both.value.field == "recurrence"
    with pytest.raises(IntentError) as backwards:
        parse_intent({**BASE, "start": "2027-01-15T10:00:00Z", "end": "2027-01-15T09:00:00Z"})
    assert backwards.value.field == "end"
    with pytest.raises(IntentError) as low_latency:
        parse_intent({"kind": "low_latency", "endpoints": [H1, H4], "start": "2027-01-15T10:00Z"})
    assert low_latency.value.field == "start"  # only connectivity intents take a window


def test_what_is_over_at_submission_is_refused_but_still_parses_from_the_store() -> None:
    now = 1_800_000_000.0
    past = parse_intent({**BASE, "recurrence": {**WEEKDAYS, "until": "2027-01-14"}})
    with pytest.raises(IntentError) as caught:
        check_window(past, now)
    assert caught.value.field == "recurrence.until"
    ended = parse_intent({**BASE, "end": rfc3339(now - 1.0)})
    with pytest.raises(IntentError) as over:
        check_window(ended, now)
    assert over.value.field == "end"
    check_window(parse_intent({**BASE, "recurrence": WEEKDAYS}), now)  # fine: no error


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"recurrence": {**WEEKDAYS, "time_zone": "Nowhere/Land"}}, "recurrence.time_zone"),
        ({"recurrence": {**WEEKDAYS, "days": "weekends"}}, "recurrence.days"),
        ({"recurrence": {**WEEKDAYS, "start": "11:00"}}, "recurrence.end"),
        ({"recurrence": {**WEEKDAYS, "until": "2026-12-31"}}, "recurrence.until"),
        ({"end": "2026-12-31T00:00:00Z"}, "end"),
    ],
)
def test_post_intents_answers_400_and_keeps_nothing(
    tmp_path: Path, extra: dict[str, Any], field: str
) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    reply = h.call(CreateIntent({**BASE, **extra}), 1)
    assert reply is not None and reply.status == 400, reply
    assert reply.body["field"] == field
    assert not h.core.intents.intents and not h.core.schedule.booked
