"""Intent ids, the REST form, and the lossless storage round trip."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vnstitch.clock import TimeFormatError, parse_rfc3339
from vnstitch.intents.lifecycle import advance, new_intent, with_reservations
from vnstitch.intents.model import (
    HistoryEntry,
    Intent,
    IntentKind,
    IntentRecord,
    IntentState,
    intent_id,
    intent_number,
)
from vnstitch.intents.parse import IntentError
from vnstitch.intents.specs import (
    ConnectivitySpec,
    IntentSpec,
    IsolationSpec,
    LowLatencySpec,
    ZoneRef,
)

NAMES = st.sampled_from(["h1", "h2", "h3", "10.0.0.4", "00:00:00:00:00:05"])
ZONES = st.frozensets(st.sampled_from(["blue", "red", "pci"]), max_size=2)
GROUPS = st.one_of(
    st.lists(NAMES, min_size=1, max_size=3, unique=True).map(tuple),
    st.sampled_from(["pci", "voice"]).map(ZoneRef),
)
LATENCY = st.none() | st.floats(min_value=0.1, max_value=1000)
AMOUNT = st.floats(min_value=0, max_value=1e4)
# Wall-clock times as stored: RFC 3339 keeps milliseconds, so whole milliseconds round-trip.
WALL = st.integers(0, 4_000_000_000_000).map(lambda ms: ms / 1000)


@st.composite
def connectivity(draw: st.DrawFn) -> ConnectivitySpec:
    src, dst = draw(st.lists(NAMES, min_size=2, max_size=2, unique=True))
    proto = draw(st.sampled_from([None, 6, 17]))
    return ConnectivitySpec(
        src,
        dst,
        draw(st.floats(min_value=0, max_value=1e4)),
        draw(LATENCY),
        draw(st.none() | ZONES),
        draw(ZONES),
        draw(st.booleans()),
        proto,
        None if proto is None else draw(st.none() | st.integers(1, 65535)),
        draw(AMOUNT),
        draw(AMOUNT),
        draw(AMOUNT),
        draw(st.booleans()),
    )


@st.composite
def low_latency(draw: st.DrawFn) -> LowLatencySpec:
    endpoints = draw(GROUPS.filter(lambda g: isinstance(g, ZoneRef) or len(g) >= 2))
    ports = tuple(draw(st.lists(st.integers(1, 65535), max_size=3, unique=True)))
    protocols = draw(st.sampled_from([("tcp",), ("udp",), ("tcp", "udp")])) if ports else None
    return LowLatencySpec(
        endpoints,
        draw(st.none() | st.sampled_from(["voip", "game"])),
        ports,
        draw(LATENCY),
        protocols or ("tcp", "udp"),
    )


@st.composite
def isolation(draw: st.DrawFn) -> IsolationSpec:
    a = draw(GROUPS)
    b = draw(GROUPS.filter(lambda g: g != a))
    if isinstance(a, tuple) and isinstance(b, tuple) and set(a) & set(b):
        b = ZoneRef("pci")
    return IsolationSpec(a, b)


OPENAPI = Path("vnstitch", "northbound", "openapi.json")
SUBMITTED = 1_795_987_055.123  # 2026-11-29T21:17:35.123Z, wall clock

SPECS: st.SearchStrategy[IntentSpec] = st.one_of(connectivity(), low_latency(), isolation())
HISTORY = st.lists(
    st.builds(
        HistoryEntry,
        WALL,
        st.sampled_from(list(IntentState)),
        st.none() | st.text(max_size=20),
    ),
    max_size=4,
).map(tuple)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 10**6),
    SPECS,
    st.sampled_from(list(IntentState)),
    st.none() | st.text(max_size=30),
    st.lists(st.integers(1, 10**6), max_size=4).map(tuple),
    HISTORY,
    WALL,
    WALL,
)
def test_record_round_trip_through_json_is_lossless(
    number: int,
    spec: IntentSpec,
    state: IntentState,
    reason: str | None,
    reservations: tuple[int, ...],
    history: tuple[HistoryEntry, ...],
    created: float,
    updated: float,
) -> None:
    intent = Intent(intent_id(number), spec, state, reason, created, updated, reservations, history)
    stored = json.loads(json.dumps(intent.to_record()))
    assert Intent.from_record(stored) == intent


def test_rest_form_carries_the_spec_body_and_the_lifecycle() -> None:
    spec = IsolationSpec(("h1", "h2"), ZoneRef("pci"))
    entry = HistoryEntry(SUBMITTED + 2, IntentState.FAILED, "unknown endpoint 'h2'")
    intent = Intent(
        "intent-7",
        spec,
        IntentState.FAILED,
        entry.reason,
        SUBMITTED,
        SUBMITTED + 2,
        (4, 5),
        (entry,),
    )
    assert intent.to_dict() == {
        "id": "intent-7",
        "kind": "isolation",
        "state": "FAILED",
        "reason": "unknown endpoint 'h2'",
        "spec": {"kind": "isolation", "a": ["h1", "h2"], "b": "zone:pci"},
        "reservations": ["4", "5"],
        "created_at": "2026-11-29T21:17:35.123Z",
        "updated_at": "2026-11-29T21:17:37.123Z",
        "history": [
            {
                "time": "2026-11-29T21:17:37.123Z",
                "state": "FAILED",
                "reason": "unknown endpoint 'h2'",
            }
        ],
        "window": None,
        "next_occurrence": None,
    }
    assert intent.kind is IntentKind.ISOLATION
    assert intent.number == 7


def _times(doc: dict[str, Any]) -> list[str]:
    return [doc["created_at"], doc["updated_at"], *(h["time"] for h in doc["history"])]


@pytest.mark.parametrize("wall", [0.0, 1_000_000_000.5, SUBMITTED, 1_795_987_055.999_999])
def test_rest_times_are_rfc3339_utc_and_the_wall_time_to_the_millisecond(wall: float) -> None:
    intent = advance(new_intent(3, ConnectivitySpec("h1", "h2"), wall), IntentState.COMPILING, wall)
    times = _times(intent.to_dict())
    assert len(times) == 4
    for text in times:
        assert isinstance(text, str) and text.endswith("Z")
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
        assert stamp.utcoffset() == timedelta(0)
        assert abs(parse_rfc3339(text) - wall) < 0.001


def test_a_stored_record_keeps_rfc3339_times_and_round_trips() -> None:
    intent = new_intent(4, ConnectivitySpec("h1", "h2", 10.0), SUBMITTED)
    intent = advance(intent, IntentState.COMPILING, SUBMITTED + 0.5)
    intent = with_reservations(intent, (9,), SUBMITTED + 0.75)
    intent = advance(intent, IntentState.FAILED, SUBMITTED + 1, "no path")
    record = json.loads(json.dumps(intent.to_record()))
    assert _times(record) == [
        "2026-11-29T21:17:35.123Z",
        "2026-11-29T21:17:36.123Z",
        "2026-11-29T21:17:35.123Z",
        "2026-11-29T21:17:35.623Z",
        "2026-11-29T21:17:36.123Z",
    ]
    restored = Intent.from_record(record)
    assert restored == intent
    assert restored.created_at == SUBMITTED and restored.history[-1].time == SUBMITTED + 1


def test_a_record_time_given_in_another_zone_reads_as_the_same_instant() -> None:
    record = Intent("intent-1", ConnectivitySpec("h1", "h2"), created_at=SUBMITTED).to_record()
    record["created_at"] = "2026-11-29T22:17:35.123+01:00"
    assert Intent.from_record(record).created_at == SUBMITTED


@pytest.mark.parametrize("bad", ["", "1764451055.123", "2026-11-29T21:17:35", "yesterday"])
def test_a_record_time_that_is_not_rfc3339_is_refused(bad: str) -> None:
    record: IntentRecord = Intent("intent-1", ConnectivitySpec("h1", "h2")).to_record()
    record["history"] = [{"time": bad, "state": "SUBMITTED", "reason": None}]
    with pytest.raises(TimeFormatError):
        Intent.from_record(record)


def test_a_record_with_an_invalid_body_is_refused() -> None:
    record = Intent("intent-1", ConnectivitySpec("h1", "h2")).to_record()
    record["body"]["dst"] = "h1"
    with pytest.raises(IntentError):
        Intent.from_record(record)


def test_ids_number_from_one() -> None:
    assert intent_id(12) == "intent-12"
    assert intent_number("intent-12") == 12
    with pytest.raises(ValueError):
        intent_id(0)


@pytest.mark.parametrize("bad", ["12", "intent-", "intent-0", "intent-01", "intent-x", "res-3"])
def test_malformed_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        intent_number(bad)


def test_the_openapi_document_shows_intent_times_as_rfc3339_strings() -> None:
    doc = json.loads((Path(__file__).resolve().parents[2] / OPENAPI).read_text())
    schema = doc["components"]["schemas"]["Intent"]["properties"]
    date_time = {"type": "string", "format": "date-time"}
    for prop in (
        schema["created_at"],
        schema["updated_at"],
        schema["history"]["items"]["properties"]["time"],
    ):
        assert {k: prop[k] for k in date_time} == date_time
