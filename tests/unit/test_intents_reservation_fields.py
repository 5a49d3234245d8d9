"""A connectivity intent carries the whole reservation request: every field, parsed to compiled."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from topology.database import TopologyDatabase
from topology.model import Attachment, Host, Port
from vnstitch.intents.compile import Objective, compile_intent
from vnstitch.intents.lifecycle import new_intent
from vnstitch.intents.model import Intent
from vnstitch.intents.parse import IntentError, parse_intent
from vnstitch.intents.resolve import NtdDirectory
from vnstitch.intents.specs import ConnectivitySpec
from vnstitch.stitcher.request_body import FIELDS, parse_request
from vnstitch.stitcher.reservation import Origin, RequestError, ReservationRequest

BASE = {"kind": "connectivity", "src": "h1", "dst": "h3"}
# field: (its value in a JSON body, its value in the request, other fields it needs)
NON_DEFAULT: dict[str, tuple[Any, Any, dict[str, Any]]] = {
    "src": ("10.0.0.1", "10.0.0.1", {}),
    "dst": ("00:00:00:00:00:03", "00:00:00:00:00:03", {}),
    "bandwidth_mbps": (12.5, 12.5, {}),
    "max_latency_ms": (20, 20.0, {}),
    "zones": (["pci", "blue"], frozenset({"blue", "pci"}), {}),
    "avoid_zones": (["red"], frozenset({"red"}), {}),
    "bidirectional": (False, False, {}),
    "ip_proto": (17, 17, {}),
    "dst_port": (5060, 5060, {"ip_proto": 6}),
    "cpu": (1.5, 1.5, {}),
    "memory_mb": (256, 256.0, {}),
    "storage_gb": (4, 4.0, {}),
    "prefer_latency": (True, True, {}),
    "protection": (True, True, {}),
}
# field: a value the stitcher refuses, naming that field
REFUSED: dict[str, Any] = {
    "cpu": -1,
    "memory_mb": "lots",
    "storage_gb": 10**400,
    "prefer_latency": "yes",
    "protection": 1,
}


def _body(name: str) -> dict[str, Any]:
    value, _, needs = NON_DEFAULT[name]
    return {**BASE, **needs, name: value}


def _directory() -> NtdDirectory:
    db = TopologyDatabase()
    db.add_switch(1, [Port(1), Port(2)], 0.0, "s1")
    db.add_inventory_host(Host("h1", "00:00:00:00:00:01", "10.0.0.1", Attachment(1, 1)), 0.0)
    db.add_inventory_host(Host("h3", "00:00:00:00:00:03", "10.0.0.3", Attachment(1, 2)), 0.0)
    return NtdDirectory(db)


def test_every_field_of_a_reservation_request_is_covered() -> None:
    assert set(NON_DEFAULT) == FIELDS


def test_the_spec_has_exactly_the_request_fields_in_the_request_order() -> None:
    spec_fields = [f.name for f in dataclasses.fields(ConnectivitySpec)]
    request_fields = [f.name for f in dataclasses.fields(ReservationRequest)]
    only_reservations = ("origin", "origin_ref")
    expected = [f for f in request_fields if f not in only_reservations] + ["recurrence"]
    assert spec_fields == expected
    assert set(spec_fields) == FIELDS | {"start", "end", "recurrence"}


@pytest.mark.parametrize("name", sorted(NON_DEFAULT))
def test_each_field_of_an_intent_body_reaches_the_compiled_request(name: str) -> None:
    _, expected, _ = NON_DEFAULT[name]
    assert getattr(ReservationRequest("h1", "h3"), name) != expected, "pick a non-default value"
    body = _body(name)
    out = compile_intent(new_intent(7, parse_intent(body), 1.0), _directory())
    assert out.complete, out.reason
    (request,) = out.requests
    assert getattr(request, name) == expected
    without_kind = {k: v for k, v in body.items() if k != "kind"}
    assert request == parse_request(without_kind, Origin.INTENT, "intent-7")


@pytest.mark.parametrize("name", sorted(NON_DEFAULT))
def test_each_field_survives_the_stored_record(name: str) -> None:
    _, expected, _ = NON_DEFAULT[name]
    intent = new_intent(3, parse_intent(_body(name)), 1_795_987_055.123)
    record = json.loads(json.dumps(intent.to_record()))
    restored = Intent.from_record(record)
    assert restored == intent
    assert isinstance(restored.spec, ConnectivitySpec)
    assert getattr(restored.spec, name) == expected
    assert getattr(restored.spec.to_request("intent-3"), name) == expected


@pytest.mark.parametrize("name", sorted(NON_DEFAULT))
def test_each_field_shows_in_the_rest_form(name: str) -> None:
    value, _, _ = NON_DEFAULT[name]
    spec = new_intent(3, parse_intent(_body(name)), 1.0).to_dict()["spec"]
    assert spec[name] == (sorted(value) if isinstance(value, list) else value)
    assert set(spec) == FIELDS | {"kind"}


@pytest.mark.parametrize(("name", "value"), sorted(REFUSED.items()))
def test_a_bad_resource_field_is_refused_as_the_stitcher_refuses_it(name: str, value: Any) -> None:
    body = {**BASE, name: value}
    with pytest.raises(IntentError) as err:
        parse_intent(body)
    with pytest.raises(RequestError) as refused:
        parse_request({k: v for k, v in body.items() if k != "kind"})
    assert (err.value.field, str(err.value)) == (name, str(refused.value))


def test_prefer_latency_asks_the_stitcher_for_the_lowest_latency_path() -> None:
    plain = compile_intent(new_intent(1, ConnectivitySpec("h1", "h3"), 1.0), _directory())
    fast = compile_intent(
        new_intent(2, ConnectivitySpec("h1", "h3", prefer_latency=True), 1.0), _directory()
    )
    assert (plain.objective, plain.requests[0].prefer_latency) == (Objective.COST, False)
    assert (fast.objective, fast.requests[0].prefer_latency) == (Objective.LATENCY, True)


def test_a_spec_is_validated_when_built_like_a_request() -> None:
    with pytest.raises(ValueError, match="cpu"):
        ConnectivitySpec("h1", "h3", cpu=-2.0)
