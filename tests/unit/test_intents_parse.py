"""Intent bodies: every kind parses, every bad field is named, nothing else ever escapes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vnstitch.intents.parse import IntentError, parse_intent
from vnstitch.intents.specs import ConnectivitySpec, IsolationSpec, LowLatencySpec, ZoneRef


def _field(body: Any) -> str | None:
    with pytest.raises(IntentError) as err:
        parse_intent(body)
    return err.value.field


def test_connectivity_example_from_the_issue() -> None:
    spec = parse_intent(
        {
            "kind": "connectivity",
            "src": "h1",
            "dst": "h3",
            "bandwidth_mbps": 10,
            "max_latency_ms": 20,
            "zones": ["blue"],
            "avoid_zones": ["red"],
            "bidirectional": True,
        }
    )
    assert spec == ConnectivitySpec(
        "h1", "h3", 10.0, 20.0, frozenset({"blue"}), frozenset({"red"}), True
    )


def test_connectivity_needs_only_src_and_dst() -> None:
    assert parse_intent({"kind": "connectivity", "src": "h1", "dst": "h3"}) == ConnectivitySpec(
        "h1", "h3"
    )


def test_low_latency_example_from_the_issue() -> None:
    spec = parse_intent(
        {
            "kind": "low_latency",
            "app": "voip",
            "endpoints": ["h1", "h2", "h3"],
            "ports": [5060],
            "max_latency_ms": 10,
        }
    )
    assert spec == LowLatencySpec(("h1", "h2", "h3"), "voip", (5060,), 10.0, ("tcp", "udp"))


def test_low_latency_protocols_can_be_narrowed() -> None:
    spec = parse_intent(
        {"kind": "low_latency", "endpoints": "zone:voice", "ports": [5060], "protocols": ["udp"]}
    )
    assert spec == LowLatencySpec(ZoneRef("voice"), None, (5060,), None, ("udp",))


def test_isolation_example_from_the_issue() -> None:
    spec = parse_intent({"kind": "isolation", "a": ["h1", "h2"], "b": "zone:pci"})
    assert spec == IsolationSpec(("h1", "h2"), ZoneRef("pci"))


def test_groups_drop_duplicate_endpoints() -> None:
    spec = parse_intent({"kind": "isolation", "a": ["h1", "h1", "h2"], "b": ["h3"]})
    assert isinstance(spec, IsolationSpec)
    assert spec.a == ("h1", "h2")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], None),
        ({}, "kind"),
        ({"kind": "teleport"}, "kind"),
        ({"kind": 3}, "kind"),
        ({"kind": "connectivity", "src": "h1"}, "dst"),
        ({"kind": "connectivity", "src": "h1", "dst": "h1"}, "dst"),
        ({"kind": "connectivity", "src": "h1", "dst": "h2", "colour": "red"}, "colour"),
        (
            {"kind": "connectivity", "src": "h1", "dst": "h2", "bandwidth_mbps": -1},
            "bandwidth_mbps",
        ),
        (
            {"kind": "connectivity", "src": "h1", "dst": "h2", "bandwidth_mbps": 10**400},
            "bandwidth_mbps",
        ),
        ({"kind": "connectivity", "src": "h1", "dst": "h2", "max_latency_ms": 0}, "max_latency_ms"),
        ({"kind": "connectivity", "src": "h1", "dst": "h2", "zones": "blue"}, "zones"),
        ({"kind": "connectivity", "src": "h1", "dst": "h2", "bidirectional": 1}, "bidirectional"),
        ({"kind": "low_latency", "endpoints": ["h1"]}, "endpoints"),
        ({"kind": "low_latency", "endpoints": ["h1", "h1"]}, "endpoints"),
        ({"kind": "low_latency", "endpoints": ["h1", "h2"], "ports": [0]}, "ports"),
        ({"kind": "low_latency", "endpoints": ["h1", "h2"], "ports": [65536]}, "ports"),
        ({"kind": "low_latency", "endpoints": ["h1", "h2"], "ports": [True]}, "ports"),
        ({"kind": "low_latency", "endpoints": ["h1", "h2"], "ports": 5060}, "ports"),
        ({"kind": "low_latency", "endpoints": ["h1", "h2"], "protocols": ["udp"]}, "protocols"),
        (
            {"kind": "low_latency", "endpoints": ["h1", "h2"], "ports": [1], "protocols": ["sctp"]},
            "protocols",
        ),
        ({"kind": "low_latency", "endpoints": ["h1", "h2"], "app": ""}, "app"),
        ({"kind": "low_latency", "endpoints": ["h1", "h2"], "src": "h1"}, "src"),
        ({"kind": "isolation", "a": [], "b": ["h2"]}, "a"),
        ({"kind": "isolation", "a": "h1", "b": ["h2"]}, "a"),
        ({"kind": "isolation", "a": "zone:", "b": ["h2"]}, "a"),
        ({"kind": "isolation", "a": ["h1"], "b": {"zone": "pci"}}, "b"),
        ({"kind": "isolation", "a": ["h1", 7], "b": ["h2"]}, "a[1]"),
        ({"kind": "isolation", "a": ["h1", "zone:pci"], "b": ["h2"]}, "a[1]"),
        ({"kind": "isolation", "a": ["h1", "h2"], "b": ["h2"]}, "b"),
        ({"kind": "isolation", "a": "zone:pci", "b": "zone:pci"}, "b"),
        ({"kind": "isolation", "a": ["h1"]}, "b"),
    ],
)
def test_bad_bodies_name_the_field(body: Any, field: str | None) -> None:
    assert _field(body) == field


def test_error_serialises_for_a_400() -> None:
    with pytest.raises(IntentError) as err:
        parse_intent({"kind": "isolation", "a": ["h1"], "b": []})
    assert err.value.to_dict() == {"error": "b must name at least one endpoint", "field": "b"}


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["h1", "h2", "zone:pci", "zone:", "tcp", "udp"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = st.sampled_from(
    [
        "kind",
        "src",
        "dst",
        "a",
        "b",
        "endpoints",
        "ports",
        "protocols",
        "app",
        "max_latency_ms",
        "bandwidth_mbps",
        "zones",
        "avoid_zones",
        "bidirectional",
        "ip_proto",
        "dst_port",
        "cpu",
        "memory_mb",
        "storage_gb",
        "prefer_latency",
        "protection",
    ]
)
BODIES = st.builds(
    lambda kind, rest: {"kind": kind, **rest},
    st.sampled_from(["connectivity", "low_latency", "isolation"]),
    st.dictionaries(KEYS, JSON, max_size=5),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(JSON, BODIES))
def test_arbitrary_json_gives_a_spec_or_an_intent_error(body: Any) -> None:
    try:
        spec = parse_intent(body)
    except IntentError:
        return
    assert parse_intent(spec.to_body()) == spec


VALID = st.sampled_from(
    [
        {"kind": "connectivity", "src": "h1", "dst": "h3", "bandwidth_mbps": 10},
        {"kind": "low_latency", "endpoints": ["h1", "h2"], "ports": [5060]},
        {"kind": "isolation", "a": ["h1", "h2"], "b": "zone:pci"},
    ]
)


NEEDS = {"dst_port": {"ip_proto"}}  # a field refused for want of another names that one


@settings(max_examples=300, deadline=None)
@given(VALID, KEYS, JSON)
@example({"kind": "connectivity", "src": "h1", "dst": "h3"}, "dst_port", 5060)
def test_one_field_changed_to_anything_gives_a_spec_or_an_intent_error(
    body: dict[str, Any], key: str, value: Any
) -> None:
    try:
        spec = parse_intent({**body, key: value})
    except IntentError as err:
        named = {*body, key, *NEEDS.get(key, ())}
        assert err.field is None or err.field.split("[")[0] in named
        return
    assert parse_intent(spec.to_body()) == spec
