"""``vnstitch predictor`` subcommands: train, backtest, te-backtest, flow-by-flow, run, generate.

``vnstitch/northbound/cli.py`` adds them to the ``vnstitch`` command through :func:`register`;
``python -m predictor`` runs the same commands standalone. Commands import their modules when
they run, so building the parser stays cheap (no scikit-learn).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from predictor.model_kinds import DEFAULT_MODEL_KIND, MODEL_KINDS
from vnstitch.messages import (
    DEFAULT_FORECASTS_ENDPOINT,
    DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_OBSERVATIONS_ENDPOINT,
)
from vnstitch.northbound.wire_keys import DEFAULT_KEY_DIR

if TYPE_CHECKING:
    from predictor.selection import Candidate

DEFAULT_MODEL_DIR = "var/models"
DEFAULT_DATA_DIR = "../shared/data"  # the shared data beside the project (abilene, geant)
TE_UTILISATION_MS = 300.0  # predictor.te.backtest.TE_UTILISATION_MS (not imported: keeps it light)
TE_QUANTILE = 0.99  # predictor.te.backtest.TE_QUANTILE (likewise)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _logging() -> None:
    """INFO logging unless the caller configured logging already."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")


def _cmd_train(args: argparse.Namespace) -> int:
    from predictor.models import TrainConfig
    from predictor.trace import load_trace
    from predictor.training import train_on_trace

    trace = load_trace(args.trace)
    config = TrainConfig(
        kind=args.model,
        horizons=tuple(range(1, args.horizon + 1)),
        quantile=args.quantile,
        threads=args.threads,
    )
    info = train_on_trace(trace, config, Path(args.model_dir), args.days, _progress)
    print(info.tag)
    return 0


def _cmd_backtest(args: argparse.Namespace) -> int:
    from predictor.backtest import run_backtest
    from predictor.plots import write_plots
    from predictor.trace import load_trace

    trace = load_trace(args.trace)
    result = run_backtest(
        trace,
        args.train_days,
        quantile=args.quantile,
        threads=args.threads,
        progress=_progress,
        pool=_pool(args),
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "backtest.json").write_text(json.dumps(result.report, indent=2) + "\n")
    for path in write_plots(result, out):
        _progress(f"wrote {path}")
    print(json.dumps(result.report, indent=2))
    return 0


def _cmd_te_backtest(args: argparse.Namespace) -> int:
    from predictor.te.backtest import TeConfig, run_te_backtest
    from predictor.te.network import load_network
    from predictor.te.report import summary, write_outputs
    from predictor.trace import load_trace

    trace = load_trace(args.trace)
    network = load_network(args.topology, trace.nodes, Path(args.data))
    _progress(
        f"{network.name}: {network.size} nodes, {len(network.links)} directed links, "
        f"{len(trace.nodes)} trace nodes, {trace.steps} steps"
    )
    config = TeConfig(
        train_days=args.train_days,
        quantile=args.quantile,
        capacities=args.capacities,
        target_utilisation=args.target_utilisation,
        max_steps=args.max_steps,
        utilisation_ms=None if args.controller_cost else args.utilisation_ms,
        utilisation_power=args.utilisation_power,
        threads=args.threads,
    )
    result = run_te_backtest(trace, network, config, _progress, _pool(args))
    for path in write_outputs(result, Path(args.out)):
        _progress(f"wrote {path}")
    print(summary(result))
    return 0


def _cmd_flow_by_flow(args: argparse.Namespace) -> int:
    from predictor.flow_by_flow import run_flow_by_flow, summary
    from predictor.trace import load_trace

    report = run_flow_by_flow(load_trace(args.trace), args.threads, _progress, _pool(args))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "flow_by_flow.json").write_text(json.dumps(report, indent=2) + "\n")
    _progress(f"wrote {out / 'flow_by_flow.json'}")
    print(summary(report))
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from predictor.generator import GeneratorConfig, generate
    from predictor.trace import save_npz

    config = GeneratorConfig(
        nodes=args.nodes, days=args.days, step_minutes=args.step_minutes, seed=args.seed
    )
    save_npz(generate(config), args.out)
    print(args.out)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from predictor.publisher import RunConfig, run_publisher
    from predictor.seeding import parse_moment

    _logging()
    config = RunConfig(
        observations=args.observations,
        forecasts=args.forecasts,
        model_dir=Path(args.model_dir),
        classes=Path(args.classes) if args.classes else None,
        horizon=args.horizon,
        step_seconds=args.step_seconds,
        retrain=not args.no_retrain,
        status_interval=args.status_interval,
        threads=args.threads,
        seed_trace=Path(args.seed_trace) if args.seed_trace else None,
        seed_until=parse_moment(args.seed_until) if args.seed_until else None,
        seed_first_ip=args.seed_first_ip,
        bytes_scale=args.bytes_scale,
        idle_days=args.idle_days,
        curve=not args.no_curve,
        key_dir=Path(args.key_dir).expanduser() if args.key_dir else DEFAULT_KEY_DIR,
        server_key=Path(args.server_key).expanduser() if args.server_key else None,
        max_message_bytes=args.max_message_bytes,
    )
    return run_publisher(config)


def _pool(args: argparse.Namespace) -> list[Candidate]:
    """The candidates validation chooses from: the grid, or each kind's defaults (--quick)."""
    from predictor.models import TrainConfig
    from predictor.selection import candidates

    return candidates(TrainConfig(threads=args.threads), quick=args.quick)


def _add_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, default=1, help="threads for model fitting")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="validate only each model kind's default hyper-parameters (not the whole grid)",
    )


def _add_common(parser: argparse.ArgumentParser, selection: bool = True) -> None:
    if selection:
        _add_selection(parser)
    else:
        parser.add_argument("--threads", type=int, default=1, help="threads for model fitting")
    parser.add_argument("--quantile", type=float, default=0.95, help="upper forecast level")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``predictor`` subcommand (train, backtest, run, generate) to a CLI."""
    top = subparsers.add_parser("predictor", help="predictive analytics engine")
    sub = top.add_subparsers(dest="predictor_command", required=True)

    train = sub.add_parser("train", help="train a model on a trace and save it")
    train.add_argument("--trace", required=True, help="trace file (.npz or .csv)")
    train.add_argument("--model-dir", default=DEFAULT_MODEL_DIR)
    train.add_argument(
        "--model",
        choices=tuple(MODEL_KINDS),
        default=DEFAULT_MODEL_KIND,
        help="; ".join(f"{k.name}: {k.summary}" for k in MODEL_KINDS.values()),
    )
    train.add_argument("--horizon", type=int, default=3, help="forecast steps")
    train.add_argument("--days", type=float, default=None, help="train on the last N days only")
    _add_common(train, selection=False)
    train.set_defaults(func=_cmd_train)

    backtest = sub.add_parser("backtest", help="train on the first days, score on the rest")
    backtest.add_argument("--trace", required=True, help="trace file (.npz or .csv)")
    backtest.add_argument("--train-days", type=float, default=10.0)
    backtest.add_argument("--out", default="backtest-out", help="directory for JSON and PNGs")
    _add_common(backtest)
    backtest.set_defaults(func=_cmd_backtest)

    te = sub.add_parser(
        "te-backtest",
        help="replay a trace: predicted reservations placed by the stitcher, MLU vs the optimum",
    )
    te.add_argument("--trace", required=True, help="trace file (.npz or .csv)")
    te.add_argument(
        "--topology", required=True, help="abilene, geant (from --data) or a GraphML/SNDlib file"
    )
    te.add_argument("--out", default="te-backtest-out", help="directory for JSON, CSV and PNGs")
    te.add_argument("--data", default=DEFAULT_DATA_DIR, help="shared data directory")
    te.add_argument("--train-days", type=float, default=10.0)
    te.add_argument(
        "--capacities",
        choices=("auto", "file", "scaled"),
        default="auto",
        help="auto: the file's installed capacities where it has them, else scaled",
    )
    te.add_argument(
        "--target-utilisation",
        type=float,
        default=0.6,
        help="scaled capacities: the optimum's busiest link at the busiest step",
    )
    te.add_argument("--max-steps", type=int, default=None, help="replay only this many steps")
    te.add_argument(
        "--utilisation-ms",
        type=float,
        default=TE_UTILISATION_MS,
        help="path cost of a full link for TE placement (ms of latency)",
    )
    te.add_argument(
        "--utilisation-power",
        type=float,
        default=1.0,
        help="exponent of utilisation in the TE path cost (1: linear, 2+: convex)",
    )
    te.add_argument(
        "--controller-cost",
        action="store_true",
        help="place with the controller's own path cost (utilisation 1 ms) instead",
    )
    _add_common(te)
    te.set_defaults(func=_cmd_te_backtest, quantile=TE_QUANTILE)

    fbf = sub.add_parser(
        "flow-by-flow",
        help="backtest in the Flow-by-Flow protocol (70/10/20 split, 12-step window, MAE / max)",
    )
    fbf.add_argument("--trace", required=True, help="trace file (.npz or .csv)")
    fbf.add_argument("--out", default="flow-by-flow-out", help="directory for the JSON report")
    _add_selection(fbf)
    fbf.set_defaults(func=_cmd_flow_by_flow)

    run = sub.add_parser("run", help="run the predictor process (ZeroMQ)")
    run.add_argument("--observations", default=DEFAULT_OBSERVATIONS_ENDPOINT)
    run.add_argument("--forecasts", default=DEFAULT_FORECASTS_ENDPOINT)
    run.add_argument("--model-dir", default=DEFAULT_MODEL_DIR)
    run.add_argument("--classes", default=None, help="traffic classes (TOML)")
    run.add_argument("--horizon", type=int, default=3, help="forecast steps")
    run.add_argument("--step-seconds", type=float, default=300.0, help="step without a model")
    run.add_argument("--no-retrain", action="store_true", help="never retrain on live data")
    run.add_argument("--status-interval", type=float, default=5.0, help="seconds")
    run.add_argument("--threads", type=int, default=1, help="threads for retraining")
    run.add_argument("--seed-trace", help="start with this trace's history (.npz or .csv)")
    run.add_argument(
        "--seed-until", help="seed only steps ending by then (epoch s or YYYYMMDD-HHMM UTC)"
    )
    run.add_argument(
        "--seed-first-ip", default="10.0.0.1", help="IPv4 of trace node 0 (node i: + i)"
    )
    run.add_argument(
        "--bytes-scale",
        type=float,
        default=1.0,
        help="multiply observed bytes (a controller replaying N times faster than real time)",
    )
    run.add_argument(
        "--idle-days",
        type=float,
        default=7.0,
        help="forecast the pairs that carried traffic in this many days (default a week)",
    )
    run.add_argument(
        "--key-dir",
        help=f"CURVE keys: ours (made at first start), controller.key (default {DEFAULT_KEY_DIR})",
    )
    run.add_argument("--server-key", help="the controller's public key file, if not in --key-dir")
    run.add_argument(
        "--no-curve", action="store_true", help="plain TCP (controller with curve = false)"
    )
    run.add_argument(
        "--max-message-bytes",
        type=int,
        default=DEFAULT_MAX_MESSAGE_BYTES,
        help="larger frames from the controller are refused",
    )
    run.set_defaults(func=_cmd_run)

    generate = sub.add_parser("generate", help="write a synthetic trace (.npz)")
    generate.add_argument("--out", required=True)
    generate.add_argument("--nodes", type=int, default=12)
    generate.add_argument("--days", type=float, default=14.0)
    generate.add_argument("--step-minutes", type=int, default=5)
    generate.add_argument("--seed", type=int, default=1)
    generate.set_defaults(func=_cmd_generate)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``predictor ...`` without the rest of the vnstitch CLI."""
    _logging()
    parser = argparse.ArgumentParser(prog="python -m predictor")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["predictor", *(sys.argv[1:] if argv is None else argv)])
    result: int = args.func(args)
    return result
