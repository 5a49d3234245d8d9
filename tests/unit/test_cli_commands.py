"""CLI subcommands against a loopback fake controller: tables, --json, intents, errors."""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_fake_api import FakeApi

from vnstitch.northbound.cli_commands import register

TOPOLOGY = {
    "version": 7,
    "switches": [
        {
            "dpid": "0000000000000001",
            "name": "s1",
            "zone": "blue",
            "ports": [{"port_no": 1, "up": True}, {"port_no": 2, "up": False}],
            "connected_at": "2026-11-29T21:10:02.250Z",
        },
        {
            "dpid": "0000000000000002",
            "name": "s2",
            "zone": "default",
            "ports": [],
            "connected_at": "2026-11-29T21:10:03.000Z",
        },
    ],
    "links": [
        {
            "src": "0000000000000001",
            "src_port": 2,
            "dst": "0000000000000002",
            "dst_port": 1,
            "capacity_mbps": 100.0,
            "latency_ms": None,
            "zone": "blue",
            "last_seen": "2026-11-29T21:17:34.900Z",
        }
    ],
    "hosts": [
        {
            "name": "h1",
            "mac": "00:00:00:00:00:01",
            "ip": "10.0.0.1",
            "zone": "blue",
            "source": "config",
            "attachment": {"dpid": "0000000000000001", "port": 1},
            "last_seen": None,
        }
    ],
}
RESERVATION = {
    "id": "4",
    "state": "ACTIVE",
    "src": "h1",
    "dst": "10.0.0.4",
    "bandwidth_mbps": 10.0,
    "path": ["0000000000000001", "000000000000000a"],
    "reason": None,
    "created_at": "2026-11-29T21:17:35.123Z",
    "updated_at": "2026-11-29T21:17:35.456Z",
    "installed_at": "2026-11-29T21:17:35.456Z",
}
INTENT = {
    "id": "intent-3",
    "kind": "connectivity",
    "state": "INSTALLED",
    "reason": None,
    "spec": {"kind": "connectivity", "src": "h1", "dst": "h4", "bandwidth_mbps": 5},
    "reservations": [RESERVATION],
}


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    for name in ("VNSTITCH_API_TOKEN", "VNSTITCH_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    with FakeApi() as fake:
        monkeypatch.setenv("VNSTITCH_URL", fake.url)
        yield fake


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="vnstitch")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def _columns(line: str, header: str, names: list[str]) -> list[str]:
    """Cut ``line`` at the offsets where ``names`` start in ``header``."""
    starts: list[int] = []
    for name in names:
        starts.append(header.index(name, starts[-1] + 1 if starts else 0))
    starts.append(len(line) + 1)
    return [line[a:b].strip() for a, b in itertools.pairwise(starts)]


def test_topology_prints_switch_link_and_host_tables(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.reply("GET", "/v1/topology", 200, TOPOLOGY)
    assert run("topology") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "switches (2):"
    assert _columns(out[3], out[1], ["name", "dpid", "zone", "ports up", "ports"]) == [
        "s1",
        "0000000000000001",
        "blue",
        "1",
        "2",
    ]
    link_header = out.index("links (1):") + 1
    assert out[link_header + 2].split() == ["s1:2", "s2:1", "100", "-", "blue"]
    host_header = out.index("hosts (1):") + 1
    assert out[host_header + 2].split() == [
        "h1",
        "10.0.0.1",
        "00:00:00:00:00:01",
        "blue",
        "s1:1",
        "config",
    ]


def test_json_flag_prints_the_raw_document(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.reply("GET", "/v1/topology", 200, TOPOLOGY)
    assert run("topology", "--json") == 0
    assert json.loads(capsys.readouterr().out) == TOPOLOGY


def test_reservations_table_aligns_columns_and_shortens_path(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    other = {**RESERVATION, "id": "12", "state": "DEGRADED", "path": [], "reason": "no path"}
    guarded = {**RESERVATION, "id": "13", "protection": True, "protected": True}
    failed_over = {**guarded, "id": "14", "protected": False}
    body = {"reservations": [RESERVATION, other, guarded, failed_over]}
    api.reply("GET", "/v1/reservations", 200, body)
    assert run("reservations") == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[1]
    names = ["id", "state", "src", "dst", "bandwidth Mbit/s", "path", "protected", "reason"]
    first = ["4", "ACTIVE", "h1", "10.0.0.4", "10", "1 > a", "-", "-"]
    second = ["12", "DEGRADED", "h1", "10.0.0.4", "10", "-", "-", "no path"]
    assert _columns(lines[3], header, names) == first
    assert _columns(lines[4], header, names) == second
    assert _columns(lines[5], header, names)[6] == "yes"
    assert _columns(lines[6], header, names)[6] == "no"


def test_url_flag_overrides_the_environment(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VNSTITCH_URL", "http://127.0.0.1:9")
    api.reply("GET", "/v1/reservations", 200, {"reservations": []})
    assert run("reservations", "--url", api.url, "--token", "t0k") == 0
    assert api.requests[0].headers["authorization"] == "Bearer t0k"


def test_intent_add_inline_posts_the_json(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.reply("POST", "/v1/intents", 201, INTENT)
    assert run("intent", "add", json.dumps(INTENT["spec"])) == 0
    assert api.requests[0].body == INTENT["spec"]
    out = capsys.readouterr().out
    assert "id: intent-3" in out and "state: INSTALLED" in out
    assert "reservations (1):" in out


def test_intent_add_from_file_with_dry_run_adds_the_query(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {"kind": "isolation", "a": "zone:red", "b": ["h1", "h2"]}
    path = tmp_path / "intent.json"
    path.write_text(json.dumps(spec))
    api.reply("POST", "/v1/intents?dry_run=true", 200, {**INTENT, "kind": "isolation"})
    assert run("intent", "add", "--file", str(path), "--dry-run") == 0
    assert (api.requests[0].path, api.requests[0].body) == ("/v1/intents?dry_run=true", spec)
    assert capsys.readouterr().out.startswith("dry run: nothing was installed")


@pytest.mark.parametrize(
    "argv",
    [
        ("intent", "add"),
        ("intent", "add", "{}", "--file", "x.json"),
        ("intent", "add", "{not json"),
        ("intent", "add", "[1, 2]"),
        ("intent", "add", "--file", "/nonexistent/intent.json"),
    ],
)
def test_intent_add_usage_mistakes_exit_2_without_a_call(
    api: FakeApi, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    assert run(*argv) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert api.requests == []


def test_unknown_subcommand_is_a_usage_error_with_exit_2() -> None:
    with pytest.raises(SystemExit) as caught:
        run("intent", "frobnicate")
    assert caught.value.code == 2


def test_server_refusal_prints_reason_and_field_and_exits_1(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"error": "bandwidth_mbps must be a number >= 0", "field": "bandwidth_mbps"}
    api.reply("POST", "/v1/intents", 400, body)
    assert run("intent", "add", '{"kind": "connectivity", "bandwidth_mbps": -1}') == 1
    captured = capsys.readouterr()
    assert captured.err == "error: bandwidth_mbps must be a number >= 0 (field: bandwidth_mbps)\n"
    assert captured.out == ""


@pytest.mark.parametrize("key", ["intent_id", "intent"])
def test_conflict_lists_the_conflicting_intents(
    api: FakeApi, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    body = {
        "error": "the intent conflicts with 1 intent",
        "field": None,
        "conflicts": [{key: "intent-1", "reason": "isolates h1 from h4"}],
    }
    api.reply("POST", "/v1/intents", 409, body)
    assert run("intent", "add", '{"kind": "connectivity", "src": "h1", "dst": "h4"}') == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: the intent conflicts with 1 intent",
        "  conflicts with intent-1: isolates h1 from h4",
    ]


def test_unreachable_controller_exits_1_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeApi() as fake:
        url = fake.url
    monkeypatch.setenv("VNSTITCH_URL", url)
    assert run("forecasts") == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: the controller is not reachable at {url}")


def test_intent_list_show_and_delete(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.reply("GET", "/v1/intents", 200, {"intents": [INTENT]})
    api.reply("GET", "/v1/intents/intent-3", 200, INTENT)
    api.reply("DELETE", "/v1/intents/intent-3", 200, {**INTENT, "state": "WITHDRAWN"})
    assert run("intent", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[3].split() == ["intent-3", "connectivity", "INSTALLED", "-"]
    assert run("intent", "show", "intent-3") == 0
    shown = capsys.readouterr().out
    assert "spec:\n  kind: connectivity\n  src: h1\n  dst: h4\n  bandwidth_mbps: 5" in shown
    assert run("intent", "delete", "intent-3") == 0
    assert capsys.readouterr().out == "deleted intent-3 (WITHDRAWN)\n"
    assert [(r.method, r.path) for r in api.requests] == [
        ("GET", "/v1/intents"),
        ("GET", "/v1/intents/intent-3"),
        ("DELETE", "/v1/intents/intent-3"),
    ]


def test_unknown_intent_prints_the_404_reason(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.reply("GET", "/v1/intents/intent-9", 404, {"error": "no intent 'intent-9'", "field": "id"})
    assert run("intent", "show", "intent-9") == 1
    assert capsys.readouterr().err == "error: no intent 'intent-9' (field: id)\n"


def test_forecasts_table(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    forecast = {
        "pair": ["10.0.0.1", "10.0.0.4"],
        "mean_mbps": 4.25,
        "upper_mbps": 7.5,
        "quantile": 0.95,
        "valid_until": 1764088259.5,
        "age_s": 2.0,
        "model": "gbr-v3",
    }
    expired = {**forecast, "pair": ["10.0.0.2", "10.0.0.3"], "mean_mbps": None}
    api.reply("GET", "/v1/forecasts", 200, {"forecasts": [forecast, expired], "queue": None})
    assert run("forecasts") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "forecasts (2):"
    names = ["pair", "mean Mbit/s", "upper Mbit/s", "quantile", "valid until", "age s", "model"]
    assert _columns(lines[3], lines[1], names) == [
        "10.0.0.1 -> 10.0.0.4",
        "4.25",
        "7.5",
        "0.95",
        "2025-11-25T16:30:59.500Z",
        "2",
        "gbr-v3",
    ]
    assert _columns(lines[4], lines[1], names)[:3] == ["10.0.0.2 -> 10.0.0.3", "-", "7.5"]
    assert lines[5] == "anomalies: none"


def test_forecasts_list_the_anomalies(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    anomaly = {
        "pair": ["10.0.0.1", "10.0.0.4"],
        "time": "2025-11-25T16:30:00.000Z",
        "observed_mbps": 9.5,
        "lower_mbps": 0.5,
        "upper_mbps": 4.0,
        "steps_outside": 3,
        "direction": "above",
    }
    body = {"forecasts": [], "queue": None, "anomalies": [anomaly]}
    api.reply("GET", "/v1/forecasts", 200, body)
    assert run("forecasts") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["forecasts: none", "anomalies (1):"]
    names = ["time", "pair", "traffic", "Mbit/s", "interval Mbit/s", "steps outside"]
    assert _columns(lines[4], lines[2], names) == [
        "2025-11-25T16:30:00.000Z",
        "10.0.0.1 -> 10.0.0.4",
        "above",
        "9.5",
        "0.5-4.0",
        "3",
    ]


def test_reservations_add_books_a_window_from_relative_times(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from vnstitch.northbound import cli_reservations

    monkeypatch.setattr(cli_reservations, "now", lambda: 1_800_000_000.0)
    booked = {
        **RESERVATION,
        "state": "SCHEDULED",
        "path": [],
        "start": "2027-01-15T08:10:00.000Z",
        "end": "2027-01-15T10:00:00.000Z",
        "install_at": "2027-01-15T08:09:57.000Z",
    }
    api.reply("POST", "/v1/reservations", 201, booked)
    argv = ("reservations", "add", "h1", "10.0.0.4", "-b", "10", "--start", "+10m")
    assert run(*argv, "--end", "2027-01-15T11:00:00+01:00") == 0
    assert api.requests[0].body == {
        "src": "h1",
        "dst": "10.0.0.4",
        "bandwidth_mbps": 10.0,
        "start": "2027-01-15T08:10:00.000Z",
        "end": "2027-01-15T10:00:00.000Z",
    }
    out = capsys.readouterr().out
    assert "SCHEDULED" in out and "window: 2027-01-15T08:10:00.000Z .. 2027-01-15T10:00" in out


def test_reservations_availability_prints_the_earliest_window(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    found = {
        "start": "2027-01-15T09:00:03.000Z",
        "end": "2027-01-15T11:00:03.000Z",
        "path": ["0000000000000001", "000000000000000a"],
        "reverse_path": ["000000000000000a", "0000000000000001"],
        "latency_ms": None,
        "bandwidth_mbps": 500,
    }
    api.reply("POST", "/v1/reservations/availability", 200, found)
    assert run("reservations", "availability", "h1", "h4", "-b", "500", "-d", "2h") == 0
    assert api.requests[0].body["duration_s"] == 7200.0
    out = capsys.readouterr().out
    assert "earliest window: 2027-01-15T09:00:03.000Z .. 2027-01-15T11:00:03.000Z" in out
    assert "path: 1 > a" in out


@pytest.mark.parametrize(
    "argv",
    [
        ("reservations", "add", "h1", "h4", "-b", "1", "--start", "tomorrow"),
        ("reservations", "availability", "h1", "h4", "-b", "1", "-d", "forever"),
    ],
)
def test_reservation_time_mistakes_exit_2_without_a_call(
    api: FakeApi, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    assert run(*argv) == 2
    assert not api.requests and "error:" in capsys.readouterr().err
