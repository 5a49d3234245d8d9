"""Intent ids, the REST form, and the lossless storage round trip."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vnstitch.intents.model import (
    ConnectivitySpec,
    HistoryEntry,
    Intent,
    IntentKind,
    IntentSpec,
    IntentState,
    IsolationSpec,
    LowLatencySpec,
    ZoneRef,
    intent_id,
    intent_number,
)
from vnstitch.intents.parse import IntentError

NAMES = st.sampled_from(["h1", "h2", "h3", "10.0.0.4", "00:00:00:00:00:05"])
ZONES = st.frozensets(st.sampled_from(["blue", "red", "pci"]), max_size=2)
GROUPS = st.one_of(
    st.lists(NAMES, min_size=1, max_size=3, unique=True).map(tuple),
    st.sampled_from(["pci", "voice"]).map(ZoneRef),
)
LATENCY = st.none() | st.floats(min_value=0.1, max_value=1000)


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


SPECS: st.SearchStrategy[IntentSpec] = st.one_of(connectivity(), low_latency(), isolation())
HISTORY = st.lists(
    st.builds(
        HistoryEntry,
        st.floats(0, 1e9),
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
)
def test_record_round_trip_through_json_is_lossless(
    number: int,
    spec: IntentSpec,
    state: IntentState,
    reason: str | None,
    reservations: tuple[int, ...],
    history: tuple[HistoryEntry, ...],
) -> None:
    intent = Intent(intent_id(number), spec, state, reason, 1.5, 2.5, reservations, history)
    stored = json.loads(json.dumps(intent.to_record()))
    assert Intent.from_record(stored) == intent


def test_rest_form_carries_the_spec_body_and_the_lifecycle() -> None:
    spec = IsolationSpec(("h1", "h2"), ZoneRef("pci"))
    entry = HistoryEntry(3.0, IntentState.FAILED, "unknown endpoint 'h2'")
    intent = Intent("intent-7", spec, IntentState.FAILED, entry.reason, 1.0, 3.0, (4, 5), (entry,))
    assert intent.to_dict() == {
        "id": "intent-7",
        "kind": "isolation",
        "state": "FAILED",
        "reason": "unknown endpoint 'h2'",
        "spec": {"kind": "isolation", "a": ["h1", "h2"], "b": "zone:pci"},
        "reservations": ["4", "5"],
        "created_at": 1.0,
        "updated_at": 3.0,
        "history": [{"time": 3.0, "state": "FAILED", "reason": "unknown endpoint 'h2'"}],
    }
    assert intent.kind is IntentKind.ISOLATION
    assert intent.number == 7


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
