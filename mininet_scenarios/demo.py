"""The main scenario (``make demo``): a traffic matrix replayed on Abilene with the predictor.

By default a synthetic trace from the project's generator (gravity-model volumes, per-pair
diurnal cycle with noise) on the Topology Zoo Abilene network (11 switches); ``--trace FILE``
replays a real one (the shared Abilene ``.npz`` runs on the SNDlib network beside it). A model
is trained on the first days, the predictor process is seeded with the history before the
replay window, and the window is played at one five-minute step per second. For every pair that
starts sending: were its rules confirmed before its first packet, that packet's round trip, and
whether its reservation covered its rate. See ``mininet_scenarios/replay.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from mininet_scenarios.replay import RunSettings, run_replay
from mininet_scenarios.replay_trace import ReplayOptions


def _say(msg: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _fmt(value: Any, unit: str = "") -> str:
    return "n/a" if value is None else f"{value}{unit}"


def print_summary(report: dict[str, Any], out: Path) -> None:
    """The short summary ``make demo`` ends with."""
    s = report["summary"]
    fc = s["forecast"]
    print("\n=== summary ===")
    model = report.get("model", {})
    print(
        f"model: {model.get('chosen')} ({model.get('tag') or 'last value'}), trained on "
        f"{model.get('train_days')} days ({model.get('train_steps')} steps)"
    )
    print(
        f"trace: {report['trace']['source']}, {report['trace']['steps']} steps "
        f"from {report['trace']['start']} UTC (wall {report['wall_s']} s)"
    )
    print(
        f"pairs that started sending: {s['pairs_started']} "
        f"({s['pairs_started_later']} silent at the start, starting later)"
    )
    print(
        f"rules confirmed before the first packet: {s['pre_provisioned']} "
        f"({_fmt(s['pre_provisioned_percent'], ' %')}; of the later starters "
        f"{_fmt(s['later_pre_provisioned_percent'], ' %')}; "
        f"{s['pre_provisioned_by_reverse_pair']} via the reverse pair's reservation)"
    )
    print(
        f"first-packet RTT median: stitched {_fmt(s['first_rtt_ms_median_stitched'], ' ms')}, "
        f"reactive {_fmt(s['first_rtt_ms_median_reactive'], ' ms')}; later starters "
        f"{_fmt(s['later_first_rtt_ms_median_stitched'], ' ms')} vs "
        f"{_fmt(s['later_first_rtt_ms_median_reactive'], ' ms')} "
        f"(steady {_fmt(s['steady_rtt_ms_median'], ' ms')}; first packets lost "
        f"{s['first_packets_lost']})"
    )
    print(
        f"sending steps covered by the pair's reservation: {_fmt(s['steps_covered_percent'], ' %')}"
        f" ({_fmt(s['bytes_covered_percent'], ' %')} of bytes); delivered "
        f"{_fmt(s['delivered_percent'], ' %')}"
    )
    print(
        f"forecast MAE (the one in force mid-step) {_fmt(fc['mae_mbps'], ' Mbit/s')} "
        f"(last value {_fmt(fc.get('last_value_mae_mbps'), ' Mbit/s')}, "
        f"WAPE {_fmt(fc.get('wape_percent'), ' %')}, {fc['cells']} pair-steps, "
        f"{_fmt(fc.get('one_step_ahead_percent'), ' %')} made one step ahead)"
    )
    one = fc.get("one_step", {})
    print(
        f"one-step-ahead forecasts (each step's, from the steps before it): MAE "
        f"{_fmt(one.get('mae_mbps'), ' Mbit/s')} vs last value "
        f"{_fmt(one.get('last_value_mae_mbps'), ' Mbit/s')} (x {_fmt(one.get('ratio'))}, "
        f"{one.get('cells')} pair-steps)"
    )
    on_time = fc.get("timeliness", {})
    late = on_time.get("one_step_lateness_ms", {})
    print(
        f"forecasts on time (the step covered by a forecast held before it began): "
        f"{_fmt(on_time.get('on_time_percent'), ' %')} of {on_time.get('pair_steps_forecast')} "
        f"forecast pair-steps ({on_time.get('late_pair_steps')} late); "
        f"one-step forecasts reached the controller {_fmt(late.get('median'), ' ms')} after "
        f"their step began (p99 {_fmt(late.get('p99'), ' ms')}, max {_fmt(late.get('max'), ' ms')}"
        f", {late.get('steps_with_one_step_forecasts')} steps)"
    )
    print(
        f"reserved / sent: {_fmt(s.get('reserved_over_sent'))}; bytes inside a reservation: "
        f"{_fmt(s.get('bytes_inside_reservation_percent'), ' %')}"
    )
    floor = report.get("settings", {}).get("floor_mbps")
    print(
        f"packet-ins during the replay: {s['packet_in_during_replay']}; "
        f"predicted reservations made: {s['reservations_made']} (standing floor of every "
        f"forecast pair: {_fmt(None if floor is None else round(floor, 4), ' Mbit/s')})"
    )
    print(f"report: {out / 'report.json'}")
    for plot in report["plots"]:
        print(f"plot:   {plot}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m mininet_scenarios.demo``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", type=Path, help="traffic trace (.npz); default: generated")
    parser.add_argument("--topology", type=Path, help="network file (default: found or Zoo)")
    parser.add_argument("--out", type=Path, default=Path("out/demo"))
    parser.add_argument("--steps", type=int, default=90, help="replay steps (one per second)")
    parser.add_argument("--start", help="replay start HH:MM UTC (default: most pairs starting)")
    parser.add_argument("--train-days", type=float, default=10.0, help="as the backtest")
    parser.add_argument(
        "--quick-selection", action="store_true", help="validate each model kind's default only"
    )
    parser.add_argument("--peak-link-mbps", type=float, default=12.0)
    parser.add_argument("--min-rate-mbps", type=float, default=0.1)
    parser.add_argument(
        "--threshold-mbps", type=float, default=None, help="default: a tenth of --min-rate-mbps"
    )
    parser.add_argument(
        "--floor-mbps",
        type=float,
        default=None,
        help="standing reservation of every forecast pair (0: none; default: the smallest meter)",
    )
    parser.add_argument("--lead-in", type=float, default=15.0, help="seconds before step 0")
    args = parser.parse_args(argv)
    options = ReplayOptions(
        steps=args.steps,
        train_days=args.train_days,
        peak_link_mbps=args.peak_link_mbps,
        min_rate_mbps=args.min_rate_mbps,
        start=args.start,
    )
    settings = RunSettings(
        options,
        threshold_mbps=args.threshold_mbps,
        floor_mbps=args.floor_mbps,
        lead_in_s=args.lead_in,
        quick_selection=args.quick_selection,
    )
    report = run_replay(args.trace, settings, args.out, _say, args.topology)
    print_summary(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
