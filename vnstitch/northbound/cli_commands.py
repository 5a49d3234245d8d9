"""CLI subcommands that talk to a running controller: intents, topology, reservations, forecasts.

``register(subparsers)`` adds them to the ``vnstitch`` parser. Each prints an aligned table, or
the raw JSON document with ``--json``. A refusal by the server prints
``error: <reason> (field: X)`` on stderr and exits 1; a usage mistake exits 2.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from vnstitch.northbound import cli_reservations, tables
from vnstitch.northbound.client import ApiClient, ApiError, resolve_token, resolve_url

Command = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """The command line itself is wrong (exit code 2)."""


def error_text(exc: ApiError) -> str:
    """The stderr lines for a refused call: reason, field, and any conflicts or near miss."""
    lines = [f"error: {exc.message}" + (f" (field: {exc.field})" if exc.field else "")]
    body = exc.body if isinstance(exc.body, dict) else {}
    for conflict in body.get("conflicts") or []:
        if isinstance(conflict, dict):
            other = conflict.get("intent_id") or conflict.get("intent")
            lines.append(f"  conflicts with {other}: {conflict.get('reason')}")
    if body.get("constraint"):
        lines.append(f"  constraint: {body['constraint']}")
    if body.get("near_miss"):
        lines.append(f"  near miss: {tables.cell(body['near_miss'])}")
    return "\n".join(lines)


def _reports_errors(command: Command) -> Command:
    """Turn ApiError into exit code 1 and UsageError into exit code 2, printed on stderr."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except ApiError as exc:
            print(error_text(exc), file=sys.stderr)
            return 1
        except UsageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return run


def client_for(args: argparse.Namespace) -> ApiClient:
    """A client for ``--url``/``--token`` or their environment fallbacks."""
    return ApiClient(resolve_url(args.url), resolve_token(args.token), args.timeout)


def _emit(args: argparse.Namespace, doc: Any, text: Callable[[Any], str]) -> int:
    print(json.dumps(doc, indent=2) if args.json else text(doc))
    return 0


def _intent_body(args: argparse.Namespace) -> Any:
    """The intent document from ``--file`` or the inline JSON argument (exactly one)."""
    if (args.file is None) == (args.intent is None):
        raise UsageError("give the intent either as --file intent.json or as an inline JSON string")
    if args.file is not None:
        try:
            raw = Path(args.file).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
        source = args.file
    else:
        raw, source = args.intent, "the inline intent"
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise UsageError(f"{source} must be a JSON object with a 'kind' field")
    return body


@_reports_errors
def cmd_intent_add(args: argparse.Namespace) -> int:
    """``vnstitch intent add``: submit an intent (``--dry-run`` checks without installing)."""
    body = _intent_body(args)
    path = "/v1/intents?dry_run=true" if args.dry_run else "/v1/intents"
    doc = client_for(args).post(path, body)
    if args.dry_run and not args.json:
        print("dry run: nothing was installed")
    return _emit(args, doc, tables.intent_text)


@_reports_errors
def cmd_intent_list(args: argparse.Namespace) -> int:
    """``vnstitch intent list``: every intent."""
    doc = client_for(args).get("/v1/intents")
    return _emit(args, doc, lambda d: tables.intents_text(d.get("intents") or []))


@_reports_errors
def cmd_intent_show(args: argparse.Namespace) -> int:
    """``vnstitch intent show ID``: one intent with its spec and reservations."""
    doc = client_for(args).get(f"/v1/intents/{quote(args.id, safe='')}")
    return _emit(args, doc, tables.intent_text)


@_reports_errors
def cmd_intent_delete(args: argparse.Namespace) -> int:
    """``vnstitch intent delete ID``: withdraw an intent and its reservations."""
    doc = client_for(args).delete(f"/v1/intents/{quote(args.id, safe='')}")
    state = f" ({doc.get('state')})" if isinstance(doc, dict) and doc.get("state") else ""
    return _emit(args, doc, lambda _d: f"deleted {args.id}{state}")


@_reports_errors
def cmd_topology(args: argparse.Namespace) -> int:
    """``vnstitch topology``: switches, directed links and hosts."""
    return _emit(args, client_for(args).get("/v1/topology"), tables.topology_text)


@_reports_errors
def cmd_reservations(args: argparse.Namespace) -> int:
    """``vnstitch reservations``: every reservation not released."""
    doc = client_for(args).get("/v1/reservations")
    return _emit(args, doc, lambda d: tables.reservations_text(d.get("reservations") or []))


def _post_timed(
    args: argparse.Namespace,
    path: str,
    build: Callable[[argparse.Namespace, float], dict[str, Any]],
    render: Callable[[Any], str],
) -> int:
    """POST a body built from time arguments (a bad time is a usage error) and show the answer."""
    try:
        body = build(args, cli_reservations.now())
    except cli_reservations.TimeArgumentError as exc:
        raise UsageError(str(exc)) from None
    return _emit(args, client_for(args).post(path, body), render)


@_reports_errors
def cmd_reservation_add(args: argparse.Namespace) -> int:
    """``vnstitch reservations add SRC DST -b MBPS [--start T] [--end T]``: book one."""
    build, text = cli_reservations.add_body, cli_reservations.reservation_text
    return _post_timed(args, "/v1/reservations", build, text)


@_reports_errors
def cmd_reservation_availability(args: argparse.Namespace) -> int:
    """``vnstitch reservations availability SRC DST -b MBPS -d 2h``: the earliest window."""
    build, text = cli_reservations.availability_body, cli_reservations.availability_text
    return _post_timed(args, "/v1/reservations/availability", build, text)


@_reports_errors
def cmd_trace(args: argparse.Namespace) -> int:
    """``vnstitch trace ID``: a reservation's packets hop by hop through the switch tables."""
    doc = client_for(args).get(f"/v1/reservations/{quote(args.id, safe='')}/trace")
    return _emit(args, doc, tables.trace_text)


@_reports_errors
def cmd_forecasts(args: argparse.Namespace) -> int:
    """``vnstitch forecasts``: the predictor's current forecasts per pair."""
    doc = client_for(args).get("/v1/forecasts")
    return _emit(
        args,
        doc,
        lambda d: (
            tables.forecasts_text(d.get("forecasts") or [])
            + "\n"
            + tables.anomalies_text(d.get("anomalies") or [])
        ),
    )


def _api_options() -> argparse.ArgumentParser:
    """Options shared by every subcommand that calls the REST API."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url", help="controller REST URL (default: $VNSTITCH_URL or http://127.0.0.1:8080)"
    )
    common.add_argument(
        "--token",
        help="API token (default: $VNSTITCH_API_TOKEN, the file $VNSTITCH_TOKEN_FILE, or the "
        "token file the controller generated)",
    )
    common.add_argument("--timeout", type=float, default=10.0, help="seconds to wait (10)")
    common.add_argument("--json", action="store_true", help="print the raw JSON document")
    return common


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``intent``, ``topology``, ``reservations`` and ``forecasts`` subcommands."""
    common = _api_options()
    intent = subparsers.add_parser("intent", help="add, list, show or delete intents")
    verbs = intent.add_subparsers(dest="intent_command", required=True)
    add = verbs.add_parser("add", parents=[common], help="submit an intent")
    add.add_argument("intent", nargs="?", help="the intent as an inline JSON string")
    add.add_argument("--file", "-f", help="read the intent from this JSON file")
    add.add_argument("--dry-run", action="store_true", help="check and compile, install nothing")
    add.set_defaults(func=cmd_intent_add)
    verbs.add_parser("list", parents=[common], help="list intents").set_defaults(
        func=cmd_intent_list
    )
    for verb, func, text in (
        ("show", cmd_intent_show, "show one intent"),
        ("delete", cmd_intent_delete, "withdraw one intent"),
    ):
        one = verbs.add_parser(verb, parents=[common], help=text)
        one.add_argument("id", help="intent id, e.g. intent-3")
        one.set_defaults(func=func)
    for name, func, text in (
        ("topology", cmd_topology, "switches, links and hosts of the live topology"),
        ("forecasts", cmd_forecasts, "the predictor's current forecasts"),
    ):
        subparsers.add_parser(name, parents=[common], help=text).set_defaults(func=func)
    cli_reservations.register(
        subparsers, common, cmd_reservations, cmd_reservation_add, cmd_reservation_availability
    )
    trace = subparsers.add_parser(
        "trace", parents=[common], help="a reservation's path through the switches' tables"
    )
    trace.add_argument("id", help="reservation id")
    trace.set_defaults(func=cmd_trace)
