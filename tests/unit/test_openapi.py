"""The OpenAPI 3 document: structure, references, served routes, schemas that match the code."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topology.database import TopologyDatabase
from topology.model import Attachment, Host, Link, LinkId, Port, Switch
from vnstitch.intents.compile import Compilation
from vnstitch.intents.intent_service import DryRun
from vnstitch.intents.model import Intent, IntentKind, IntentState, LowLatencySpec
from vnstitch.intents.parse import KIND_FIELDS
from vnstitch.resources.ledger import Ledger
from vnstitch.stitcher.request_body import AMOUNTS, FIELDS, WINDOW_FIELDS, trimmed
from vnstitch.stitcher.reservation import Origin, Reservation, ReservationRequest, State
from vnstitch.stitcher.stitch_service import StitchService

ROOT = Path(__file__).resolve().parents[2]
DOC: dict[str, Any] = json.loads((ROOT / "vnstitch" / "northbound" / "openapi.json").read_text())
SCHEMAS: dict[str, Any] = DOC["components"]["schemas"]
METHODS = {"get", "post", "put", "patch", "delete"}
ROUTE = re.compile(r'@route\(\s*"[^"]*",\s*"([^"]+)",\s*methods=\[([^\]]*)\]')
# Routes the lead is adding now; once served they are checked like the rest.
PENDING = {
    ("POST", "/v1/intents"),
    ("GET", "/v1/intents"),
    ("GET", "/v1/intents/{}"),
    ("DELETE", "/v1/intents/{}"),
    ("GET", "/v1/forecasts"),
    ("GET", "/metrics"),
    ("GET", "/v1/openapi.json"),
}


def _template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def documented() -> set[tuple[str, str]]:
    """(METHOD, path with {} for parameters) of every operation in the document."""
    return {
        (method.upper(), _template(path))
        for path, item in DOC["paths"].items()
        for method in item
        if method in METHODS
    }


def served() -> set[tuple[str, str]]:
    """(METHOD, path) of every ``@route`` in the REST controllers."""
    routes = set()
    for source in (ROOT / "ryu_apps").glob("rest_*.py"):
        for path, methods in ROUTE.findall(source.read_text()):
            for method in re.findall(r'"([A-Z]+)"', methods):
                routes.add((method, _template(path)))
    return routes


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every (method, path, operation object)."""
    for path, item in DOC["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def resolve(ref: str) -> Any:
    """Follow a local JSON pointer such as ``#/components/schemas/Error``."""
    assert ref.startswith("#/"), f"only local references: {ref}"
    node: Any = DOC
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` value below ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_top_level_structure() -> None:
    assert DOC["openapi"].startswith("3.0.")
    assert DOC["info"]["title"] and DOC["info"]["version"]
    assert DOC["paths"]
    assert set(DOC["components"]) >= {"schemas", "responses", "parameters", "securitySchemes"}
    bearer = DOC["components"]["securitySchemes"]["bearerAuth"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    assert "case-insensitive" in bearer["description"]  # `bearer` works: said, not hidden


def test_every_ref_resolves_and_every_schema_is_used() -> None:
    found = list(refs(DOC))
    assert found
    for ref in found:
        resolve(ref)
    unused = {f"#/components/schemas/{n}" for n in SCHEMAS} - set(found)
    assert not unused


def test_every_served_route_is_documented() -> None:
    routes = served()
    assert ("POST", "/v1/reservations") in routes, "the route regex found the controllers"
    assert routes <= documented(), sorted(routes - documented())


def test_every_documented_route_is_served_or_pending() -> None:
    missing = documented() - served()
    assert missing <= PENDING, sorted(missing - PENDING)
    assert documented() >= PENDING


def test_operations_have_unique_ids_and_answer_errors_with_the_error_schema() -> None:
    ids = [op["operationId"] for _, _, op in operations()]
    assert len(ids) == len(set(ids))
    for method, path, operation in operations():
        codes = set(operation["responses"])
        assert codes & {"200", "201", "202"}, f"{method} {path} has no success response"
        for code in codes - {"200", "201", "202"}:
            answer = operation["responses"][code]
            answer = resolve(answer["$ref"]) if "$ref" in answer else answer
            schema = answer["content"]["application/json"]["schema"]
            target = resolve(schema["$ref"])
            assert schema["$ref"] == "#/components/schemas/Error" or (
                {"$ref": "#/components/schemas/Error"} in target["allOf"]
            ), f"{method} {path} {code}"


def test_writes_need_a_bearer_token_and_reads_take_one_unless_opened() -> None:
    for method, path, operation in operations():
        assert {"401", "403", "500"} <= set(operation["responses"]), f"{method} {path}"
        if method == "get":
            assert operation["security"] == [{"bearerAuth": []}, {}], f"GET {path}"
            continue
        assert operation["security"] == [{"bearerAuth": []}], f"{method} {path}"
        if method in {"post", "patch"}:
            assert operation["requestBody"]["required"] is True
            assert {"400", "413"} <= set(operation["responses"]), f"{method} {path}"


def test_a_dry_run_answers_with_its_own_schema() -> None:
    answer = DOC["paths"]["/v1/intents"]["post"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/IntentDryRun"
    }


def test_metrics_are_text_and_dry_run_is_a_boolean_query() -> None:
    metrics = DOC["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert set(metrics) == {"text/plain"}
    params = [resolve(p["$ref"]) for p in DOC["paths"]["/v1/intents"]["post"]["parameters"]]
    assert params == [
        {
            "name": "dry_run",
            "in": "query",
            "required": False,
            "schema": {"type": "boolean", "default": False},
            "description": params[0]["description"],
        }
    ]


def test_reservation_request_schema_matches_the_parser() -> None:
    schema = SCHEMAS["ReservationRequest"]
    assert set(schema["properties"]) == FIELDS | WINDOW_FIELDS
    assert schema["required"] == ["src", "dst"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["bandwidth_mbps"]["minimum"] == 0
    assert (props["max_latency_ms"]["minimum"], props["max_latency_ms"]["exclusiveMinimum"]) == (
        0,
        True,
    )
    assert (props["ip_proto"]["minimum"], props["ip_proto"]["maximum"]) == (0, 255)
    assert (props["dst_port"]["minimum"], props["dst_port"]["maximum"]) == (1, 65535)
    patch = SCHEMAS["ReservationPatch"]
    assert set(patch["properties"]) == FIELDS and "required" not in patch
    assert patch["additionalProperties"] is False


def test_a_patch_cannot_null_an_amount_and_has_no_defaults() -> None:
    props = SCHEMAS["ReservationPatch"]["properties"]
    for key in AMOUNTS:
        assert not props[key].get("nullable", False), key
    assert not [key for key, prop in props.items() if "default" in prop]  # absent: unchanged
    assert props["max_latency_ms"]["nullable"] is True  # null clears a constraint


@pytest.mark.parametrize(
    ("kind", "schema", "required"),
    [
        (IntentKind.CONNECTIVITY, "ConnectivityIntent", {"kind", "src", "dst"}),
        (IntentKind.LOW_LATENCY, "LowLatencyIntent", {"kind", "endpoints"}),
        (IntentKind.ISOLATION, "IsolationIntent", {"kind", "a", "b"}),
    ],
)
def test_intent_kinds_match_the_parser_and_are_discriminated_by_kind(
    kind: IntentKind, schema: str, required: set[str]
) -> None:
    union = SCHEMAS["IntentRequest"]
    assert union["discriminator"]["propertyName"] == "kind"
    assert union["discriminator"]["mapping"][kind.value] == f"#/components/schemas/{schema}"
    assert {"$ref": f"#/components/schemas/{schema}"} in union["oneOf"]
    body = SCHEMAS[schema]
    assert body["additionalProperties"] is False
    options = {"preempt"} if kind is IntentKind.ISOLATION else set()  # taken off before parsing
    assert set(body["properties"]) == KIND_FIELDS[kind] | options
    assert body["properties"]["kind"]["enum"] == [kind.value]
    assert set(body["required"]) == required


def test_isolation_group_is_a_list_of_endpoints_or_a_zone_reference() -> None:
    listed, zone = SCHEMAS["EndpointGroup"]["oneOf"]
    assert (listed["type"], listed["minItems"]) == ("array", 1)
    member = re.compile(listed["items"]["pattern"])
    assert member.search("h1") and member.search("10.0.0.1")
    assert not member.search("zone:red") and not member.search("  ")
    zone_ref = re.compile(zone["pattern"])
    assert zone["type"] == "string"
    assert zone_ref.search("zone:red")
    assert not zone_ref.search("red") and not zone_ref.search("zone:")


# White space of every kind, control characters and a few letters: where regex engines differ.
names = st.text(st.sampled_from(" \t\n\r\f\v\x1c\x1d\x85\xa0\u2028\u3000\ufeffah:zone"), max_size=8)


@given(name=names)
def test_a_name_pattern_admits_exactly_what_the_parser_does_not_find_blank(name: str) -> None:
    pattern = SCHEMAS["ReservationRequest"]["properties"]["src"]["pattern"]
    assert bool(re.search(pattern, name)) == bool(trimmed(name))
    member = SCHEMAS["EndpointGroup"]["oneOf"][0]["items"]["pattern"]
    assert bool(re.search(member, name)) == (bool(trimmed(name)) and not name.startswith("zone:"))
    zone = SCHEMAS["EndpointGroup"]["oneOf"][1]["pattern"]
    named = name.startswith("zone:") and bool(trimmed(name.removeprefix("zone:")))
    assert bool(re.search(zone, name)) == named


def test_enums_match_the_code() -> None:
    assert SCHEMAS["ReservationState"]["enum"] == [s.value for s in State]
    assert SCHEMAS["IntentState"]["enum"] == [s.value for s in IntentState]
    assert SCHEMAS["Intent"]["properties"]["kind"]["enum"] == [k.value for k in IntentKind]
    assert SCHEMAS["Reservation"]["properties"]["origin"]["enum"] == [o.value for o in Origin]


def _keys(schema_name: str) -> set[str]:
    schema = SCHEMAS[schema_name]
    props = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        props.update(resolve(part["$ref"])["properties"] if "$ref" in part else part["properties"])
    return set(props)


def test_response_schemas_name_exactly_the_fields_the_code_writes() -> None:
    request = ReservationRequest(src="h1", dst="h2")
    assert _keys("Reservation") == set(Reservation(id=1, request=request).to_dict())
    link = Link(LinkId(1, 2, 3, 4), 100.0)
    assert _keys("Link") == set(link.to_dict())
    assert _keys("Host") == set(Host("h1", "00:00:00:00:00:01").to_dict())
    assert _keys("Switch") == set(Switch(1, "s1").to_dict())
    assert _keys("Port") == set(Port(1).to_dict())
    intent = Intent("intent-1", LowLatencySpec(endpoints=("h1", "h2")))
    assert _keys("Intent") == set(intent.to_dict())
    dry_run = DryRun(Compilation("intent-1", requests=[request]), [], [])
    assert _keys("IntentDryRun") == set(dry_run.to_dict())
    assert set(SCHEMAS["IntentDryRun"]["required"]) <= set(dry_run.to_dict())
    assert _keys("CompiledRequest") == set(request.to_dict())
    assert _keys("LinkUsage") == set(link.to_dict()) | {
        "reserved_mbps",
        "usable_mbps",
        "measured_mbps",
    }


def test_a_planned_path_names_exactly_what_a_dry_run_reports() -> None:
    db = TopologyDatabase()
    for dpid in (1, 2):
        db.add_switch(dpid, [Port(1), Port(2)], 0.0, f"s{dpid}")
        mac = f"00:00:00:00:00:0{dpid}"
        db.add_inventory_host(Host(f"h{dpid}", mac, f"10.0.0.{dpid}", Attachment(dpid, 1)), 0.0)
    for lid in (LinkId(1, 2, 2, 2), LinkId(2, 2, 1, 2)):
        db.link_seen(lid, 0.0, 0.0)
    stitcher = StitchService(db, Ledger(link_headroom=0.1))
    stitcher.sync_capacities()
    plan = stitcher.dry_plan(ReservationRequest("h1", "h2", bandwidth_mbps=1.0))
    assert isinstance(plan, dict), plan
    assert _keys("PlannedPath") == {"src", "dst", *plan}  # the intent service adds src, dst
    rule = SCHEMAS["PlannedPath"]["properties"]["rules"]["items"]
    rules = cast(list[dict[str, Any]], plan["rules"])
    assert rules and all(set(r) == set(rule["properties"]) for r in rules)
