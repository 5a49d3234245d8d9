"""``vnstitch store serve``: a local N-member store for trials and tests, until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from vnstitch.cluster.members import ELECTION_TIMER_MS, start_local
from vnstitch.store.schema import StoreError


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        cluster = start_local(args.dir, args.members, election_timer_ms=args.election_timer_ms)
    except StoreError as exc:
        print(f"vnstitch store serve: {exc}", file=sys.stderr)
        return 1
    print(cluster.address, flush=True)
    print(
        f"# {args.members} members in {args.dir}; controllers join with"
        f" vnstitch controller --store {cluster.address} --instance NAME",
        file=sys.stderr,
        flush=True,
    )
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stop.wait(1.0):
        for member in cluster.members:
            if not member.alive():
                print(f"# member {member.index + 1} exited; restarting it", file=sys.stderr)
                cluster.start_member(member.index)
    cluster.stop()
    return 0


def register(sub: Any) -> None:
    """Add ``store serve`` to the ``vnstitch`` command line."""
    store = sub.add_parser("store", help="the replicated store of a controller cluster")
    actions = store.add_subparsers(dest="store_command", required=True)
    serve = actions.add_parser(
        "serve",
        help="start a local store of N ovsdb-server members on loopback and print its address",
    )
    serve.add_argument("--members", type=int, default=3, help="number of members (odd)")
    serve.add_argument("--dir", required=True, help="folder for the members' files")
    serve.add_argument(
        "--election-timer-ms",
        type=int,
        default=ELECTION_TIMER_MS,
        help="Raft election timer of a new store (ms)",
    )
    serve.set_defaults(func=_cmd_serve)
