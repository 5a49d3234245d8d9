"""The ``vnstitch`` command line: subcommands for the controller, predictor and tools."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence

from vnstitch.cluster import serve as store_serve
from vnstitch.northbound import cli_commands


def _cmd_controller(args: argparse.Namespace) -> int:
    """Run ryu-manager with the vnstitch app and our defaults (REST on loopback)."""
    argv = [
        "ryu-manager",
        "--ofp-listen-host",
        args.of_host,
        "--ofp-tcp-listen-port",
        str(args.of_port),
        "--wsapi-host",
        args.rest_host,
        "--wsapi-port",
        str(args.rest_port),
    ]
    if args.verbose:
        argv.append("--verbose")
    argv.append("ryu_apps.vnstitch")
    if args.config:
        os.environ["VNSTITCH_CONFIG"] = os.path.abspath(args.config)
    if args.store:  # a cluster member (ryu_apps/cluster_member.py reads these)
        os.environ["VNSTITCH_STORE"] = args.store
        os.environ["VNSTITCH_INSTANCE"] = args.instance or os.uname().nodename
        host = args.advertise_host or args.rest_host
        os.environ["VNSTITCH_URL"] = f"http://{host}:{args.rest_port}"
    bindir = os.path.dirname(sys.executable)
    exe = os.path.join(bindir, "ryu-manager")
    os.execv(exe, argv)
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="vnstitch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ctl = sub.add_parser("controller", help="run the Ryu controller app")
    ctl.add_argument("--config", help="controller config file (TOML)")
    ctl.add_argument("--of-port", type=int, default=6653, help="OpenFlow listen port")
    ctl.add_argument(
        "--of-host",
        default="127.0.0.1",
        help="OpenFlow listen address (loopback by default; a management address for real "
        "switches)",
    )
    ctl.add_argument("--rest-host", default="127.0.0.1", help="REST bind address")
    ctl.add_argument("--rest-port", type=int, default=8080, help="REST port")
    ctl.add_argument("--verbose", action="store_true", help="debug logging")
    ctl.add_argument(
        "--store",
        help="join a controller cluster whose replicated store is at ADDRESS"
        " (tcp:HOST:PORT,... as `vnstitch store serve` prints); default: one controller on SQLite",
    )
    ctl.add_argument("--instance", help="this instance's name in the cluster (default: host name)")
    ctl.add_argument(
        "--advertise-host",
        help="the address other instances send clients to (default: --rest-host)",
    )
    ctl.set_defaults(func=_cmd_controller)
    cli_commands.register(sub)
    store_serve.register(sub)
    if importlib.util.find_spec("predictor.cli") is not None:
        importlib.import_module("predictor.cli").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vnstitch`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
